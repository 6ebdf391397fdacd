"""Health of every provider and component: a live check plus what the resilience layer observed.

The Tradier check is one market-clock call, which counts against the market-data window (120/min)
like any quote: when this process's last Tradier call succeeded less than RECENT_CALL_S ago (a scan
is running, or a check was just made) that call answers for the provider and nothing is sent, so a
health screen refreshing every few seconds never takes requests a scan needs. Alpha Vantage is
never called for a health check: every request spends the 25/day quota, so its health is read from
the breaker, the quota and the last calls this process made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from rich import box
from rich.table import Table
from rich.text import Text

from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.engine import last_call
from ivcrush_tui.engine.health_model import (
    ComponentHealth,
    HealthReport,
    HealthStatus,
    LastError,
    OperationStats,
    latency_text,
)
from ivcrush_tui.engine.runtime import ALPHAVANTAGE, TRADIER, Runtime
from ivcrush_tui.engine.stream_lock import StreamLock, lock_path
from ivcrush_tui.resilience.breaker import HEALTH_FAILURE_CODES
from ivcrush_tui.resilience.guard import ErrorRecord, Guard
from ivcrush_tui.resilience.ratelimit import utc_now
from ivcrush_tui.resilience.retry import single_attempt
from ivcrush_tui.store.db import damaged_message
from ivcrush_tui.store.repositories import BackfillRepo

STATUS_STYLE = {"healthy": "green", "degraded": "yellow", "down": "bold red"}
PROBE_DEADLINE_S = 5.0  # seconds a health probe may take (one attempt): health ends in < 10 s
RECENT_CALL_S = 15.0  # a successful Tradier call this recent (seconds) stands in for a probe
# Typed answers that keep the breaker closed (the provider is up) yet mean it answers nothing:
# a rejected key, or the day's quota spent.
REFUSAL_CODES = frozenset({ErrorCode.AUTH, ErrorCode.QUOTA_EXHAUSTED})


def refusal(guard: Guard) -> ErrorRecord | None:
    """The last call's error when that call was refused (auth, quota) and none has succeeded
    since; None otherwise. Read by health and by the status bar's provider badges."""
    stats = guard.stats
    last = stats.last_error
    if stats.last_call_ok is False and last is not None and last.code in REFUSAL_CODES:
        return last
    return None


def _guard_fields(guard: Guard) -> dict[str, object]:
    stats = guard.stats
    last = stats.last_error
    return {
        "breaker": guard.breaker.state.value,
        "seconds_to_half_open": guard.breaker.seconds_to_half_open() or None,
        "recent_latencies_ms": tuple(stats.latencies_ms()),
        "last_error": None
        if last is None
        else LastError(last.code, last.message, last.correlation_id, last.at),
        "operations": tuple(
            OperationStats(name, s.count, s.mean_ms, s.p95_ms, s.p99_ms)
            for name, s in sorted(stats.operations().items())
        ),
    }


def _breaker_status(guard: Guard) -> HealthStatus:
    state = guard.breaker.state.value
    if state == "open":
        return HealthStatus.DOWN
    if state == "half_open":
        return HealthStatus.DEGRADED
    return HealthStatus.HEALTHY


async def _last_ok(rt: Runtime, name: str, guard: Guard) -> tuple[float | None, float | None]:
    """The last successful call's latency (ms) and age (s): this process's, else the stored.
    The age is on the wall clock the guards stamp calls with (an --as-of clock is not real)."""
    last = await last_call.latest(rt.db, name, guard)
    if last is None:
        return None, None
    return last.latency_ms, last.age_s(utc_now())


