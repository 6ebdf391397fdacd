"""Backfill: earnings history (Alpha Vantage) and daily prices (Tradier) into the store.

Resumable: progress is committed per ticker and per part, so a run stopped by the Alpha Vantage
daily quota, Ctrl-C or a killed process continues where it stopped. When the quota is spent the run
stops cleanly and says when it can resume. Once every requested ticker is done (or given up on, see
below), the next run starts afresh (to refresh the data).

A ticker that keeps failing does not hold the others back: after `MAX_ATTEMPTS` failed runs, or at
once for an error that retrying will not fix (unknown symbol), it is marked failed with its reason
and a retry-after, skipped until then (unless named on the command line) and reported by the run
and by `ivcrush health`. Stopping errors (quota spent, circuit open, bad key) are not the ticker's
fault and are not counted against it.

Two backfills at once (cron and a user, two terminals) share the work: each claims a ticker in the
store (a lease of `LEASE`) before fetching it and skips the ones another run holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    normalize_symbol,
)

log = logging.getLogger(__name__)

UPCOMING_DAYS = 14  # default universe: the watchlist plus names reporting within this many days
MAX_ATTEMPTS = 3  # failed runs before a ticker is given up on until its retry-after
RETRY_AFTER = dt.timedelta(days=1)  # ... for a failure that may pass (timeouts, 5xx, bad bodies)
RETRY_AFTER_PERMANENT = dt.timedelta(days=7)  # an unknown symbol may be listed later (an IPO)
PERMANENT = frozenset({ErrorCode.NOT_FOUND, ErrorCode.INVALID_SYMBOL, ErrorCode.BAD_REQUEST})
STOPPING = frozenset({ErrorCode.QUOTA_EXHAUSTED, ErrorCode.CIRCUIT_OPEN, ErrorCode.AUTH})
# A ticker is claimed for this long while it is fetched (two requests, paced at 1/s at most): two
# backfills at once never fetch the same one. A killed run's claims lapse after it.
LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class FailedSymbol:
    """A ticker given up on: why, after how many failed runs, and when it is tried again."""

    symbol: str
    reason: str  # "code: message"
    attempts: int
    retry_after: dt.datetime  # UTC


@dataclass(slots=True)
class BackfillReport:
    requested: int = 0
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # failed in this run: reason
    busy: list[str] = field(default_factory=list)  # being fetched by another backfill right now
    given_up: list[FailedSymbol] = field(default_factory=list)  # failed now, or skipped as failed
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
        stale = engine.calendar_error(now)
    finally:
        await engine.aclose()
    if stale is not None:  # said, not silent: the universe may miss today's calendar names
        log.warning("%s; backfilling the watchlist and the stored calendar only", stale.message)
    today = now.astimezone(NY).date()
    names = list(await WatchlistRepo(rt.db).list())
    events = await EventsRepo(rt.db).between(today, today + dt.timedelta(days=UPCOMING_DAYS))
    names += [e.symbol for e in events]
    return list(dict.fromkeys(names))


async def _one(rt: Runtime, symbol: str, *, quarters: int, repo: BackfillRepo) -> None:
    """Fetch and store both parts of `symbol` not done yet. Raises IvCrushError(NOT_FOUND) when
    neither provider knows anything about it (before the second part is marked done: the symbol
    has not completed)."""
    now = rt.clock.now()
    progress = await repo.get(symbol)
    no_events = False
    if progress is None or not progress.events_done:
        events = await rt.alphavantage.earnings_history(symbol)
        await EventsRepo(rt.db).upsert(events, fetched_at=now)
        await repo.mark(symbol, events_done=True)
        no_events = not events
    if progress is None or not progress.prices_done:
        today = now.astimezone(NY).date()
        end = rt.calendar.previous_session(today)
        # quarters of events + a quarter of slack + the realised-vol window before the oldest one
        start = end - dt.timedelta(days=int(quarters * 91.5) + 120)
        bars = await rt.tradier.daily_history(symbol, start, end)
        if no_events and not bars:
            raise IvCrushError(
                ErrorCode.NOT_FOUND,
                f"no earnings history and no prices for {symbol} (unknown symbol?)",
            )
        await PricesRepo(rt.db).upsert(symbol, bars)
        await repo.mark(symbol, prices_done=True)


Emit = Callable[[dict[str, Any]], None]


def _no_emit(_event: dict[str, Any]) -> None:
    return None


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.isoformat()


async def run_backfill(
    rt: Runtime,
    symbols: Sequence[str],
    *,
    quarters: int,
    out: Console,
    emit: Emit = _no_emit,
) -> BackfillReport:
    """Backfill `symbols` (default universe when empty); progress bar on a terminal.

    Tickers given up on are skipped until their retry-after, except when named in `symbols`.
    `emit` receives one progress event per ticker and a final summary (`backfill --json`
    prints each as a JSON line; docs/JSON.md lists them)."""
    names = list(dict.fromkeys(normalize_symbol(s) for s in symbols)) or await default_universe(rt)
    repo = BackfillRepo(rt.db)
    now = rt.clock.now()
    state = {n: await repo.get(n) for n in names}
    waiting = [n for n in names if (p := state[n]) is not None and p.waiting(now)]
    pending = list(await repo.pending(names))
    if names and not pending:  # everything done (or given up on) last time: refresh
        fresh = [n for n in names if n not in waiting]
        await repo.reset(fresh)
        pending = fresh
    if symbols:  # named on the command line: the user asks for them now
        pending += [n for n in waiting if n not in pending]
    report = BackfillReport(requested=len(names))
    skipped = [n for n in waiting if n not in pending]
    report.completed = [n for n in names if n not in pending and n not in skipped]
    for n in skipped:
        p = state[n]
        assert p is not None  # waiting() said so
        assert p.retry_after is not None
        report.given_up.append(FailedSymbol(n, p.last_error or "", p.attempts, p.retry_after))
        emit(
            {"event": "skipped", "ticker": n, "why": "given_up", "error": p.last_error,
             "attempts": p.attempts, "retry_after": _iso(p.retry_after)}
        )  # fmt: skip
        out.print(
            f"{n}: skipped: given up after {_attempts(p.attempts)} ({p.last_error}); "
            f"tried again after {_et(p.retry_after)}",
            markup=False,
        )
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
        owner = lease_owner()
        for symbol in pending:
            progress.update(task, symbol=symbol)
            if not await repo.claim(symbol, owner, LEASE, holder_gone=lease_holder_gone):
                # Another backfill is fetching it right now: fetching it too would spend the
                # Alpha Vantage quota twice. Its result lands in the same store.
                report.busy.append(symbol)
                emit({"event": "skipped", "ticker": symbol, "why": "busy", "error": None,
                      "attempts": None, "retry_after": None})  # fmt: skip
                out.print(f"{symbol}: skipped: another backfill is fetching it", markup=False)
                progress.advance(task)
                continue
            try:
                await _one(rt, symbol, quarters=quarters, repo=repo)
                error: IvCrushError | None = None
            except IvCrushError as exc:
                error = exc
            finally:  # an interrupted run leaves a lease that expires after LEASE
                with contextlib.suppress(IvCrushError):
                    await repo.release(symbol, owner)
            if error is not None:
                reason = f"{error.code}: {error.message}"
                if error.code in STOPPING:  # not this ticker's fault: not counted against it
                    await repo.mark(symbol, error=reason)
                    report.stopped_reason = reason
                    if error.code is ErrorCode.QUOTA_EXHAUSTED:
                        report.resume_at = rt.av_limiter.resets_at()
                    emit({"event": "stopped", "ticker": symbol, "error": _error_json(error)})
                    break
                permanent = error.code in PERMANENT
                p = await repo.record_failure(
                    symbol,
                    reason,
                    permanent=permanent,
                    max_attempts=MAX_ATTEMPTS,
                    retry_in=RETRY_AFTER_PERMANENT if permanent else RETRY_AFTER,
                )
                report.failed[symbol] = reason
                if p.retry_after is not None:
                    report.given_up.append(FailedSymbol(symbol, reason, p.attempts, p.retry_after))
                    then = (
                        f"given up after {_attempts(p.attempts)}; "
                        f"tried again after {_et(p.retry_after)}"
                    )
                else:
                    then = f"attempt {p.attempts} of {MAX_ATTEMPTS}; tried again on the next run"
                emit(
                    {"event": "failed", "ticker": symbol, "error": _error_json(error),
                     "attempts": p.attempts, "retry_after": _iso(p.retry_after)}
                )  # fmt: skip
                out.print(f"{symbol}: failed: {reason} ({then})", markup=False)
                progress.advance(task)
                continue
            report.completed.append(symbol)
            emit(
                {"event": "done", "ticker": symbol, "completed": len(report.completed),
                 "total": len(names)}
            )  # fmt: skip
            progress.advance(task)
            if not out.is_terminal:
                out.print(f"{symbol}: done ({len(report.completed)}/{len(names)})", markup=False)
    left = len(names) - len(report.completed) - len(report.failed) - len(skipped)
    emit(
        {"event": "summary", "total": len(names), "done": len(report.completed),
         "failed": len(report.failed), "skipped": len(skipped), "busy": len(report.busy),
         "left": left, "stopped": report.stopped_reason, "resume_at": _iso(report.resume_at)}
    )  # fmt: skip
    if report.stopped_reason:
        when = f"; resume after {_et(report.resume_at)}" if report.resume_at else ""
        out.print(
            f"backfill stopped ({report.stopped_reason}): {len(report.completed)} done, "
            f"{left} left{when} — run `ivcrush backfill` again to resume",
            markup=False,
        )
    else:
        extra = f", {len(skipped)} skipped (failed earlier)" if skipped else ""
        if report.busy:
            extra += f", {len(report.busy)} fetched by another backfill"
        out.print(
            f"backfill: {len(report.completed)} done, {len(report.failed)} failed{extra} "
            f"of {len(names)}",
            markup=False,
        )
    return report


def _error_json(exc: IvCrushError) -> dict[str, Any]:
    return {"code": str(exc.code), "message": exc.message, "correlation_id": exc.correlation_id}


def lease_owner() -> str:
    """This run's name on its claims: host, process id and a random part (a reused pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_holder_gone(holder: str) -> bool:
    """True when `holder` (a `lease_owner()`) is a process of this host that no longer runs: a
    killed backfill's claims need not be waited out. A holder on another host (a shared folder)
    is trusted until its lease expires."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def _et(when: dt.datetime) -> str:
    return f"{when.astimezone(NY):%Y-%m-%d %H:%M} ET"
