"""SVG snapshots of the views at 120×40 (Results also at 80×24) with the FakeBackend's frozen
clock.

Deterministic: fixed clock and scripts, no animations, refresh timer far away, toasts cleared, every
worker finished and every message handled before the screenshot. Regenerate deliberately with
`pytest tests/ui/test_snapshots.py --snapshot-update` (Textual is pinned; a bump may change them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from ivcrush_tui.app.app import IvCrushApp
from tests.ui.fake_backend import FakeBackend
from tests.ui.fake_ledger import FakeLedger
from tests.ui.snapshot_steps import settle, then

SIZE = (120, 40)
SnapCompare = Callable[..., bool]


def _app(backend: FakeBackend | None = None) -> IvCrushApp:
    app = IvCrushApp(backend or FakeBackend(), refresh_s=3600)
    app.animation_level = "none"
    return app


def test_watchlist_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=then())


def test_calendar_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=then("2"))


def test_health_view_during_an_outage(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(FakeBackend(outage_after=2)), terminal_size=SIZE, run_before=then("3"))


def test_drilldown_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=then("enter"))


def _refresh_fails_for_two(fb: FakeBackend) -> Callable[[Pilot[None]], Awaitable[None]]:
    """After a good first scan, 90 s later a rescan in which NVDA and TSLA fail (issue 14)."""

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        fb.failures = {
            "NVDA": ("circuit_open", "tradier circuit breaker open (5 consecutive failures)"),
            "TSLA": ("timeout", "chain request timed out"),
        }
        fb.advance(90)
        app = pilot.app
        assert isinstance(app, IvCrushApp)
        assert app.start_scan()
        await settle(pilot)

    return run


def test_watchlist_rows_kept_through_an_outage(snap_compare: SnapCompare) -> None:
    fb = FakeBackend()
    keep = _refresh_fails_for_two(fb)

    async def run(pilot: Pilot[None]) -> None:
        await keep(pilot)
        await pilot.press("down")  # the detail line of the second row (NVDA: highest VRP first)
        await settle(pilot)

    assert snap_compare(_app(fb), terminal_size=SIZE, run_before=run)


def test_drilldown_of_a_row_kept_through_an_outage(snap_compare: SnapCompare) -> None:
    fb = FakeBackend()
    keep = _refresh_fails_for_two(fb)

    async def run(pilot: Pilot[None]) -> None:
        await keep(pilot)
        app = pilot.app
        assert isinstance(app, IvCrushApp)
        app.open_ticker("NVDA")
        await settle(pilot)

    assert snap_compare(_app(fb), terminal_size=SIZE, run_before=run)


def test_results_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=then("4"))


def test_results_view_at_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=then("4"))


def test_decision_snapshot_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=then("4", "down", "enter"))


def test_decision_drilldown_frozen_view(snap_compare: SnapCompare) -> None:
    """Enter on a decision whose exact analysis was kept (schema v11): the real drill-down, frozen
    on it, with the read-only decision banner."""
    ledger = FakeLedger()
    ledger.keep_analysis("NVDA")
    fb = FakeBackend(ledger=ledger)
    assert snap_compare(_app(fb), terminal_size=SIZE, run_before=then("4", "down", "enter"))
