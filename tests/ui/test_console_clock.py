"""The console with `--as-of`: its clock runs on from T (issue 15). The status bar's countdown
moves, and two analyses a minute apart are two ledger decisions, not one frozen instant twice."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from ivcrush_tui.app.backend import StatusSnapshot
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.app.widgets.status_bar import status_line
from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.config import load_settings
from ivcrush_tui.engine.clock import RunningClock
from ivcrush_tui.store.repositories import LedgerRepo

BEFORE = dt.datetime(2026, 11, 23, 14, 30, tzinfo=NY).astimezone(UTC)  # 30 min to the window
INSIDE = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(UTC)
VARS = {"gain": "#00ff00", "loss": "#ff0000", "warning": "#ffff00", "accent": "#0000ff"}


class Ticks:
    """A monotonic clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.t = 10.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG", "IVCRUSH_THEMES_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    return tmp_path


def test_the_status_bar_countdown_moves(isolated: Path) -> None:
    ticks = Ticks()
    backend = EngineBackend(load_settings(None, os.environ), RunningClock(BEFORE, monotonic=ticks))
    snap = StatusSnapshot(True, (), None, None, None, None)

    def line() -> str:
        return status_line(backend.now(), backend.calendar, snap, None, VARS, 200).plain

    assert "14:30:00 ET" in line()
    assert "entry in 30m" in line()
    ticks.t += 10 * 60
    assert "14:40:00 ET" in line()
    assert "entry in 20m" in line()
    ticks.t += 25 * 60
    assert "ENTRY WINDOW 55m left" in line()


async def test_two_analyses_a_minute_apart_are_two_ledger_rows(isolated: Path) -> None:
    ticks = Ticks()
    backend = EngineBackend(load_settings(None, os.environ), RunningClock(INSIDE, monotonic=ticks))
    await backend.start()
    try:
        first = await backend.analyze("AAPL")
        ticks.t += 60
        second = await backend.analyze("AAPL")
        rows = await backend.engine_thread.run(LedgerRepo(backend.runtime.db).list("AAPL"))
    finally:
        await backend.stop()
    assert first.ok
    assert second.ok
    assert (first.as_of, second.as_of) == (INSIDE, INSIDE + dt.timedelta(seconds=60))
    assert sorted(r.taken_at for r in rows) == [first.as_of, second.as_of]
