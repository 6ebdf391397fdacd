"""SVG snapshots of the four views at 120×40 with the FakeBackend's frozen clock.

Deterministic: fixed clock and scripts, no animations, refresh timer far away, toasts cleared, every
worker finished and every message handled before the screenshot. Regenerate deliberately with
`pytest tests/ui/test_snapshots.py --snapshot-update` (Textual is pinned; a bump may change them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from ivcrush_tui.app.app import IvCrushApp
from tests.ui.fake_backend import FakeBackend

SIZE = (120, 40)
SnapCompare = Callable[..., bool]


def _app(backend: FakeBackend | None = None) -> IvCrushApp:
    app = IvCrushApp(backend or FakeBackend(), refresh_s=3600)
    app.animation_level = "none"
    return app


async def _settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


def _then(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)

    return run


def test_watchlist_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_then())


def test_calendar_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_then("2"))


def test_health_view_during_an_outage(snap_compare: SnapCompare) -> None:
    assert snap_compare(
        _app(FakeBackend(outage_after=2)), terminal_size=SIZE, run_before=_then("3")
    )


def test_drilldown_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_then("enter"))
