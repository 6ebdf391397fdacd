"""The ledger end to end (issue 13): decisions from the demo's entry windows, settlement, void and
open reasons, one history request per symbol, corrupt rows, and two settling processes.

Real SQLite, the real engine and the in-process demo market (the same wire formats as live);
the two-process test runs the `ivcrush` CLI twice at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

import pytest

from ivcrush_tui.calendar import NY, default_calendar
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.domain import EarningsEvent, Timing
from ivcrush_tui.engine.clock import FixedClock, SteppedClock
from ivcrush_tui.engine.ledger_settle import settle_due
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.simulate import simulate
from ivcrush_tui.store.db import to_iso
from ivcrush_tui.store.repositories import (
    DecisionsRepo,
    EventsRepo,
    LedgerDecision,
)
from tests.ledger_support import sample_decision, storage_config

REPO = Path(__file__).resolve().parents[2]
CAL = default_calendar()
# Friday 2026-11-20, after the close: the week's decisions up to Wednesday's are due.
SIM_NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=NY).astimezone(dt.UTC)
SYMBOLS = ("AAPL", "MSFT", "NVDA", "JPM", "XOM")


def _config(tmp_path: Path) -> Path:
    return storage_config(tmp_path, db="ivcrush.sqlite3")


def _settings(tmp_path: Path) -> Settings:
    return load_settings(_config(tmp_path), {}, force_demo=True)


async def _simulated(settings: Settings, weeks: int = 1) -> None:
    clock = SteppedClock(SIM_NOW)
    async with open_runtime(settings, clock) as rt:
        await simulate(rt, clock, SIM_NOW, weeks)


async def _reopen_all(settings: Settings) -> int:
    """Test set-up: every decision back to open (as if never settled)."""
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt, rt.db.transaction() as tx:
        return await tx.execute(
            "UPDATE ledger_decisions SET status = 'open', reason = NULL, settled_at = NULL,"
            " realized_gap_pct = NULL, realized_close_pct = NULL, hit = NULL,"
            " pnl_per_contract = NULL, pnl_estimated = NULL"
        )


def _close_of(day: dt.date) -> dt.datetime:
    sess = CAL.session(day)
    assert sess is not None
    return sess.close


async def test_simulation_makes_one_decision_per_entry_and_settles_the_due_ones(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    await _simulated(settings)
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        decisions = await DecisionsRepo(rt.db).all()
        path_rows = await rt.db.fetchval("SELECT COUNT(*) FROM analysis_snapshots")
        dupes = await rt.db.fetchval(
            "SELECT COUNT(*) FROM (SELECT 1 FROM analysis_snapshots"
            " GROUP BY symbol, mode, minute HAVING COUNT(*) > 1)"
        )
    assert len(decisions) >= 10
    assert len({(d.symbol, d.entry_date) for d in decisions}) == len(decisions)
    assert dupes == 0
    assert path_rows <= 2 * len(decisions) + 50  # two looks per window, plus watchlist names
    settled = [d for d in decisions if d.status == "settled"]
    assert settled
    for d in decisions:
        assert d.mode == "demo"
        window = CAL.entry_window(d.entry_date)
        assert window is not None
        assert window[0] <= d.decided_at < window[1]
        # The latest look of the window is the decision (the second of the simulation's two).
        assert d.decided_at == window[0] + dt.timedelta(minutes=45)
        if d.status == "settled":
            assert _close_of(d.reaction_date) <= SIM_NOW
            assert d.realized_close_pct is not None
            assert d.realized_gap_pct is not None
            assert d.hit == (abs(d.realized_close_pct) < (d.implied_move_pct or 0))
            assert d.pnl_estimated is True
            assert d.pnl_per_contract is not None
        else:  # not closed yet, or closed today: the demo serves a day's bar the next day
            assert d.status == "open"
            assert _close_of(d.reaction_date) > SIM_NOW or "bar" in (d.reason or "")

    # Idempotent: the same week again adds no decision and settles nothing twice.
    await _simulated(settings)
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        again = await DecisionsRepo(rt.db).all()
    assert [(d.id, d.status, d.settled_at) for d in again] == [
        (d.id, d.status, d.settled_at) for d in decisions
    ]


async def test_every_simulated_snapshot_keeps_its_exact_analysis(tmp_path: Path) -> None:
    """`ledger simulate` records through the live hook (record_if_in_window): every snapshot
    of the path keeps the exact analysis (schema v11), and each decision's decodes to the
    analysis it was decided from (its time and figures are the decision's columns)."""
    from ivcrush_tui.analytics.implied_move import ImpliedMove
    from ivcrush_tui.engine.ledger import decision_analysis

    settings = _settings(tmp_path)
    await _simulated(settings)
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        row = await rt.db.fetchone(
            "SELECT COUNT(*), COUNT(full_analysis) FROM analysis_snapshots WHERE mode = 'demo'"
        )
        decisions = await DecisionsRepo(rt.db).all(mode="demo")
        analyses = [await decision_analysis(rt.db, d.snapshot_id) for d in decisions]
    assert row is not None
    assert row[0] > len(decisions) > 0  # the path holds more than the decisions
    assert row[1] == row[0]  # none without its analysis
    for d, a in zip(decisions, analyses, strict=True):
        assert a is not None
        assert (a.symbol, a.as_of, a.tier and a.tier.value) == (d.symbol, d.decided_at, d.tier)
        assert isinstance(a.implied, ImpliedMove)
        assert a.implied.implied_move_pct == d.implied_move_pct


async def test_as_of_before_the_reaction_close_never_settles(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await _simulated(settings)
    assert await _reopen_all(settings) > 0
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        decisions = await DecisionsRepo(rt.db).all()
        reaction = min(d.reaction_date for d in decisions)
        sess = CAL.session(reaction)
        assert sess is not None
        early = sess.close - dt.timedelta(minutes=1)  # the reaction session still trading
        report = await settle_due(rt, early)
        assert report.settled == 0
        after = await DecisionsRepo(rt.db).all()
    assert all(d.status == "open" for d in after)


def _decision(
    symbol: str, entry: dt.date, *, earnings: dt.date | None = None, strike: float = 100.0
) -> LedgerDecision:
    return sample_decision(
        symbol, entry, earnings_date=earnings or entry, spot=strike, atm_strike=strike
    )


async def _store_decisions(rt_db: object, decisions: list[LedgerDecision]) -> None:
    from ivcrush_tui.store.db import Database

    assert isinstance(rt_db, Database)
    await DecisionsRepo(rt_db).adopt([], [(d, 0) for d in decisions])
    events = [EarningsEvent(d.symbol, d.earnings_date, Timing.AMC) for d in decisions]
    await EventsRepo(rt_db).upsert(events, fetched_at=SIM_NOW)


async def test_a_hundred_due_decisions_cost_one_history_request_per_symbol(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    entries = CAL.sessions_between(dt.date(2026, 6, 1), dt.date(2026, 10, 30))[:20]
    wanted = [_decision(s, e) for s in SYMBOLS for e in entries]
    assert len(wanted) == 100
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        await _store_decisions(rt.db, wanted)
        calls = rt.tradier_guard.stats.calls
        report = await settle_due(rt, SIM_NOW)
        requests = rt.tradier_guard.stats.calls - calls
        settled = await DecisionsRepo(rt.db).all()
        # A second pass has nothing left to do and sends nothing.
        again = await settle_due(rt, SIM_NOW)
        assert rt.tradier_guard.stats.calls - calls == requests
    assert (report.due, report.settled, report.history_requests) == (100, 100, len(SYMBOLS))
    assert requests == len(SYMBOLS)
    assert again.due == 0
    assert all(d.status == "settled" and d.pnl_estimated for d in settled)
    d = settled[0]
    assert d.ref_close is not None
    assert d.realized_close_pct == pytest.approx(100 * ((d.reaction_close or 0) / d.ref_close - 1))


async def test_a_delisted_symbol_stays_open_and_a_moved_event_is_void(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    entry = dt.date(2026, 10, 14)
    gone = _decision("ZZZQ", entry)  # not listed in the demo: history null
    moved = _decision("AAPL", entry, earnings=entry)
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        await _store_decisions(rt.db, [gone])
        await DecisionsRepo(rt.db).adopt([], [(moved, 0)])
        # The stored events know AAPL's release on another day only.
        later = entry + dt.timedelta(days=7)
        await EventsRepo(rt.db).upsert([EarningsEvent("AAPL", later, Timing.AMC)], SIM_NOW)
        report = await settle_due(rt, SIM_NOW)
        by_symbol = {d.symbol: d for d in await DecisionsRepo(rt.db).all()}
    assert (report.settled, report.voided, report.still_open) == (0, 1, 1)
    assert by_symbol["ZZZQ"].status == "open"
    assert by_symbol["ZZZQ"].reason
    assert "delisted" in by_symbol["ZZZQ"].reason
    assert by_symbol["AAPL"].status == "void"
    assert by_symbol["AAPL"].reason == f"event moved from {entry} to {later}"


async def test_a_corrupt_payload_row_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path)
    entry = dt.date(2026, 10, 14)
    window = CAL.entry_window(entry)
    assert window is not None
    good = {
        "status": "ok",
        "entry_date": entry.isoformat(),
        "earnings_date": entry.isoformat(),
        "timing": "AMC",
        "reaction_date": CAL.next_session(entry).isoformat(),
        "expiration": None,
        "implied_move_pct": 5.0,
        "tier": "good",
        "recommendation": "SELL",
    }
    rows = [
        ("AAPL", window[0] + dt.timedelta(minutes=5), "{not json"),
        ("MSFT", window[0] + dt.timedelta(minutes=6), json.dumps(good)),
        ("NVDA", window[0] + dt.timedelta(minutes=7), "[1, 2]"),
    ]
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        await EventsRepo(rt.db).upsert([EarningsEvent("MSFT", entry, Timing.AMC)], SIM_NOW)
        async with rt.db.transaction() as tx:  # rows as a pre-v8 ledger left them
            for sym, at, payload in rows:
                await tx.execute(
                    "INSERT INTO analysis_snapshots (symbol, taken_at, payload_json, mode, minute,"
                    " adopted) VALUES (?, ?, ?, 'demo', ?, 0)",
                    (sym, to_iso(at), payload, to_iso(at)[:16]),
                )
        with caplog.at_level(logging.WARNING, logger="ivcrush_tui.engine.ledger_settle"):
            report = await settle_due(rt, SIM_NOW)
            second = await settle_due(rt, SIM_NOW)
        decisions = await DecisionsRepo(rt.db).all()
    assert (report.adopted, report.corrupt_payloads) == (1, 2)
    assert (second.adopted, second.corrupt_payloads) == (0, 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2 stored snapshots" in warnings[0].getMessage()
    assert [d.symbol for d in decisions] == ["MSFT"]
    # Adopted without entry legs: settled, but the P&L is n/a with the reason.
    assert decisions[0].status == "settled"
    assert decisions[0].pnl_per_contract is None
    assert decisions[0].reason
    assert "P&L n/a" in decisions[0].reason


LEDGER_KEYS = [
    "symbol", "entry_date", "earnings_date", "timing", "mode", "decided_at", "spot", "atm_strike",
    "implied_move_pct", "reaction_implied_move_pct", "vrp_ratio", "vrp_reaction_ratio", "tier",
    "tier_basis", "recommendation", "status", "reaction_date", "realized_gap_pct",
    "realized_close_pct", "hit", "pnl_per_contract", "pnl_estimated",
]  # fmt: skip


async def test_two_processes_settling_at_once_settle_each_decision_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await _simulated(settings, weeks=2)
    total = await _reopen_all(settings)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("IVCRUSH_CONFIG", None)
    args = [
        sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(_config(tmp_path)),
        "--as-of", SIM_NOW.isoformat(), "ledger", "--json",
    ]  # fmt: skip
    procs = [
        await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    settled_by: list[int] = []
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode()
        text = err.decode()
        settled_by.append(int(text.split("settled ")[1].split(",")[0]) if "settled " in text else 0)
        lines = [json.loads(x) for x in out.decode().splitlines()]
        assert len(lines) == total
        assert all(list(obj) == LEDGER_KEYS for obj in lines)
        assert [(o["entry_date"], o["symbol"]) for o in lines] == sorted(
            (o["entry_date"], o["symbol"]) for o in lines
        )
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        decisions = await DecisionsRepo(rt.db).all()
    n_settled = sum(1 for d in decisions if d.status == "settled")
    assert n_settled > 0
    assert sum(settled_by) == n_settled  # each settled by exactly one of the two


def test_ledger_summary_json_and_simulate_refused_in_live_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivcrush_tui.cli import main

    cfg = str(_config(tmp_path))
    base = ["--demo", "--config", cfg, "--as-of", SIM_NOW.isoformat()]
    assert main([*base, "ledger", "simulate", "--weeks", "1"]) == 0
    capsys.readouterr()
    assert main([*base, "ledger", "--summary", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert set(obj) == {"mode", "n_settled", "n_open", "n_void", "by_tier", "by_recommendation"}
    assert obj["mode"] == "demo"
    assert obj["n_settled"] > 0
    group = next(iter(obj["by_tier"].values()))
    assert set(group) == {
        "n", "hits", "hit_rate", "hit_rate_lo", "hit_rate_hi", "mean_pnl", "median_pnl",
        "calibration",
    }  # fmt: skip
    assert main([*base, "backtest", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    kinds = {r["kind"] for r in rows}
    assert {"symbol", "overall", "sweep"} <= kinds
    assert main([*base, "ledger", "simulate", "--weeks", "0"]) == 2
    assert main(["--config", cfg, "ledger", "--bogus"]) == 2


def test_decision_dataclass_round_trips_every_field() -> None:
    d = _decision("AAPL", dt.date(2026, 10, 14))
    assert dataclasses.replace(d).tiering_ratio == 1.5
    assert dataclasses.replace(d, vrp_reaction_ratio=None).tiering_ratio == 1.6


async def test_exit_quotes_are_captured_on_the_reaction_morning_over_loopback(
    tmp_path: Path,
) -> None:
    from ivcrush_tui.engine.ledger_exits import capture_exits
    from tests.integration.live_env import NOW, market, serving, settings_for, write_config

    m = market()
    sym = m.symbols[0]
    day = NOW.date()  # 2026-11-23, a session: the decision reacts this morning
    exp = next(e for e in m.expirations(sym) if e >= day)
    spot = m.spot(sym, NOW)
    strike = min(m.strikes(sym, exp), key=lambda k: abs(k - spot))
    entry = CAL.previous_session(day)
    decision = dataclasses.replace(
        _decision(sym, entry, strike=strike), mode="live", expiration=exp, reaction_date=day
    )
    with serving() as server:
        settings = settings_for(write_config(tmp_path, server))
        async with open_runtime(settings, FixedClock(NOW)) as rt:
            await DecisionsRepo(rt.db).adopt([], [(decision, 0)])
            early = dt.datetime(2026, 11, 23, 9, 34, tzinfo=NY)
            assert await capture_exits(rt, early) == 0  # before 09:35: nothing is asked
            calls = rt.tradier_guard.stats.calls
            assert await capture_exits(rt, early.replace(minute=40)) == 1
            assert rt.tradier_guard.stats.calls - calls == 1  # one batched quotes request
            # The first capture is kept; later ones in the window do not replace it.
            assert await capture_exits(rt, early.replace(minute=50)) == 0
            assert await capture_exits(rt, early.replace(hour=10, minute=0)) == 0
            (stored,) = await DecisionsRepo(rt.db).all()
    assert stored.exit_ask_sum is not None
    assert stored.exit_ask_sum > 0
    assert stored.exit_quoted_at == early.replace(minute=40).astimezone(dt.UTC)


async def test_a_captured_exit_is_the_real_exit_price(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    d = _decision("AAPL", dt.date(2026, 10, 14))
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        await _store_decisions(rt.db, [d])
        repo = DecisionsRepo(rt.db)
        (stored,) = await repo.all()
        assert stored.id is not None
        assert await repo.record_exit(stored.id, 3.1, SIM_NOW)
        report = await settle_due(rt, SIM_NOW)
        (done,) = await repo.all()
    assert report.settled == 1
    assert done.pnl_estimated is False
    assert done.exit_price == pytest.approx(3.1)
    assert done.pnl_per_contract == pytest.approx((4.0 - 3.1) * 100)


async def test_v8_folds_repeated_snapshots_to_one_per_minute_and_marks_them_for_adoption(
    tmp_path: Path,
) -> None:
    from ivcrush_tui.store.db import Database

    path = tmp_path / "v7.sqlite3"
    base = dt.datetime(2026, 11, 18, 20, 10, 5, tzinfo=dt.UTC)
    async with (
        await Database.open(path, clock=lambda: SIM_NOW, target_version=7) as db,
        db.transaction() as tx,
    ):
        # 240 identical rows of one minute (a frozen --as-of), and one row a minute later.
        for i in range(240):
            await tx.execute(
                "INSERT INTO analysis_snapshots (symbol, taken_at, payload_json, mode)"
                " VALUES ('AAPL', ?, ?, 'live')",
                (to_iso(base), json.dumps({"i": i})),
            )
        await tx.execute(
            "INSERT INTO analysis_snapshots (symbol, taken_at, payload_json, mode)"
            " VALUES ('AAPL', ?, '{}', 'live')",
            (to_iso(base + dt.timedelta(minutes=1)),),
        )
    async with await Database.open(path, clock=lambda: SIM_NOW) as db:
        rows = await db.fetchall(
            "SELECT payload_json, minute, adopted FROM analysis_snapshots ORDER BY taken_at"
        )
    assert rows == [
        (json.dumps({"i": 239}), "2026-11-18T20:10", 0),  # the latest of the minute
        ("{}", "2026-11-18T20:11", 0),
    ]


async def test_settlement_keeps_the_stored_bars_one_unbroken_series(tmp_path: Path) -> None:
    from ivcrush_tui.domain import Bar
    from ivcrush_tui.store.repositories import PricesRepo

    settings = _settings(tmp_path)
    entry = dt.date(2026, 10, 14)
    stored_until = dt.date(2026, 9, 30)
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        prices = PricesRepo(rt.db)
        await prices.upsert("AAPL", [Bar(stored_until, 100.0, 101.0, 99.0, 100.0, 1000)])
        await _store_decisions(rt.db, [_decision("AAPL", entry), _decision("MSFT", entry)])
        report = await settle_due(rt, SIM_NOW)
        aapl = await prices.bars("AAPL", stored_until, CAL.next_session(entry))
        msft_last = await prices.last_day("MSFT")
    assert report.settled == 2
    assert report.history_requests == 2
    # AAPL's bars continue from the last stored one (no gap for the engine to miss) ...
    days = [b.day for b in aapl]
    assert days == CAL.sessions_between(stored_until, CAL.next_session(entry))
    # ... and MSFT, which had none, keeps none: a lone window would hide its older history.
    assert msft_last is None


async def _count_settled(settings: Settings) -> int:
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        return sum(1 for d in await DecisionsRepo(rt.db).all() if d.status == "settled")


def test_a_scan_settles_what_is_due(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ivcrush_tui.cli import main

    settings = _settings(tmp_path)
    base = ["--demo", "--config", str(_config(tmp_path)), "--as-of", SIM_NOW.isoformat()]
    assert main([*base, "ledger", "simulate", "--weeks", "1"]) == 0
    assert asyncio.run(_reopen_all(settings)) > 0
    assert asyncio.run(_count_settled(settings)) == 0
    capsys.readouterr()
    assert main([*base, "scan", "AAPL", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1  # stdout holds the scan's JSON only
    assert json.loads(out[0])["ticker"] == "AAPL"
    assert asyncio.run(_count_settled(settings)) > 0


async def test_the_console_settles_on_start(tmp_path: Path) -> None:
    from ivcrush_tui.app.engine_backend import EngineBackend

    settings = _settings(tmp_path)
    await _simulated(settings)
    assert await _reopen_all(settings) > 0
    backend = EngineBackend(settings, FixedClock(SIM_NOW))
    await backend.start()
    try:
        t0 = asyncio.get_running_loop().time()
        while await _count_settled(settings) == 0:
            assert asyncio.get_running_loop().time() - t0 < 20, "not settled on start"
            await asyncio.sleep(0.1)
    finally:
        await backend.stop()


async def test_serve_settles_after_each_scan(tmp_path: Path) -> None:
    from ivcrush_tui.engine.service import Engine
    from ivcrush_tui.serve.app import ServeApp
    from ivcrush_tui.serve.loop import ServeLoop

    settings = _settings(tmp_path)
    await _simulated(settings)
    assert await _reopen_all(settings) > 0
    async with open_runtime(settings, FixedClock(SIM_NOW)) as rt:
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            await ServeLoop(rt, engine, app.metrics).scan_once()
        finally:
            await engine.aclose()
    assert await _count_settled(settings) > 0
