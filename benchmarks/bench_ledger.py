"""Ledger benchmarks (issue 13 targets, recorded in docs/PERFORMANCE.md).

1. `ivcrush --demo ledger --summary --json` on a store with 10,000 decisions (a fresh process,
   settling included: nothing is due): target < 0.5 s.
2. Settling 100 due decisions over 5 symbols: history requests counted (target <= 1 per symbol).
3. `ivcrush --demo ledger simulate --weeks 12` on a fresh demo store: target < 30 s.
4. What keeping the exact analysis with each snapshot (schema v11) costs a ledger write: the
   demo's real analyses (a simulated week, read back), their sizes (codec text, packed, the
   --json payload), and the median time of one snapshot + decision write with and without it
   (interleaved batches, each write its own minute, as in an entry window).

Run: `.venv/bin/python benchmarks/bench_ledger.py` (a temporary folder; nothing else touched).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _bytecode import compile_package  # noqa: E402 - beside this script

from ivcrush_tui.analytics.analysis import Analysis  # noqa: E402
from ivcrush_tui.calendar import NY, default_calendar  # noqa: E402
from ivcrush_tui.config import load_settings  # noqa: E402
from ivcrush_tui.domain import EarningsEvent, Timing  # noqa: E402
from ivcrush_tui.engine.clock import FixedClock, SteppedClock  # noqa: E402
from ivcrush_tui.engine.ledger_settle import settle_due  # noqa: E402
from ivcrush_tui.engine.runtime import open_runtime  # noqa: E402
from ivcrush_tui.store.repositories import DecisionsRepo, EventsRepo, LedgerDecision  # noqa: E402
from tests.ledger_support import sample_decision, storage_config  # noqa: E402

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=NY).astimezone(dt.UTC)
CAL = default_calendar()


def _config(folder: Path) -> Path:
    return storage_config(folder, db="ivcrush.sqlite3")


def _decision(symbol: str, entry: dt.date, i: int) -> LedgerDecision:
    """A decision of a realistic mix (tiers, recommendations, ratios vary with i)."""
    return sample_decision(
        symbol,
        entry,
        implied_move_pct=4.0 + i % 5,
        vrp_ratio=1.0 + (i % 16) / 10,
        vrp_reaction_ratio=1.0 + (i % 15) / 10,
        tier=("excellent", "good", "marginal", "skip")[i % 4],
        recommendation=("SELL", "SELL", "WATCH", "SKIP")[i % 4],
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("IVCRUSH_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


async def _fill(folder: Path, n: int) -> None:
    """n settled decisions (a realistic mix), written straight to the store."""
    settings = load_settings(_config(folder), {}, force_demo=True)
    sessions = CAL.sessions_between(dt.date(2018, 1, 1), dt.date(2026, 10, 30))
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        rows = [
            (_decision(f"S{i % 400:03d}", sessions[i // 400 * 3 % len(sessions)], i), 0)
            for i in range(n)
        ]
        rows = list({(d.symbol, d.entry_date): (d, s) for d, s in rows}.values())
        await DecisionsRepo(rt.db).adopt([], rows)
        async with rt.db.transaction() as tx:
            await tx.execute(
                "UPDATE ledger_decisions SET status = 'settled', realized_close_pct ="
                " (id % 9) - 4.0, realized_gap_pct = (id % 7) - 3.0, hit = (id % 3 > 0),"
                " pnl_per_contract = (id % 11) * 40.0 - 150.0, pnl_estimated = 1,"
                " settled_at = ?",
                (NOW.isoformat(),),
            )


def bench_summary() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        asyncio.run(_fill(folder, 10_000))
        args = [sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(_config(folder))]
        args += ["--as-of", NOW.isoformat(), "ledger", "--summary", "--json"]
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True, env=_env())
            times.append(time.perf_counter() - t0)
        return statistics.median(times)


async def _settle_100(folder: Path) -> tuple[int, int, int]:
    settings = load_settings(_config(folder), {}, force_demo=True)
    entries = CAL.sessions_between(dt.date(2026, 6, 1), dt.date(2026, 10, 30))[:20]
    symbols = ("AAPL", "MSFT", "NVDA", "JPM", "XOM")
    rows = [
        (_decision(s, e, i), 0) for i, (s, e) in enumerate((s, e) for s in symbols for e in entries)
    ]
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        await DecisionsRepo(rt.db).adopt([], rows)
        await EventsRepo(rt.db).upsert(
            [EarningsEvent(d.symbol, d.earnings_date, Timing.AMC) for d, _ in rows], NOW
        )
        before = rt.tradier_guard.stats.calls
        report = await settle_due(rt, NOW)
        return report.settled, rt.tradier_guard.stats.calls - before, len(symbols)


def bench_simulate() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args = [sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(_config(folder))]
        args += ["--as-of", NOW.isoformat(), "ledger", "simulate", "--weeks", "12"]
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=_env())
        return time.perf_counter() - t0


async def _demo_analyses(folder: Path) -> list[Analysis]:
    """The exact analyses of a simulated demo week (every snapshot of the path)."""
    from ivcrush_tui.engine.ledger import unpack_full_analysis
    from ivcrush_tui.engine.simulate import simulate

    settings = load_settings(_config(folder), {}, force_demo=True)
    clock = SteppedClock(NOW)
    async with open_runtime(settings, clock) as rt:
        await simulate(rt, clock, NOW, 1)
        rows = await rt.db.fetchall("SELECT full_analysis FROM analysis_snapshots")
    return [unpack_full_analysis(bytes(r[0])) for r in rows]


async def _write_cost(folder: Path, analyses: list[Analysis], rounds: int) -> dict[str, float]:
    """Median seconds per write (snapshot_of + decision_of + LedgerRepo.record, one transaction)
    with the exact analysis packed in ("full") and without it ("bare"), and the packing alone."""
    from ivcrush_tui.engine import ledger
    from ivcrush_tui.engine.ledger import decision_of, pack_full_analysis, snapshot_of
    from ivcrush_tui.store.repositories import LedgerRepo

    def no_pack(_a: Analysis) -> None:  # the write as it was before v11: nothing packed
        return None

    settings = load_settings(_config(folder), {}, force_demo=True)
    times: dict[str, list[float]] = {"full": [], "bare": [], "pack": []}
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        repo = LedgerRepo(rt.db)
        minute = 0
        for r in range(rounds):
            for kind in ("full", "bare") if r % 2 == 0 else ("bare", "full"):
                for a in analyses:
                    minute += 1
                    a = dataclasses.replace(a, as_of=a.as_of + dt.timedelta(minutes=minute))
                    packer = no_pack if kind == "bare" else pack_full_analysis
                    ledger.pack_full_analysis = packer  # type: ignore[assignment]
                    t0 = time.perf_counter()
                    snap = snapshot_of(a, demo=True)
                    decision = decision_of(a, demo=True)
                    if decision is None:
                        await repo.add(snap)
                    else:
                        await repo.record(snap, decision)
                    times[kind].append(time.perf_counter() - t0)
        ledger.pack_full_analysis = pack_full_analysis
        for a in analyses:
            t0 = time.perf_counter()
            pack_full_analysis(a)
            times["pack"].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def bench_write() -> tuple[dict[str, float], dict[str, int], int]:
    from ivcrush_tui.engine.analysis_codec import encode_analysis
    from ivcrush_tui.engine.ledger import pack_full_analysis, snapshot_of

    with tempfile.TemporaryDirectory() as tmp:
        analyses = asyncio.run(_demo_analyses(Path(tmp)))
    sizes = {
        "codec text": int(statistics.median(len(encode_analysis(a).encode()) for a in analyses)),
        "packed": int(statistics.median(len(pack_full_analysis(a)) for a in analyses)),
        "--json payload": int(
            statistics.median(len(snapshot_of(a, demo=True).payload_json) for a in analyses)
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        cost = asyncio.run(_write_cost(Path(tmp), analyses, rounds=6))
    return cost, sizes, len(analyses)


def main() -> None:
    compile_package()
    summary = bench_summary()
    print(f"ledger --summary --json, 10,000 decisions: {summary:.3f} s (target < 0.5 s)")
    with tempfile.TemporaryDirectory() as tmp:
        settled, requests, symbols = asyncio.run(_settle_100(Path(tmp)))
    print(f"settle 100 due decisions: {settled} settled, {requests} history requests for"
          f" {symbols} symbols (target <= 1 per symbol)")  # fmt: skip
    sim = bench_simulate()
    print(f"ledger simulate --weeks 12 (demo, fresh store): {sim:.1f} s (target < 30 s)")
    cost, sizes, n = bench_write()
    print(f"exact analysis per snapshot ({n} demo analyses, median bytes): "
          + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))  # fmt: skip
    extra = 1e3 * (cost["full"] - cost["bare"])
    print(f"ledger write (snapshot + decision): {1e3 * cost['full']:.2f} ms with the exact"
          f" analysis, {1e3 * cost['bare']:.2f} ms without: {extra:+.2f} ms per write"
          f" (packing alone {1e3 * cost['pack']:.2f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
