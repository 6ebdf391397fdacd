"""A per-provider circuit breaker: stop hammering a provider that is down, probe it now and then.

closed --(N consecutive health failures)--> open --(reset timeout)--> half_open
half_open --(probe answered)--> closed;  half_open --(probe failed)--> open (timer restarts)

In half_open one caller carries the probe; `wait_for_probe` lets the others wait for its outcome
(the Guard does, briefly) instead of failing while the provider may already be back.

Only failures that say something about the provider's health count: timeouts, unavailability
(connection errors, 5xx), bad payloads and unexpected exceptions. A typed answer such as auth,
not_found, bad_request, premium, rate_limited or quota_exhausted proves the provider is up, so it
counts as an answer (it resets the failure streak and closes a half-open circuit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, TypeVar

from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.resilience.correlation import current_correlation_id
from ivcrush_tui.resilience.logs import FILE_FIRST

T = TypeVar("T")
log = logging.getLogger(__name__)

CAUSE_CHARS = 120  # the last failure quoted in a circuit_open message, at most

# Error codes that indicate the provider itself is unhealthy.
HEALTH_FAILURE_CODES = frozenset({ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE, ErrorCode.BAD_PAYLOAD})


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Permit:
    """Permission for one call. `generation` ties its outcome to the circuit episode it started in:
    outcomes of calls that started before the circuit last opened are ignored."""

    generation: int
    probe: bool


class Transition(NamedTuple):
    """One state change: (monotonic seconds, from, to)."""

    at: float  # monotonic seconds
    from_state: BreakerState
    to_state: BreakerState


def counts_against_health(exc: BaseException) -> bool:
    """True when `exc` says the provider is unhealthy (and should count towards opening)."""
    if isinstance(exc, IvCrushError):
        return exc.code in HEALTH_FAILURE_CODES
    # Cancellation is the caller's decision, not the provider's failure; any other untyped
    # exception that escaped the client is treated like a bad payload.
    return not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit)


class CircuitBreaker:
    """Circuit breaker for one provider. Not thread-safe; meant for one asyncio loop."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        history: int = 50,
    ) -> None:
        """`failure_threshold`: consecutive health failures that open the circuit (>= 1).
        `reset_timeout_s`: seconds an open circuit waits before allowing one probe (> 0)."""
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if not (math.isfinite(reset_timeout_s) and reset_timeout_s > 0):
            raise ValueError(f"reset_timeout_s must be > 0, got {reset_timeout_s}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._monotonic = monotonic
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._generation = 0
        self._probe_in_flight = False
        self._probe_done: asyncio.Event | None = None  # set when the current probe has ended
        self._last_cause: str | None = None  # the last health failure, for the open message
        # The correlation id of the call whose failure opened the circuit: the later transitions
        # (probe, recovery) name it, so grepping that id shows the whole outage.
        self._opened_by: str | None = None
        self.transitions: deque[Transition] = deque(maxlen=history)

    # -- observation ------------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The current state (an open circuit whose timeout has passed reads as half_open)."""
        self._refresh()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def probe_in_flight(self) -> bool:
        """True while a half-open probe call is running."""
        return self._probe_in_flight

    async def wait_for_probe(self, timeout_s: float) -> BreakerState:
        """Wait (at most `timeout_s` seconds) until the in-flight probe has an outcome; returns
        the state then (closed: the provider answered). Returns at once without a probe."""
        event = self._probe_done
        if self._probe_in_flight and event is not None and timeout_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout_s)
        return self.state

    def seconds_to_half_open(self) -> float:
        """Seconds until an open circuit lets a probe through; 0.0 unless open."""
        self._refresh()
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout_s - self._monotonic())

    # -- the call protocol ------------------------------------------------------------------------

    def acquire(self, endpoint: str) -> Permit:
        """Ask to make one call; raises ProviderError(CIRCUIT_OPEN) at once when not allowed.

        In half_open exactly one caller gets the probe permit; the others fail fast until the
        probe's outcome is recorded (or the probe is released)."""
        self._refresh()
        if self._state is BreakerState.CLOSED:
            return Permit(self._generation, probe=False)
        if self._state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            self._probe_done = asyncio.Event()
            return Permit(self._generation, probe=True)
        if self._state is BreakerState.OPEN:
            wait = math.ceil(self.seconds_to_half_open())
            detail = f"retry in {wait}s"
        else:
            wait = 0
            detail = "a probe request is in flight; retry shortly"
        cause = f" (last: {self._last_cause})" if self._last_cause else ""
        raise ProviderError(
            ErrorCode.CIRCUIT_OPEN,
            f"circuit open after {self.failure_threshold} consecutive failures{cause}; {detail}",
            provider=self.name,
            endpoint=endpoint,
            correlation_id=current_correlation_id(),
            retry_after_s=float(wait) if wait else None,
        )

    def record_success(self, permit: Permit) -> None:
        """The call got an answer from the provider."""
        if not self._current(permit):
            return
        if permit.probe:
            self._end_probe()
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def record_failure(self, exc: BaseException, permit: Permit) -> None:
        """The call failed with `exc`; only health failures count (others are answers)."""
        if not counts_against_health(exc):
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                self.release(permit)
            else:
                self.record_success(permit)
            return
        if not self._current(permit):
            return
        self._last_cause = _cause(exc)
        self._failures += 1
        if permit.probe:
            self._end_probe()
            self._open()
        elif self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold:
            self._open()

    def release(self, permit: Permit) -> None:
        """The call was abandoned without an outcome (cancelled, or refused by a rate limiter):
        free the probe slot so another caller can probe."""
        if permit.probe and self._current(permit):
            self._end_probe()

    async def call(self, endpoint: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` under the breaker (convenience for callers without their own protocol)."""
        permit = self.acquire(endpoint)
        try:
            result = await fn()
        except BaseException as exc:
            self.record_failure(exc, permit)
            raise
        self.record_success(permit)
        return result

    # -- internals --------------------------------------------------------------------------------

    def _current(self, permit: Permit) -> bool:
        return permit.generation == self._generation

    def _refresh(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._monotonic() - self._opened_at >= self.reset_timeout_s
        ):
            self._move(BreakerState.HALF_OPEN)

    def _end_probe(self) -> None:
        self._probe_in_flight = False
        if self._probe_done is not None:
            self._probe_done.set()  # wake the callers waiting for this probe's outcome
            self._probe_done = None

    def _open(self) -> None:
        self._opened_by = current_correlation_id()
        self._opened_at = self._monotonic()
        self._generation += 1  # outcomes of calls started before now no longer count
        self._end_probe()
        self._move(BreakerState.OPEN)

    def _move(self, to: BreakerState) -> None:
        self.transitions.append(Transition(self._monotonic(), self._state, to))
        # WARNING for every change: an outage's start and end must be findable in the log file.
        # The line carries the correlation id of the call that caused it (the logging filter).
        if to is BreakerState.OPEN:
            why = f" after {self._failures} consecutive failures (last: {self._last_cause})"
        else:
            why = f" (opened by [{self._opened_by or '-'}])"
        log.warning(
            "%s circuit %s -> %s%s",
            self.name,
            self._state.value,
            to.value,
            why,
            extra=FILE_FIRST,
        )
        self._state = to


def _cause(exc: BaseException) -> str:
    """A short description of a health failure (its code and the start of its message)."""
    text = f"{exc.code}: {exc.message}" if isinstance(exc, IvCrushError) else type(exc).__name__
    return text if len(text) <= CAUSE_CHARS else text[: CAUSE_CHARS - 3] + "..."
