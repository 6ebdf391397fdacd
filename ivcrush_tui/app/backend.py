"""The only interface the console talks to. The real adapter over the engine lives in
`engine_backend.py`; tests use `tests/ui/fake_backend.py`.

Everything crossing this boundary is immutable (frozen dataclasses, tuples), so the UI can hold on
to what it receives without the engine mutating it underneath.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.domain import EarningsEvent
from ivcrush_tui.engine.health_model import HealthReport

if TYPE_CHECKING:
    # The store layer (aiosqlite) is not imported to build the app: the engine opens it.
    from ivcrush_tui.app.results_model import ResultsData

# Breaker states as the engine reports them.
BREAKER_CLOSED = "closed"
BREAKER_OPEN = "open"
BREAKER_HALF_OPEN = "half_open"

# Keys of the persisted UI preferences (values are strings).
PREF_THEME = "ui.theme"
PREF_SORT_COLUMN = "ui.watchlist.sort_column"
PREF_SORT_DIR = "ui.watchlist.sort_dir"  # "asc" | "desc"
PREF_RESULTS_SORT_COLUMN = "ui.results.sort_column"
PREF_RESULTS_SORT_DIR = "ui.results.sort_dir"  # "asc" | "desc"


@dataclass(frozen=True, slots=True)
class ProviderBadge:
    """One provider as the status bar shows it."""

    name: str
    breaker: str  # "closed" | "open" | "half_open"
    ok: bool


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Cheap, synchronous summary for the status bar (read about once a second)."""

    demo: bool
    badges: tuple[ProviderBadge, ...]
    av_quota_left: int | None  # Alpha Vantage requests left today
    av_quota_total: int | None
    tradier_budget_left: int | None  # Tradier requests left in the current rate window
    last_scan_at: datetime | None  # aware UTC
    # The market stream: "LIVE" (quotes stream in) or "POLL" (REST refreshes; stream_reason says
    # why); None when the backend has no stream at all. streamed: tickers the stream keeps
    # current (the timer's rescans leave them out); events_per_s: streamed events per second.
    stream_mode: str | None = None
    stream_reason: str | None = None
    streamed: frozenset[str] = frozenset()
    events_per_s: float = 0.0
    # Set in replay (`ivcrush replay`): the badge shown instead of DEMO/LIVE, e.g.
    # "REPLAY 2026-11-23 4×"; the clock then shows the recorded time.
    replay: str | None = None


@runtime_checkable
class Backend(Protocol):
    """What the console needs from the engine. Methods never raise for a provider failure that
    concerns one symbol: `scan`/`analyze` return an `Analysis` with status `error` instead."""

    calendar: TradingCalendar

    @property
    def demo(self) -> bool: ...

    def now(self) -> datetime:
        """Aware UTC "now"; the app never reads the wall clock itself."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
        """Analyse `symbols` concurrently, yielding each result as it completes."""
        ...

    async def analyze(self, symbol: str) -> Analysis: ...

    def live_updates(self) -> AsyncIterator[tuple[Analysis, ...]]:
        """Batches of analyses re-priced from streamed quotes (or re-picked / refreshed by
        REST while streaming), as they are made; never ends while the backend runs (yields
        nothing when the stream is off or polling)."""
        ...

    async def watchlist(self) -> list[str]: ...

    async def add_to_watchlist(self, symbols: Sequence[str]) -> None:
        """Committed to the store before returning."""
        ...

    async def remove_from_watchlist(self, symbols: Sequence[str]) -> None: ...

    async def check_symbol(self, symbol: str) -> str | None:
        """None when the provider knows `symbol`, else the reason it cannot be used."""
        ...

    async def upcoming_events(self, start: date, end: date) -> list[EarningsEvent]:
        """Earnings events with start <= date <= end (exchange days)."""
        ...

    async def health(self, *, probe: bool = False) -> HealthReport:
        """Every component's health; `probe` asks Tradier even when a recent call answers for
        it (see engine/health.py)."""
        ...

    def status(self) -> StatusSnapshot: ...

    async def results(self) -> ResultsData:
        """The ledger of this mode (live or demo): its decisions, the per-tier and
        per-recommendation summary and the chart series, computed off the console's loop."""
        ...

    async def decision_snapshot(self, snapshot_id: int) -> dict[str, object] | None:
        """The analysis object (docs/JSON.md) a decision was made from, as stored at decision
        time; None when it is missing or unreadable (never raised for a bad payload)."""
        ...

    async def decision_analysis(self, snapshot_id: int) -> Analysis | None:
        """The exact analysis a decision was made from (stored since schema v11), for the
        drill-down frozen at decision time; None when it is absent, the row predates v11, or it
        does not decode (logged once, never raised for bad data)."""
        ...

    def subscribe_alerts(self, listener: Callable[[Alert], None]) -> None:
        """Call `listener(alert)` for each alert fired from now on (ivcrush_tui.alerts). It may
        be called from the engine's thread: it must only hand the alert over (post a message)."""
        ...

    async def get_pref(self, key: str) -> str | None: ...

    async def set_pref(self, key: str, value: str) -> None: ...
