"""`ivcrush --demo ledger simulate`: play the seeded demo world through past entry windows.

The same code paths as a live session: the engine scans each session's entry-date names with the
runtime's clock stepped into that day's entry window (the demo market, cache and ledger all see
that instant), the ledger records the decisions, and `settle_due` settles them at the end. Only
the demo market can be simulated (its world is the same whenever asked about a day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.engine.clock import SteppedClock
from ivcrush_tui.engine.ledger_settle import SettleReport, settle_due
from ivcrush_tui.engine.runtime import Runtime

# Two looks per entry window: the first becomes the path, the second the decision (the latest).
SNAPSHOT_OFFSETS = (dt.timedelta(minutes=10), dt.timedelta(minutes=45))


@dataclass(slots=True)
class SimulationReport:
    sessions: int = 0
    analyses: int = 0
    failures: int = 0
    settle: SettleReport | None = None


def simulated_sessions(rt: Runtime, now: dt.datetime, weeks: int) -> list[dt.date]:
    """The sessions of the last `weeks` weeks whose entry window has closed by `now`."""
    today = now.astimezone(NY).date()
    day = today - dt.timedelta(weeks=weeks)
    out: list[dt.date] = []
    while day <= today:
        window = rt.calendar.entry_window(day)
        if window is not None and window[1] <= now:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


async def simulate(
    rt: Runtime,
    clock: SteppedClock,
    now: dt.datetime,
    weeks: int,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """Scan each past session's entry window (two looks), then settle what is due at `now`.
    `clock` must be the runtime's clock; it is left at `now`."""
    from ivcrush_tui.engine.service import Engine

    if not rt.demo:
        raise IvCrushError(ErrorCode.CONFIG, "ledger simulate runs on the demo market only")
    if rt.clock is not clock:
        raise ValueError("simulate needs the runtime's own SteppedClock")
    report = SimulationReport()
    days = simulated_sessions(rt, now, weeks)
    engine = Engine(rt)
    try:
        for i, day in enumerate(days, start=1):
            window = rt.calendar.entry_window(day)
            assert window is not None
            names: list[str] | None = None
            for offset in SNAPSHOT_OFFSETS:
                at = min(window[0] + offset, window[1] - dt.timedelta(minutes=1))
                clock.set(at)
                if names is None:
                    names = await engine.candidates(day, at)
                async for result in engine.scan(names, at):
                    report.analyses += 1
                    report.failures += 0 if result.ok else 1
            report.sessions += 1
            if progress is not None:
                progress(i, len(days))
    finally:
        await engine.aclose()
        clock.set(now)
    report.settle = await settle_due(rt, now)
    return report
