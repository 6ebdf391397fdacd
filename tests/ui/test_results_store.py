"""The Results screen on the real backend and a real SQLite store: a week of the demo world played
by `simulate` (the same engine, ledger and settlement as live), read by `EngineBackend.results()`
on the engine thread. The summary equals `ledger --summary`'s; a damaged decision row is skipped
with one warning, a damaged snapshot payload reads as None; the screen lists every decision."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivcrush_tui.analytics.outcomes import summarize
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.app.screens.results import ResultsScreen
from ivcrush_tui.app.widgets.lazy_table import LazyTable
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.commands.evidence import outcomes_of_rows
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.engine.clock import FixedClock, SteppedClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.simulate import simulate
from ivcrush_tui.store.repositories import DecisionsRepo
from tests.ui.snapshot_steps import settle

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=NY).astimezone(dt.UTC)


def _settings(tmp_path: Path) -> Settings:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[storage]\npath = "{tmp_path / "ivcrush.sqlite3"}"\nlog_dir = "{tmp_path / "log"}"\n',
        encoding="utf-8",
    )
    return load_settings(cfg, {}, force_demo=True)


@pytest.fixture
async def simulated(tmp_path: Path) -> Settings:
    settings = _settings(tmp_path)
    clock = SteppedClock(NOW)
    async with open_runtime(settings, clock) as rt:
        await simulate(rt, clock, NOW, 1)
    return settings


@pytest.fixture
async def backend(simulated: Settings) -> AsyncIterator[EngineBackend]:
    b = EngineBackend(simulated, FixedClock(NOW))
    await b.start()
    yield b
    await b.stop()


async def _expected(settings: Settings) -> tuple[list[int], object]:
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        repo = DecisionsRepo(rt.db)
        ids = [d.id for d in await repo.all(mode="demo") if d.id is not None]
        outcomes = outcomes_of_rows(await repo.outcome_rows(mode="demo"))
    return ids, summarize(outcomes)


async def test_results_are_the_ledgers_decisions_and_its_summary(
    simulated: Settings, backend: EngineBackend
) -> None:
    ids, summary = await _expected(simulated)
    data = await backend.results()
    assert ids, "the simulated week made decisions"
    assert data.mode == "demo"
    assert [r.id for r in data.rows] == ids  # oldest first, like `ledger --json`
    assert data.summary == summary  # the `ledger --summary` numbers, not a re-implementation
    assert data.summary.n_settled > 0
    assert data.skipped == 0
    row = next(r for r in data.rows if r.snapshot_id is not None)
    assert row.snapshot_id is not None
    payload = await backend.decision_snapshot(row.snapshot_id)
    assert payload is not None
    assert payload["ticker"] == row.symbol
    assert payload["entry_date"] == row.entry_date.isoformat()


async def test_a_damaged_row_is_skipped_with_one_warning_and_a_damaged_payload_reads_none(
    simulated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_runtime(simulated, FixedClock(NOW)) as rt:
        decisions = await DecisionsRepo(rt.db).all(mode="demo")
        first, second = decisions[0], decisions[1]
        async with rt.db.transaction() as tx:
            await tx.execute(
                "UPDATE ledger_decisions SET entry_date = 'not a day' WHERE id = ?", (first.id,)
            )
            await tx.execute(
                "UPDATE analysis_snapshots SET payload_json = '{broken' WHERE id = ?",
                (second.snapshot_id,),
            )
    b = EngineBackend(simulated, FixedClock(NOW))
    await b.start()
    try:
        with caplog.at_level(logging.WARNING):
            data = await b.results()
        assert data.skipped == 1
        assert first.id not in {r.id for r in data.rows}
        assert len(data.rows) == len(decisions) - 1
        warnings = [r for r in caplog.records if "unreadable values skipped" in r.getMessage()]
        assert len(warnings) == 1
        assert second.snapshot_id is not None
        assert await b.decision_snapshot(second.snapshot_id) is None
    finally:
        await b.stop()


async def test_the_screen_lists_every_decision_of_the_store(simulated: Settings) -> None:
    ids, summary = await _expected(simulated)
    backend = EngineBackend(simulated, FixedClock(NOW))  # the app starts and stops it
    app = IvCrushApp(backend, refresh_s=3600)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ResultsScreen)
        assert screen.query_one(LazyTable).row_count == len(ids)
        assert screen.data is not None
        assert screen.data.summary == summary


async def test_results_are_kept_until_the_ledger_changes(
    simulated: Settings, backend: EngineBackend
) -> None:
    first = await backend.results()
    again = await backend.results()
    assert again is first  # prepared once (after the start-up settlement), then kept
    assert backend.results_builds == 1
    # Another process settles (here: voids) a decision: the next read sees it.
    target = next(r for r in first.rows if r.status != "void")
    async with open_runtime(simulated, FixedClock(NOW)) as rt, rt.db.transaction() as tx:
        await tx.execute(
            "UPDATE ledger_decisions SET status = 'void', reason = 'test' WHERE id = ?",
            (target.id,),
        )
    changed = await backend.results()
    assert changed is not first
    assert backend.results_builds == 2
    assert next(r for r in changed.rows if r.id == target.id).status == "void"
    assert changed.summary.n_void == first.summary.n_void + 1


async def test_a_replay_shows_the_stores_ledger_and_reads_snapshots_from_it(
    simulated: Settings,
) -> None:
    """`ivcrush replay` on the same store: the Results screen gets the same decisions and
    summary, and a decision's snapshot is read from the store when opened."""
    from ivcrush_tui.app.replay_backend import ReplayBackend, ReplayClock
    from ivcrush_tui.commands.replay import _load, _snapshot_reader
    from ivcrush_tui.engine.recorder import Recorder
    from ivcrush_tui.store.db import Database
    from tests.ui.fake_backend import SCRIPTS, build_analysis

    at = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(dt.UTC)
    async with await Database.open(
        simulated.database_path, clock=lambda: at, mode=simulated.mode
    ) as db:
        rec = Recorder(db, now=lambda: at, inside=lambda _at: True)
        rec.on_analysis(build_analysis(SCRIPTS["AAPL"], at, TradingCalendar()))
        await rec.close()
    clock = FixedClock(at)
    recording, _prefs, ledger = await _load(simulated, at.astimezone(NY).date(), clock)
    ids, summary = await _expected(simulated)
    assert [r.id for r in ledger.rows] == ids
    assert ledger.summary == summary
    backend = ReplayBackend(
        recording,
        demo=True,
        clock=ReplayClock(recording.start, recording.end),
        ledger=ledger,
        snapshots=_snapshot_reader(simulated, clock),
    )
    assert await backend.results() is ledger
    row = next(r for r in ledger.rows if r.snapshot_id is not None)
    assert row.snapshot_id is not None
    payload = await backend.decision_snapshot(row.snapshot_id)
    assert payload is not None
    assert payload["ticker"] == row.symbol
    assert await backend.decision_snapshot(10**9) is None  # no such snapshot
    # With no ledger given: an empty one, never an error.
    bare = ReplayBackend(recording, demo=True, clock=ReplayClock(recording.start, recording.end))
    assert (await bare.results()).empty
    assert await bare.decision_snapshot(row.snapshot_id) is None
