"""Alert benchmarks (issue 14; recorded in docs/PERFORMANCE.md).

1. `AlertCenter.observe(analysis)` when nothing fires, the streaming path's common case (every
   quote event's analysis goes through it): 100 names x 100 rounds with the default rules plus a
   vrp and an entry-window rule. Target: < 50 us per call (1,000 events/s would then cost < 5 %
   of a core).
2. A firing alert stored through the real SQLite store (AlertsRepo.record, one transaction each):
   ms per alert over 100 distinct alerts.
3. A hanging command killed at a 0.5 s timeout: seconds from the call to its return.

Run: `.venv/bin/python benchmarks/bench_alerts.py` (a temporary folder; nothing else touched).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ivcrush_tui.alerts.center import AlertCenter  # noqa: E402
from ivcrush_tui.alerts.command import run_command  # noqa: E402
from ivcrush_tui.alerts.model import Alert  # noqa: E402
from ivcrush_tui.calendar import TradingCalendar  # noqa: E402
from ivcrush_tui.config import AlertRule, AlertSettings, RuleKind  # noqa: E402
from ivcrush_tui.config.alert_rules import DEFAULT_RULES  # noqa: E402
from ivcrush_tui.store.db import Database  # noqa: E402
from ivcrush_tui.store.repositories import AlertsRepo  # noqa: E402
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, build_analysis  # noqa: E402

CAL = TradingCalendar()
RULES = (*DEFAULT_RULES, AlertRule(RuleKind.VRP, vrp=50.0), AlertRule(RuleKind.ENTRY_WINDOW))


async def observe_cost() -> list[float]:
    """us per observe() over 5 repeats of 100 names x 100 rounds (nothing fires)."""
    base = [build_analysis(s, FIXED_NOW, CAL) for s in SCRIPTS.values()]
    names = [dataclasses.replace(base[i % len(base)], symbol=f"N{i:03d}") for i in range(100)]

    async def record(_: Alert) -> bool:
        return True

    out: list[float] = []
    for _ in range(5):
        center = AlertCenter(
            AlertSettings(rules=RULES),
            calendar=CAL,
            clock=lambda: FIXED_NOW,
            record=record,
            mode="demo",
        )
        center.set_watchlist([a.symbol for a in names])
        t0 = time.perf_counter()
        for _ in range(100):
            for a in names:
                await center.observe(a)
        out.append((time.perf_counter() - t0) / 10_000 * 1e6)
    return out


async def record_cost(folder: Path) -> float:
    """ms per stored alert (100 distinct alerts, one transaction each)."""
    async with await Database.open(
        folder / "alerts.sqlite3", clock=lambda: FIXED_NOW, mode="demo"
    ) as db:
        repo = AlertsRepo(db)
        t0 = time.perf_counter()
        for i in range(100):
            day = dt.date(2026, 11, 23)
            alert = Alert("sell", "sell", f"N{i:03d}", day, FIXED_NOW, "SELL", "x")
            assert await repo.record(alert)
        return (time.perf_counter() - t0) / 100 * 1e3


async def main() -> None:
    per_call = await observe_cost()
    print(
        f"observe, nothing fires: median {statistics.median(per_call):.1f} us per call"
        f" (runs {', '.join(f'{x:.1f}' for x in per_call)}; target < 50 us)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        print(f"firing alert stored (SQLite): {await record_cost(Path(tmp)):.2f} ms per alert")
    t0 = time.perf_counter()
    outcome = await run_command([sys.executable, "-c", "import time; time.sleep(60)"], b"{}", 0.5)
    assert outcome.timed_out
    print(f"hanging command, 0.5 s timeout: returned after {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
