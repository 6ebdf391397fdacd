"""Backfill: earnings history (Alpha Vantage) and daily prices (Tradier) into the store.

Resumable: progress is committed per ticker and per part, so a run stopped by the Alpha Vantage
daily quota, Ctrl-C or a killed process continues where it stopped. When the quota is spent the run
stops cleanly and says when it can resume. Once every requested ticker is done, the next run starts
afresh (to refresh the data).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.store.repositories import (
    BackfillRepo,
    EventsRepo,
    PricesRepo,
    WatchlistRepo,
)

log = logging.getLogger(__name__)

UPCOMING_DAYS = 14  # default universe: the watchlist plus names reporting within this many days


@dataclass(slots=True)
class BackfillReport:
    requested: int = 0
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped_reason: str | None = None  # quota exhausted / circuit open: the run stopped early
    resume_at: dt.datetime | None = None  # UTC

    @property
    def complete(self) -> bool:
        return self.stopped_reason is None


async def default_universe(rt: Runtime) -> list[str]:
    """The watchlist plus every name in the stored earnings calendar within UPCOMING_DAYS."""
    from ivcrush_tui.engine.service import Engine

    now = rt.clock.now()
    engine = Engine(rt)
    try:
        await engine.ensure_earnings_calendar(now)
    finally:
        await engine.aclose()
    today = now.astimezone(NY).date()
    names = list(await WatchlistRepo(rt.db).list())
    events = await EventsRepo(rt.db).between(today, today + dt.timedelta(days=UPCOMING_DAYS))
    names += [e.symbol for e in events]
    return list(dict.fromkeys(names))


async def _one(rt: Runtime, symbol: str, *, quarters: int, repo: BackfillRepo) -> None:
    """Fetch and store both parts of `symbol` not done yet. Raises IvCrushError(NOT_FOUND) when
    neither provider knows anything about it (both parts stay done: retrying will not help)."""
    now = rt.clock.now()
    progress = await repo.get(symbol)
    found: list[bool] = []
    if progress is None or not progress.events_done:
        events = await rt.alphavantage.earnings_history(symbol)
        await EventsRepo(rt.db).upsert(events, fetched_at=now)
        await repo.mark(symbol, events_done=True)
        found.append(bool(events))
    if progress is None or not progress.prices_done:
        today = now.astimezone(NY).date()
        end = rt.calendar.previous_session(today)
        # quarters of events + a quarter of slack + the realised-vol window before the oldest one
        start = end - dt.timedelta(days=int(quarters * 91.5) + 120)
        bars = await rt.tradier.daily_history(symbol, start, end)
        await PricesRepo(rt.db).upsert(symbol, bars)
        await repo.mark(symbol, prices_done=True)
        found.append(bool(bars))
    if len(found) == 2 and not any(found):
        raise IvCrushError(
            ErrorCode.NOT_FOUND, f"no earnings history and no prices for {symbol} (unknown symbol?)"
        )


async def run_backfill(
    rt: Runtime, symbols: Sequence[str], *, quarters: int, out: Console
) -> BackfillReport:
    """Backfill `symbols` (default universe when empty); progress bar on a terminal."""
    names = list(symbols) or await default_universe(rt)
    repo = BackfillRepo(rt.db)
    pending = list(await repo.pending(names))
    if names and not pending:  # everything done last time: this is a fresh refresh
        await repo.reset(names)
        pending = list(names)
    report = BackfillReport(requested=len(names))
    report.completed = [n for n in names if n not in pending]
    progress = Progress(
        TextColumn("backfill {task.fields[symbol]:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        disable=not out.is_terminal,
    )
    with progress:
        task = progress.add_task(
            "backfill", total=len(names), symbol="", completed=len(names) - len(pending)
        )
        for symbol in pending:
            progress.update(task, symbol=symbol)
            try:
                await _one(rt, symbol, quarters=quarters, repo=repo)
            except IvCrushError as exc:
                await repo.mark(symbol, error=f"{exc.code}: {exc.message}")
                if exc.code in (ErrorCode.QUOTA_EXHAUSTED, ErrorCode.CIRCUIT_OPEN, ErrorCode.AUTH):
                    report.stopped_reason = f"{exc.code}: {exc.message}"
                    if exc.code is ErrorCode.QUOTA_EXHAUSTED:
                        report.resume_at = rt.av_limiter.resets_at()
                    break
                report.failed[symbol] = f"{exc.code}: {exc.message}"
                if not out.is_terminal:
                    out.print(f"{symbol}: failed: {exc.code}: {exc.message}", markup=False)
                continue
            report.completed.append(symbol)
            progress.advance(task)
            if not out.is_terminal:
                out.print(f"{symbol}: done ({len(report.completed)}/{len(names)})", markup=False)
    left = len(names) - len(report.completed)
    if report.stopped_reason:
        when = (
            f"; resume after {report.resume_at.astimezone(NY):%Y-%m-%d %H:%M} ET"
            if report.resume_at
            else ""
        )
        out.print(
            f"backfill stopped ({report.stopped_reason}): {len(report.completed)} done, "
            f"{left} left{when} — run `ivcrush backfill` again to resume",
            markup=False,
        )
    else:
        out.print(
            f"backfill: {len(report.completed)} done, {len(report.failed)} failed of {len(names)}"
        )
    return report
