"""SVG snapshots of the four views at 120×40 on the demo market with a frozen clock.

The console as a new user starts it (`IvCrushApp` with its real backend: the engine on its own
thread, the SQLite store, the in-process demo market speaking the providers' wire formats), with
"now" fixed at Monday 2026-11-23 14:30 ET and its data in a temporary folder. Each screenshot is
taken once the first scan (and, for the drill-down, its own analysis) has finished and every
message is handled, so the numbers are the demo market's for that instant and nothing else.

The health view shows what was measured, which no frozen clock can fix: latencies and their
sparkline, the Tradier window's budget and reset countdown and the cache's counts (both follow how
many quote batches the run's timing made), seconds since the last call, the data folder. Its
snapshot is taken with those read-outs set to fixed values (`_frozen_observations`); the rest
(components, statuses, breakers, the Alpha Vantage quota, the layout) is the run's own.
`test_snapshots.py` has the outage case on the FakeBackend.

Regenerate deliberately with `pytest tests/ui/test_demo_snapshots.py --snapshot-update`, and look
at every changed SVG before committing it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.config import load_settings
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.health_model import ComponentHealth, HealthReport, OperationStats
from tests.ui.snapshot_steps import then

SIZE = (120, 40)
NOW = dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)  # Monday 14:30 ET
SnapCompare = Callable[..., bool]


class _FrozenHealthBackend(EngineBackend):
    """The demo backend, whose health report keeps everything but what was measured."""

    async def health(self, *, probe: bool = False) -> HealthReport:
        report = await super().health(probe=probe)
        data = str(self.settings.database_path)
        return dataclasses.replace(
            report, components=tuple(_frozen_observations(c, data) for c in report.components)
        )


def _frozen_observations(c: ComponentHealth, data_path: str) -> ComponentHealth:
    detail = re.sub(r"\d+ s ago", "2 s ago", c.detail.replace(data_path, "~/ivcrush.sqlite3"))
    if c.name == "cache":
        detail = "hit rate 50% (L1 1, L2 1, miss 2)"
    tradier = c.name == "tradier"
    return dataclasses.replace(
        c,
        detail=detail,
        latency_ms=None if c.latency_ms is None else 1.0,
        # As many samples as requests were made, which the run's timing decides: a fixed series.
        recent_latencies_ms=tuple(1.0 + i % 3 for i in range(60)) if c.recent_latencies_ms else (),
        budget_left=5900 if tradier and c.budget_left is not None else c.budget_left,
        budget_resets_in_s=None if c.budget_resets_in_s is None else 30.0,
        operations=tuple(OperationStats(o.name, 1, 1.0, 1.0, 1.0) for o in c.operations),
    )


@pytest.fixture
def demo_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], IvCrushApp]:
    """No API keys, no user config or themes: the demo market, its store in `tmp_path`."""
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG", "IVCRUSH_THEMES_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))

    def make() -> IvCrushApp:
        import os

        settings = load_settings(None, os.environ)
        assert settings.demo
        # No market stream: its ticks and timing would make the pictures vary (the POLL badge
        # and the stream line of Health show it off).
        settings = dataclasses.replace(
            settings, tradier=dataclasses.replace(settings.tradier, streaming=False)
        )
        app = IvCrushApp(_FrozenHealthBackend(settings, FixedClock(NOW)), refresh_s=3600)
        app.animation_level = "none"
        return app

    return make


def test_demo_watchlist_view(snap_compare: SnapCompare, demo_app: Callable[[], IvCrushApp]) -> None:
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=then())


def test_demo_calendar_view(snap_compare: SnapCompare, demo_app: Callable[[], IvCrushApp]) -> None:
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=then("2"))


def test_demo_health_view(snap_compare: SnapCompare, demo_app: Callable[[], IvCrushApp]) -> None:
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=then("3"))


def test_demo_drilldown_view(snap_compare: SnapCompare, demo_app: Callable[[], IvCrushApp]) -> None:
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=then("enter"))
