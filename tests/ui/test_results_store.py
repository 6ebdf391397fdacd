"""The Results screen on the real backend and a real SQLite store: a week of the demo world played
by `simulate` (the same engine, ledger and settlement as live), read by `EngineBackend.results()`
on the engine thread. The summary equals `ledger --summary`'s; a damaged decision row is skipped
with one warning, a damaged snapshot payload reads as None; the screen lists every decision.
Enter on a decision opens the drill-down frozen on the exact analysis kept with it (schema v11);
a damaged one reads None with a warning, and rows of a v10 store fall back to the snapshot view."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ivcrush_tui.analytics.outcomes import summarize
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.app.formatting import fmt_num, fmt_pct
from ivcrush_tui.app.screens.results import ResultsScreen
from ivcrush_tui.app.screens.snapshot import SnapshotScreen
from ivcrush_tui.app.screens.ticker import TickerScreen
from ivcrush_tui.app.widgets.lazy_table import LazyTable
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.commands.evidence import outcomes_of_rows
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.engine.clock import FixedClock, SteppedClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.schema import analysis_to_json
from ivcrush_tui.engine.simulate import simulate
from ivcrush_tui.store.repositories import DecisionsRepo
from tests.ui.screen_text import ticker_panels
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


def _console(settings: Settings) -> tuple[IvCrushApp, EngineBackend]:
    """The console over the real backend on `settings`' store (the app starts and stops it)."""
    backend = EngineBackend(settings, FixedClock(NOW))
    app = IvCrushApp(backend, refresh_s=3600)
    app.animation_level = "none"
    return app, backend


async def _open_results(pilot: Pilot[None]) -> ResultsScreen:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ResultsScreen)
    return screen


async def test_the_screen_lists_every_decision_of_the_store(simulated: Settings) -> None:
    ids, summary = await _expected(simulated)
    app, _backend = _console(simulated)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_results(pilot)
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
    from ivcrush_tui.commands.replay import _load, _store_reader
    from ivcrush_tui.engine.ledger import decision_analysis, decision_snapshot
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
        snapshots=_store_reader(simulated, clock, decision_snapshot),
        analyses=_store_reader(simulated, clock, decision_analysis),
    )
    assert await backend.results() is ledger
    row = next(r for r in ledger.rows if r.snapshot_id is not None)
    assert row.snapshot_id is not None
    payload = await backend.decision_snapshot(row.snapshot_id)
    assert payload is not None
    assert payload["ticker"] == row.symbol
    assert await backend.decision_snapshot(10**9) is None  # no such snapshot
    exact = await backend.decision_analysis(row.snapshot_id)  # the exact analysis (v11)
    assert exact is not None
    assert exact.symbol == row.symbol
    assert json.loads(json.dumps(analysis_to_json(exact), allow_nan=False)) == payload
    assert await backend.decision_analysis(10**9) is None
    # With no ledger given: an empty one, never an error.
    bare = ReplayBackend(recording, demo=True, clock=ReplayClock(recording.start, recording.end))
    assert (await bare.results()).empty
    assert await bare.decision_snapshot(row.snapshot_id) is None
    assert await bare.decision_analysis(row.snapshot_id) is None


# -- Enter on a decision: the drill-down frozen on its exact analysis (schema v11) -------------


async def test_enter_opens_the_drilldown_frozen_on_the_analysis_at_decision_time(
    simulated: Settings,
) -> None:
    async with open_runtime(simulated, FixedClock(NOW)) as rt:
        decisions = {d.id: d for d in await DecisionsRepo(rt.db).all(mode="demo")}
    app, backend = _console(simulated)
    async with app.run_test(size=(120, 40)) as pilot:
        results = await _open_results(pilot)
        row = results.highlighted()
        assert row is not None
        assert row.snapshot_id is not None
        d = decisions[row.id]
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        assert screen.decision is not None
        a = screen.analysis
        assert a is not None
        # The analysis the decision was made from: its time and figures are the decision's
        # columns (written from it in the same transaction), and its --json object is the
        # payload stored beside it.
        assert (a.symbol, a.as_of) == (d.symbol, d.decided_at)
        payload = await backend.decision_snapshot(row.snapshot_id)
        assert json.loads(json.dumps(analysis_to_json(a), allow_nan=False)) == payload
        panels = ticker_panels(screen)
        assert d.implied_move_pct is not None
        assert d.tier is not None
        assert d.recommendation is not None
        assert f"Implied move ±{fmt_pct(d.implied_move_pct)}" in panels["straddle"]
        assert f"{fmt_num(d.tiering_ratio)} ({d.tier})" in panels["stats"]
        assert d.recommendation in panels["recommendation"]
        at = d.decided_at.astimezone(NY)
        assert (
            f"DECISION of {d.entry_date:%a %Y-%m-%d} · as of {at:%H:%M:%S} ET · READ-ONLY"
            in panels["decision-banner"]
        )
        assert f"as of {at:%H:%M} ET" in panels["title"]

        # A streamed re-price of the symbol (what the live stream hands the app) and a real
        # rescan by the engine (`r`): the app takes both, the frozen drill-down neither.
        assert a.spot is not None
        app.apply_result(dataclasses.replace(a, as_of=NOW, spot=a.spot * 1.1))
        scans = app.scan_count
        await pilot.press("r")
        await settle(pilot)
        await pilot.pause(0.4)  # past the live redraw throttle
        assert app.scan_count == scans + 1
        assert app.results[d.symbol] is not a
        assert screen.fetches == 0
        assert screen.analysis is a
        assert ticker_panels(screen) == panels

        await pilot.press("escape")
        await settle(pilot)
        back = results.highlighted()
        assert app.screen is results
        assert back is not None
        assert back.id == row.id  # the cursor kept


