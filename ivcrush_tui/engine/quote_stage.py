"""Where the tickers of the scans running stand to the shared ATM quote batches.

A quote batch is worth holding (requests scarce) or lingering on only while some ticker may still
add keys to it: one started and not yet past its quote lookup (it has neither found its quotes
in the cache nor joined a batch), or one not started that will start when a ticker in flight
finishes. A ticker past its lookup adds no keys: waiting for it (its chain, its store reads) only
holds the others back; that is what made a warm rescan's results all wait for one held batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from contextvars import ContextVar


@dataclasses.dataclass(slots=True)
class ScanStages:
    """One scan's tickers: not started, started and not past their quote lookup, started and
    not finished."""

    queued: int
    joining: int = 0
    in_flight: int = 0


@dataclasses.dataclass(slots=True)
class _Ticker:
    scan: ScanStages
    passed: bool = False


_current: ContextVar[_Ticker | None] = ContextVar("ivcrush_quote_stage", default=None)


class QuoteStages:
    """The counts of every scan running; `on_change` is called when a ticker passes its lookup
    or finishes (the batch may then be complete)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._scans: list[ScanStages] = []
        self._on_change = on_change

    @contextlib.contextmanager
    def scan(self, tickers: int) -> Iterator[ScanStages]:
        """Count a scan of `tickers` tickers while it runs."""
        stages = ScanStages(queued=tickers)
        self._scans.append(stages)
        try:
            yield stages
        finally:
            self._scans.remove(stages)

    @contextlib.contextmanager
    def ticker(self, stages: ScanStages) -> Iterator[None]:
        """One ticker of `stages`' scan, from its start (past the scan's gate) to its end: the
        block runs in its own context (a task), where `passed` finds it."""
        ticker = _Ticker(stages)
        stages.queued -= 1
        stages.joining += 1
        stages.in_flight += 1
        token = _current.set(ticker)
        try:
            yield
        finally:
            _current.reset(token)
            stages.in_flight -= 1
            self._pass(ticker)
            self._on_change()

    def leave_queue(self, stages: ScanStages) -> None:
        """A ticker that never started (cancelled at the gate)."""
        stages.queued -= 1
        self._on_change()

    def passed(self, *, notify: bool = True) -> None:
        """The current ticker has looked its ATM quotes up (found, needs none, or is about to
        join a batch: then `notify=False`, its own `get` asks whether the batch is complete)."""
        ticker = _current.get()
        if ticker is not None and not ticker.passed:
            self._pass(ticker)
            if notify:
                self._on_change()

    @staticmethod
    def _pass(ticker: _Ticker) -> None:
        if not ticker.passed:
            ticker.passed = True
            ticker.scan.joining -= 1

    def complete(self, waiting: int) -> bool:
        """No ticker will add keys to a batch that `waiting` callers wait on: none is before its
        lookup, and none is queued unless every ticker in flight waits on the batch (then none
        finishes to let a queued one start)."""
        for s in self._scans:
            if s.joining > 0 or (s.queued > 0 and waiting < s.in_flight):
                return False
        return True
