"""`AlertCenter`: the one entry point of alerts. Registered with the engine's observers
(`engine.observers.add(center)`, engine/observers.py), it sees every analysis the engine produces
(scans, one-off analyses, streamed re-prices, re-picks) and runs them through the rules in order
on a task of its own (`idle()` waits for that); `observe(analysis)` does one directly. The breaker
states go to `observe_breakers(states)`.

Each alert the rules fire (rules.py) is de-duplicated (once per rule, symbol and window: first in
memory, then by the store's unique key, so a restart does not repeat it), stored, then delivered:
to the subscribed listeners (the console turns them into a notification and the bell) and, when
`[alerts] command` is set, to that command, one at a time from a bounded queue in the background,
so a slow or hanging command never holds up a scan (command.py kills it at its timeout).

Not thread-safe: a center lives on one event loop (the console's engine loop, serve's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Final

from ivcrush_tui.alerts.command import CommandOutcome, run_command
from ivcrush_tui.alerts.model import Alert, alert_to_json
from ivcrush_tui.alerts.rules import Observation, evaluate, evaluate_breakers, observation_of
from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.config.alert_rules import AlertSettings

if TYPE_CHECKING:
    from ivcrush_tui.providers.tradier_events import StreamEvent

log = logging.getLogger(__name__)

Recorder = Callable[[Alert], Awaitable[bool]]  # stores an alert; True when it was not there yet
Listener = Callable[[Alert], None]
Runner = Callable[[tuple[str, ...], bytes, float], Awaitable[CommandOutcome]]
MAX_QUEUED_COMMANDS: Final = 64  # alerts waiting for the command; more are logged and dropped
# Analyses waiting for the rules (a stalled store): past this the oldest are dropped, logged.
MAX_BACKLOG: Final = 5000


class AlertCenter:
    """Rules -> de-duplicated, stored, delivered alerts (see the module docstring)."""

    def __init__(
        self,
        settings: AlertSettings,
        *,
        calendar: TradingCalendar,
        clock: Callable[[], dt.datetime],
        record: Recorder,
        mode: str,
        runner: Runner = run_command,
    ) -> None:
        """`clock()` gives the aware UTC instant an alert fires at; `record` stores it (the
        store's AlertsRepo.record); `mode` ("live" | "demo") goes into the command's JSON."""
        self.settings = settings
        self._calendar = calendar
        self._clock = clock
        self._record = record
        self._mode = mode
        self._runner = runner
        self._watchlist: frozenset[str] = frozenset()
        self._baseline: dict[str, Observation] = {}  # last scored observation per symbol
        self._breakers: dict[str, str] = {}
        self._seen: set[tuple[str, str, dt.date]] = set()
        self._listeners: list[Listener] = []
        self._queue: asyncio.Queue[Alert] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.outcomes: deque[CommandOutcome] = deque(maxlen=20)  # the latest command runs
        self._backlog: deque[Analysis] = deque()  # observed, waiting for the rules (in order)
        self._observing: asyncio.Task[None] | None = None
        self.dropped = 0  # analyses dropped from a full backlog
        self.fired = 0  # alerts delivered (stored, handed to listeners and the command)

    # -- configuration ----------------------------------------------------------------------

    def set_watchlist(self, symbols: Collection[str]) -> None:
        """The names the watchlist rules apply to (call again after each edit)."""
        self._watchlist = frozenset(symbols)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(alert)` for each new alert (on this center's loop; it must not block).
        Returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- the entry points --------------------------------------------------------------------

    async def observe(self, analysis: Analysis) -> list[Alert]:
        """Evaluate the rules on `analysis` (any status); returns the alerts newly fired (already
        stored and handed to the listeners and the command queue). Cheap when nothing fires.
        Never raises (but for cancellation): a scan or a stream must not stop for an alert."""
        try:
            cur = observation_of(analysis)
            prev = self._baseline.get(cur.symbol)
            if cur.scored:
                self._baseline[cur.symbol] = cur
            fired = evaluate(
                self.settings.rules,
                prev,
                cur,
                watchlist=self._watchlist,
                calendar=self._calendar,
                fired_at=self._clock(),
            )
        except Exception:
            log.exception("alert rules failed on %s", getattr(analysis, "symbol", "?"))
            return []
        return await self._deliver(fired)

    async def observe_breakers(self, states: Mapping[str, str]) -> list[Alert]:
        """Evaluate the breaker rules on the providers' breaker states (provider -> "closed" |
        "open" | "half_open"); returns the alerts newly fired."""
        prev, self._breakers = self._breakers, dict(states)
        if prev == self._breakers:
            return []
        fired = evaluate_breakers(self.settings.rules, prev, states, fired_at=self._clock())
        return await self._deliver(fired)

    # -- the engine's observer (engine/observers.py) -----------------------------------------

    def on_quote(self, symbol: str, quote: StreamEvent, at: dt.datetime) -> None:
        return  # the rules judge analyses, not single quotes

    def on_analysis(self, analysis: Analysis) -> None:
        """Queue `analysis` for the rules (called synchronously on the engine's loop: it must not
        wait for the store). A task runs the queue in order."""
        if len(self._backlog) >= MAX_BACKLOG:
            self._backlog.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("alerts: %d analyses dropped, the rules fell behind", self.dropped)
        self._backlog.append(analysis)
        if self._observing is None or self._observing.done():
            self._observing = asyncio.create_task(self._observe_backlog(), name="alerts")

    async def _observe_backlog(self) -> None:
        while self._backlog:
            await self.observe(self._backlog.popleft())

    async def idle(self) -> None:
        """Wait until every analysis observed so far has been through the rules (and its alerts
        stored and handed to the listeners)."""
        while self._observing is not None and not self._observing.done():
            await asyncio.shield(self._observing)

    # -- delivery ----------------------------------------------------------------------------

    async def _deliver(self, fired: list[Alert]) -> list[Alert]:
        new: list[Alert] = []
        for alert in fired:
            if alert.key in self._seen:
                continue
            self._seen.add(alert.key)
            try:
                stored = await self._record(alert)
            except Exception as exc:  # the store is down: deliver anyway (memory de-duplicates)
                log.warning("alert %s %s not stored: %s", alert.rule, alert.symbol, exc)
                stored = True
            if not stored:  # fired before this process started (the store remembers)
                continue
            new.append(alert)
            self.fired += 1
            log.info("alert: %s: %s", alert.title, alert.message)
            for listener in list(self._listeners):
                try:
                    listener(alert)
                except Exception:
                    log.exception("alert listener failed")
            self._enqueue_command(alert)
        return new

    def _enqueue_command(self, alert: Alert) -> None:
        if not self.settings.command:
            return
        if self._queue is None:
            self._queue = asyncio.Queue(MAX_QUEUED_COMMANDS)
            self._worker = asyncio.create_task(self._run_commands(self._queue))
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            log.warning("alert command busy: %s %s not sent to it", alert.rule, alert.symbol)

    async def _run_commands(self, queue: asyncio.Queue[Alert]) -> None:
        argv = self.settings.command
        timeout = self.settings.command_timeout_s
        while True:
            alert = await queue.get()
            try:
                payload = json.dumps(alert_to_json(alert, self._mode)).encode() + b"\n"
                outcome = await self._runner(argv, payload, timeout)
                self.outcomes.append(outcome)
                if not outcome.ok:
                    log.warning("alert command %r: %s", argv[0], outcome.error)
            except Exception:
                log.exception("alert command failed")
            finally:
                queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued command has run (tests, a clean stop)."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self) -> None:
        """Stop observing and the command worker (a command in flight is killed)."""
        observing, self._observing = self._observing, None
        if observing is not None:
            observing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await observing
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
