"""Ledger benchmarks (issue 13 targets, recorded in docs/PERFORMANCE.md).

1. `ivcrush --demo ledger --summary --json` on a store with 10,000 decisions (a fresh process,
   settling included: nothing is due): target < 0.5 s.
2. Settling 100 due decisions over 5 symbols: history requests counted (target <= 1 per symbol).
3. `ivcrush --demo ledger simulate --weeks 12` on a fresh demo store: target < 30 s.

Run: `.venv/bin/python benchmarks/bench_ledger.py` (a temporary folder; nothing else touched).
"""

from __future__ import annotations

import asyncio
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

from ivcrush_tui.calendar import NY, default_calendar  # noqa: E402
from ivcrush_tui.config import load_settings  # noqa: E402
from ivcrush_tui.domain import EarningsEvent, Timing  # noqa: E402
from ivcrush_tui.engine.clock import FixedClock  # noqa: E402
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


if __name__ == "__main__":
    main()
