"""The console's backend in replay (`ivcrush replay DATE`): a recorded day instead of the engine.

The clock follows the recording: it starts at the day's first recorded instant and runs at
`speed` times real time (monotonic, injected), stopping at the last one. A scan yields, for each
symbol, the latest analysis recorded at or before that instant; the watchlist is the recorded
symbols. Nothing reaches a provider (there is none) and nothing is written: watchlist edits are
refused with a clear message, preferences (theme, sort) last for the session only. The Results
screen shows the ledger as it was read when the replay opened; a decision's snapshot and its exact
analysis are read from the store when asked for (a read, never a write). No alert fires in a
replay (the day's alerts were stored when they fired: `ivcrush alerts`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from ivcrush_tui.analytics.analysis import Analysis, ErrorInfo, Status
from ivcrush_tui.analytics.recommendation import Action, Recommendation
from ivcrush_tui.app.backend import StatusSnapshot
from ivcrush_tui.calendar import TradingCalendar, default_calendar
from ivcrush_tui.domain import EarningsEvent, ErrorCode, IvCrushError
from ivcrush_tui.engine.health_model import ComponentHealth, HealthReport, HealthStatus
from ivcrush_tui.engine.recorded import RecordedQuote
from ivcrush_tui.engine.replay import Recording

if TYPE_CHECKING:
    from ivcrush_tui.alerts.model import Alert
    from ivcrush_tui.app.results_model import ResultsData

SnapshotReader = Callable[[int], Awaitable["dict[str, object] | None"]]
AnalysisReader = Callable[[int], Awaitable[Analysis | None]]

READ_ONLY: Final = "replay is read-only: the watchlist cannot be changed"


class ReplayClock:
    """The recording's time: `start` + elapsed real seconds × `speed`, held at `end`."""

    def __init__(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("replay speed must be > 0")
        self.start, self.end, self.speed = start, max(start, end), speed
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now(self) -> dt.datetime:
        elapsed = max(0.0, self._monotonic() - self._t0) * self.speed
        return min(self.end, self.start + dt.timedelta(seconds=elapsed))

    @property
    def finished(self) -> bool:
        return self.now() >= self.end


class ReplayBackend:
    """`Backend` over a loaded `Recording` (see the module docstring)."""

    def __init__(
        self,
        recording: Recording,
        *,
        demo: bool,
        clock: ReplayClock,
        prefs: Mapping[str, str] | None = None,
        calendar: TradingCalendar | None = None,
        ledger: ResultsData | None = None,
        snapshots: SnapshotReader | None = None,
        analyses: AnalysisReader | None = None,
    ) -> None:
        """`ledger`: the Results screen's data (None: an empty ledger); `snapshots(id)` reads a
        decision's snapshot and `analyses(id)` its exact analysis (None: none can be read)."""
        self.recording = recording
        self._ledger = ledger
        self._snapshots = snapshots
        self._analyses = analyses
        self.calendar = calendar or default_calendar()
        self.clock = clock
        self._demo = demo
        self._prefs = dict(prefs or {})
        self._last_scan_at: dt.datetime | None = None

    @property
    def demo(self) -> bool:
        return self._demo

    def now(self) -> dt.datetime:
        return self.clock.now()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    # -- analyses ------------------------------------------------------------------------

    def _at(self, symbol: str, now: dt.datetime) -> Analysis | None:
        try:
            return self.recording.analysis_at(symbol, now)
        except IvCrushError as exc:  # a damaged row found late: that row only fails
            return _not_recorded(symbol, now, exc.message)

    async def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
        """The latest recorded analysis of each symbol at the replay clock (symbols not yet
        analysed at that instant are left out)."""
        now = self.now()
        for symbol in symbols:
            found = self._at(symbol, now)
            if found is not None:
                yield found
        self._last_scan_at = now

    async def analyze(self, symbol: str) -> Analysis:
        now = self.now()
        found = self._at(symbol, now)
        if found is None:
            return _not_recorded(
                symbol, now, f"no analysis of {symbol} recorded by {now.isoformat()}"
            )
        return found

    async def live_updates(self) -> AsyncIterator[tuple[Analysis, ...]]:
        """Nothing is streamed in a replay: the rescans follow the recording's clock."""
        nothing: tuple[tuple[Analysis, ...], ...] = ()
        for batch in nothing:  # an async generator that ends at once
            yield batch

    def quotes(self, symbol: str, start: dt.datetime, end: dt.datetime) -> list[RecordedQuote]:
        """The recorded quotes of `symbol` with start <= at < end (for a streamed-quote view)."""
        return self.recording.quotes(symbol, start, end)

    # -- read-only store -----------------------------------------------------------------

    async def watchlist(self) -> list[str]:
        return list(self.recording.symbols)

    async def add_to_watchlist(self, symbols: Sequence[str]) -> None:
        raise IvCrushError(ErrorCode.CONFIG, READ_ONLY)

    async def remove_from_watchlist(self, symbols: Sequence[str]) -> None:
        raise IvCrushError(ErrorCode.CONFIG, READ_ONLY)

    async def check_symbol(self, symbol: str) -> str | None:
        return READ_ONLY

    async def upcoming_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        """The recorded names' events with start <= date <= end (from their first analysis)."""
        events: dict[str, EarningsEvent] = {}
        for symbol in self.recording.symbols:
            first = self.recording.first_analysis(symbol)
            if first is not None and first.schedule is not None:
                ev = first.schedule.event
                if start <= ev.date <= end:
                    events[symbol] = ev
        return sorted(events.values(), key=lambda e: (e.date, e.symbol))

    async def health(self, *, probe: bool = False) -> HealthReport:
        rec = self.recording
        detail = (
            f"replay of {rec.day.isoformat()} at {self.clock.speed:g}×: "
            f"{len(rec.symbols)} names, {rec.analysis_count} analyses, {rec.quote_count} quotes"
            " recorded; no provider is called"
        )
        return HealthReport(
            checked_at=self.now(),
            demo=self._demo,
            components=(ComponentHealth("replay", HealthStatus.HEALTHY, detail),),
        )

    def status(self) -> StatusSnapshot:
        return StatusSnapshot(
            demo=self._demo,
            badges=(),
            av_quota_left=None,
            av_quota_total=None,
            tradier_budget_left=None,
            last_scan_at=self._last_scan_at,
            replay=f"REPLAY {self.recording.day.isoformat()} {self.clock.speed:g}×",
        )

    async def results(self) -> ResultsData:
        from ivcrush_tui.app.results_model import build_results

        if self._ledger is None:
            self._ledger = build_results((), "demo" if self._demo else "live")
        return self._ledger

    async def decision_snapshot(self, snapshot_id: int) -> dict[str, object] | None:
        if self._snapshots is None:
            return None
        return await self._snapshots(snapshot_id)

    async def decision_analysis(self, snapshot_id: int) -> Analysis | None:
        if self._analyses is None:
            return None
        return await self._analyses(snapshot_id)

    def subscribe_alerts(self, listener: Callable[[Alert], None]) -> None:
        return None  # no rule runs in a replay

    async def get_pref(self, key: str) -> str | None:
        return self._prefs.get(key)

    async def set_pref(self, key: str, value: str) -> None:
        self._prefs[key] = value  # this session only: a replay writes nothing


def _not_recorded(symbol: str, now: dt.datetime, message: str) -> Analysis:
    return Analysis(
        symbol=symbol,
        as_of=now,
        status=Status.ERROR,
        error=ErrorInfo(ErrorCode.NOT_FOUND, message),
        recommendation=Recommendation(Action.SKIP, (message,)),
    )