async def test_a_damaged_full_analysis_reads_none_with_one_warning_each(
    simulated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from ivcrush_tui.engine.analysis_pack import pack

    damages: list[object] = [
        b"",  # empty
        b"\x00not zlib at all",  # a standalone mark on garbage
        pack(b'{"symbol": "AAPL"}', None),  # packs fine, but no Analysis (fields missing)
        pack(b"[1, 2", None),  # not JSON
        "text where bytes belong",
        42,
    ]
    async with open_runtime(simulated, FixedClock(NOW)) as rt:
        decision = (await DecisionsRepo(rt.db).all(mode="demo"))[0]
    snap = decision.snapshot_id
    assert snap is not None
    b = EngineBackend(simulated, FixedClock(NOW))
    await b.start()
    try:
        assert await b.decision_analysis(snap) is not None  # sound before the damage
        for damage in damages:
            async with open_runtime(simulated, FixedClock(NOW)) as rt, rt.db.transaction() as tx:
                await tx.execute(
                    "UPDATE analysis_snapshots SET full_analysis = ? WHERE id = ?", (damage, snap)
                )
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                assert await b.decision_analysis(snap) is None
            warned = [r for r in caplog.records if "unreadable full analysis" in r.getMessage()]
            assert len(warned) == 1, damage
            # The snapshot view still has the stored object to show.
            payload = await b.decision_snapshot(snap)
            assert payload is not None
            assert payload["ticker"] == decision.symbol
        assert await b.decision_analysis(10**9) is None  # no such snapshot: None, no warning
    finally:
        await b.stop()


async def test_a_v10_store_upgraded_reads_no_full_analysis_and_enter_shows_the_snapshot(
    tmp_path: Path,
) -> None:
    """Rows stored before schema v11 have no exact analysis: Enter opens the snapshot view of
    their stored object, as before."""
    from ivcrush_tui.engine.ledger import decision_of
    from ivcrush_tui.store.db import Database, to_iso
    from ivcrush_tui.store.repositories.decisions import upsert_decision
    from tests.ui.fake_backend import SCRIPTS, build_analysis

    settings = _settings(tmp_path)
    at = dt.datetime(2026, 11, 19, 15, 58, tzinfo=NY).astimezone(dt.UTC)
    a = build_analysis(SCRIPTS["AAPL"], at, TradingCalendar())
    decision = decision_of(a, demo=True)
    assert decision is not None
    async with await Database.open(
        settings.database_path, clock=lambda: at, target_version=10, mode=settings.mode
    ) as db:
        assert await db.schema_version() == 10
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO analysis_snapshots (symbol, taken_at, payload_json, mode, minute)"
                " VALUES ('AAPL', ?, ?, 'demo', ?)",
                (to_iso(at), json.dumps(analysis_to_json(a)), to_iso(at)[:16]),
            )
            snap = await tx.fetchone("SELECT id FROM analysis_snapshots")
            assert snap is not None
            await upsert_decision(tx, decision, int(snap[0]))
    app, backend = _console(settings)  # its start opens, and so upgrades, the store
    async with app.run_test(size=(120, 40)) as pilot:
        results = await _open_results(pilot)
        assert await backend.engine_thread.run(backend.runtime.db.schema_version()) == 11
        assert await backend.decision_analysis(int(snap[0])) is None
        row = results.highlighted()
        assert row is not None
        assert row.snapshot_id == int(snap[0])
        await pilot.press("enter")
        await settle(pilot)
        shown = app.screen
        assert isinstance(shown, SnapshotScreen)
        assert shown.payload is not None
        assert shown.payload["ticker"] == "AAPL"