async def _tradier(rt: Runtime, probe: bool) -> ComponentHealth:
    guard = rt.tradier_guard
    status = _breaker_status(guard)
    age = guard.seconds_since_success()
    latency: float | None
    latency_age: float | None = None
    if not probe and status is HealthStatus.HEALTHY and age is not None and age <= RECENT_CALL_S:
        detail = f"last call ok {age:.0f} s ago (no probe sent)"
        latency, latency_age = guard.stats.last_ok_latency_ms, age
    else:
        t0 = time.perf_counter()
        try:
            # One attempt within PROBE_DEADLINE_S: a cron probe must end in seconds whatever
            # the provider does (it once took 43 s against a stalled market, 4 tries each).
            async with asyncio.timeout(PROBE_DEADLINE_S):
                with single_attempt():
                    clock = await rt.tradier.clock()
            detail = f"market {clock.state}"
        except IvCrushError as exc:
            status = HealthStatus.DOWN
            detail = f"{exc.code}: {exc.message}"
        except TimeoutError:
            status = HealthStatus.DOWN
            detail = f"timeout: no answer to the market clock within {PROBE_DEADLINE_S:g} s"
        latency, latency_age = (time.perf_counter() - t0) * 1000, 0.0
        if status is HealthStatus.DOWN:
            # A refused connection fails in 0.2 ms: that is no answer time. Show the last good
            # call's instead, with its age, or nothing.
            latency, latency_age = await _last_ok(rt, TRADIER, guard)
    budget = rt.tradier_limiter.budget()
    return ComponentHealth(
        name=TRADIER,
        status=status,
        detail=detail,
        latency_ms=latency,
        latency_age_s=latency_age,
        budget_left=budget.available,
        budget_total=budget.allowed,
        budget_resets_in_s=budget.resets_in_s,
        **_guard_fields(guard),  # type: ignore[arg-type]
    )


async def _alphavantage(rt: Runtime) -> ComponentHealth:
    guard = rt.av_guard
    left = await rt.av_limiter.remaining()
    total = rt.av_limiter.daily_quota
    status = _breaker_status(guard)
    refused = refusal(guard)
    if (left <= 0 or refused is not None) and status is HealthStatus.HEALTHY:
        status = HealthStatus.DEGRADED
    detail = f"daily quota {left}/{total} left" if left > 0 else "daily quota used up"
    if refused is not None and refused.code == ErrorCode.AUTH:
        # Every request will be refused until the key is fixed: down, whatever the breaker says.
        status = HealthStatus.DOWN
        detail = f"API key refused (auth); {detail}"
    elif refused is not None and left > 0:
        detail = f"Alpha Vantage says the daily quota is used up; {detail}"
    last = guard.stats.last_error
    if (
        status is HealthStatus.HEALTHY
        and guard.stats.last_call_ok is False
        and last is not None
        and last.code in HEALTH_FAILURE_CODES
    ):
        # No probe is ever sent (it would spend quota): the last call is the evidence, and a
        # failed one (a cut calendar, a 503) is not healthy even below the breaker's threshold.
        status = HealthStatus.DEGRADED
        detail = f"last call failed ({last.code}); {detail}"
    # Never probed (quota): the last successful call answers, from this process or the store.
    latency, latency_age = await _last_ok(rt, ALPHAVANTAGE, guard)
    return ComponentHealth(
        name=ALPHAVANTAGE,
        status=status,
        detail=detail,
        latency_ms=latency,
        latency_age_s=latency_age,
        budget_left=left,
        budget_total=total,
        **_guard_fields(guard),  # type: ignore[arg-type]
    )


async def _database(rt: Runtime) -> ComponentHealth:
    t0 = time.perf_counter()
    try:
        version = await rt.db.schema_version()
        problem = await rt.db.quick_check()
        if problem is None:
            status, detail = HealthStatus.HEALTHY, f"schema v{version}, {rt.settings.database_path}"
        else:
            status, detail = HealthStatus.DOWN, damaged_message(rt.settings.database_path, problem)
    except IvCrushError as exc:
        status, detail = HealthStatus.DOWN, f"{exc.code}: {exc.message}"
    return ComponentHealth(
        name="database",
        status=status,
        detail=detail,
        latency_ms=(time.perf_counter() - t0) * 1000,
    )


