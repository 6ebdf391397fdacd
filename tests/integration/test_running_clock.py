"""`--as-of T`: the console (and serve) start the clock at T and let it run; one-shot commands
keep T fixed, so their output is reproducible (docs/DEPLOYMENT.md, "The clock and --as-of")."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.cli import main
from ivcrush_tui.config import Settings, default_settings
from ivcrush_tui.engine.clock import Clock, FixedClock, RunningClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.store.repositories import LedgerRepo
from tests.ledger_support import storage_config

AS_OF = "2026-11-23T15:30-05:00"  # inside the entry window of a demo day with names
START = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(UTC)


class Ticks:
    """A monotonic clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("HOME", str(tmp_path))
    storage_config(tmp_path, name="demo.toml")
    return tmp_path


def test_the_console_gets_a_running_clock_from_as_of(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Clock] = []

    def console(settings: Settings, clock: Clock) -> int:  # stands in for the Textual app
        seen.append(clock)
        return 0

    monkeypatch.setattr("ivcrush_tui.commands.console.run_console", console)
    assert main(["--demo", "--config", str(home / "demo.toml"), "--as-of", AS_OF]) == 0
    (clock,) = seen
    assert isinstance(clock, RunningClock)
    assert clock.start == START
    assert START <= clock.now() < START + dt.timedelta(minutes=5)


def test_one_shot_commands_keep_as_of_fixed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--demo", "--config", str(home / "demo.toml"), "analyze", "AAPL", "--json"]
    stamps = []
    for _ in range(2):
        assert main([*args, "--as-of", AS_OF]) == 0
        stamps.append(json.loads(capsys.readouterr().out)["as_of"])
    assert stamps == [START.isoformat()] * 2


async def test_analyses_a_minute_apart_are_two_ledger_rows(tmp_path: Path) -> None:
    """With the clock running, a console refresh a minute later is a new decision at a new
    instant (a frozen clock stored the same instant again and again)."""
    ticks = Ticks()
    settings = default_settings(tmp_path / "db.sqlite3", demo=True)
    clock = RunningClock(START, monotonic=ticks)
    async with open_runtime(settings, clock) as rt:
        engine = Engine(rt)
        try:
            first = await engine.analyze("AAPL", clock.now())
            ticks.t += 60.0
            second = await engine.analyze("AAPL", clock.now())
        finally:
            await engine.aclose()
        rows = await LedgerRepo(rt.db).list("AAPL")
    assert first.ok
    assert second.ok
    assert sorted(r.taken_at for r in rows) == [START, START + dt.timedelta(seconds=60)]


async def test_a_fixed_clock_stays_put(tmp_path: Path) -> None:
    """FixedClock is still the tests' and one-shot commands' clock: it never moves."""
    clock = FixedClock(START)
    assert clock.now() == clock.now() == START