async def _backfill(rt: Runtime) -> ComponentHealth:
    """Degraded while some ticker is given up on by the backfill (its history is missing)."""
    try:
        failed = await BackfillRepo(rt.db).failed()
    except IvCrushError as exc:
        return ComponentHealth("backfill", HealthStatus.DEGRADED, f"{exc.code}: {exc.message}")
    if not failed:
        return ComponentHealth("backfill", HealthStatus.HEALTHY, "no ticker failing")
    shown = ", ".join(
        f"{p.symbol} ({(p.last_error or '?').split(':', 1)[0]}, retry after "
        f"{p.retry_after.astimezone(NY):%Y-%m-%d %H:%M} ET)"
        for p in failed
        if p.retry_after is not None
    )
    latest = failed[0]  # the most recent failure
    code, _, message = (latest.last_error or "").partition(": ")
    return ComponentHealth(
        "backfill",
        HealthStatus.DEGRADED,
        f"{len(failed)} failing: {shown}",
        last_error=LastError(code or "unknown", message, None, latest.updated_at),
    )


def _cache(rt: Runtime) -> ComponentHealth:
    stats = rt.cache.stats()
    status = HealthStatus.DEGRADED if stats.l2_errors else HealthStatus.HEALTHY
    return ComponentHealth(
        name="cache",
        status=status,
        detail=(
            f"hit rate {stats.hit_rate:.0%} (L1 {stats.hits_l1}, L2 {stats.hits_l2}, "
            f"miss {stats.misses})"
        ),
    )


async def check_health(rt: Runtime, *, probe: bool = False) -> HealthReport:
    """Check every component concurrently (target: < 100 ms with warm connections). Unless
    `probe`, a Tradier call that succeeded in the last RECENT_CALL_S seconds stands in for the
    market-clock request."""
    tradier, av, db, backfill = await asyncio.gather(
        _tradier(rt, probe), _alphavantage(rt), _database(rt), _backfill(rt)
    )
    return HealthReport(
        checked_at=rt.clock.now(),
        demo=rt.demo,
        components=(tradier, av, db, _cache(rt), backfill),
        stream_owner=stream_owner(rt),
    )


def stream_owner(rt: Runtime) -> str | None:
    """Who holds the account's market-stream lock ("serve (pid 12)"), None when nobody does
    or it cannot be read (the process reporting fills in its own stream)."""
    token = rt.settings.tradier.token
    path = lock_path(rt.settings.database_path, token.reveal() if token else "demo")
    try:
        return StreamLock(path, "health").holder()
    except OSError:
        return None


def store_down_report(now: dt.datetime, demo: bool, reason: str) -> HealthReport:
    """The report when the store cannot even be opened: the database is down with the reason
    (providers are not checked: their limits and cache live in the store)."""
    return HealthReport(
        checked_at=now,
        demo=demo,
        components=(ComponentHealth(name="database", status=HealthStatus.DOWN, detail=reason),),
    )


def health_table(report: HealthReport) -> Table:
    """The report as a table; long details end with an ellipsis (the JSON has them whole)."""
    mode = "DEMO" if report.demo else "LIVE"
    table = Table(
        title=f"ivcrush health — {mode} — {report.status.value}",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        expand=True,
    )
    with_errors = any(c.last_error is not None for c in report.components)
    # The short columns keep their width; Detail (and Last error) take what is left.
    for col in ("Component", "Status", "Latency", "Breaker", "Budget"):
        table.add_column(col, no_wrap=True)
    table.add_column("Detail", no_wrap=True, overflow="ellipsis", ratio=3)
    if with_errors:
        table.add_column("Last error", no_wrap=True, overflow="ellipsis", ratio=1)
    for c in report.components:
        budget = (
            f"{c.budget_left}/{c.budget_total}"
            if c.budget_left is not None and c.budget_total is not None
            else ""
        )
        cells: list[str | Text] = [
            c.name,
            Text(c.status.value, style=STATUS_STYLE[c.status.value]),
            latency_text(c),
            c.breaker or "",
            budget,
            Text(c.detail),
        ]
        if with_errors:
            err = c.last_error
            cells.append(Text(f"{err.code} [{err.correlation_id or '-'}]") if err else Text(""))
        table.add_row(*cells)
    return table
