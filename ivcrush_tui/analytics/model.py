"""The result types of the analytics: the inputs of one ticker's analysis and its `Analysis`.

Kept apart from `analysis.py` (which builds them) so that the scoring shared by the full analysis
and the streamed re-price (`scoring.py`, `reprice.py`) can build an `Analysis` too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from ivcrush_tui.analytics.consistency import ConsistencyStats
from ivcrush_tui.analytics.event_move import EventMove, VarianceSplit
from ivcrush_tui.analytics.greeks import StraddleGreeks
from ivcrush_tui.analytics.history import HistoryResult
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.liquidity import StraddleLiquidity
from ivcrush_tui.analytics.recommendation import Recommendation
from ivcrush_tui.analytics.schedule import EventSchedule
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.analytics.term import TermStructure
from ivcrush_tui.analytics.vrp import Tier, VrpResult
from ivcrush_tui.calendar import ExpirationInfo
from ivcrush_tui.domain import Bar, EarningsEvent, OptionChain, StockQuote, Unavailable

__all__ = ["Analysis", "AnalysisInputs", "ErrorInfo", "Status"]


class Status(StrEnum):
    OK = "ok"
    INSUFFICIENT_HISTORY = "insufficient_history"
    NO_EVENT = "no_event"
    NO_OPTIONS = "no_options"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A typed failure: stable `code`, human `message`, and the correlation id of the request."""

    code: str
    message: str
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class StaleMark:
    """Set on an analysis that is a ticker's last good result kept through failed refreshes
    (`engine.last_good.hold_last_good`): why the latest refresh failed, and since when (aware
    UTC: the first failed refresh of this outage)."""

    code: str
    message: str
    since: dt.datetime
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisInputs:
    """Everything `analyze` needs for one ticker, as fetched (no further I/O happens).

    `chains` holds the event expiration's full chain; other expirations may carry only the strikes
    around the money (enough for their ATM IV). `bars` are daily sessions, any order.
    """

    symbol: str
    now: dt.datetime  # aware UTC: "now" is explicit, never read from the wall clock
    quote: StockQuote | None
    upcoming: EarningsEvent | None
    expirations: tuple[dt.date, ...] = ()
    chains: tuple[OptionChain, ...] = ()
    bars: tuple[Bar, ...] = ()
    past_events: tuple[EarningsEvent, ...] = ()
    market_cap: float | None = None  # dollars, as the provider last described the company


@dataclass(frozen=True, slots=True)
class Analysis:
    """The complete analysis of one ticker. Sub-results are `Unavailable` (n/a + reason) or None
    when not reached (e.g. no event). Percentages are percent numbers (9.16 = 9.16 %)."""

    symbol: str
    as_of: dt.datetime
    status: Status
    error: ErrorInfo | None = None
    spot: float | None = None
    schedule: EventSchedule | None = None
    implied: ImpliedMove | Unavailable | None = None
    event_move: EventMove | Unavailable | None = None
    # The §3 decomposition (V_E, σ_o²): present even when the event move is n/a (V_E <= 0),
    # because the horizon-matched implied move of §5 is built from it.
    variance_split: VarianceSplit | Unavailable | None = None
    history: HistoryResult | None = None
    vrp: VrpResult | Unavailable | None = None
    consistency: ConsistencyStats | Unavailable | None = None
    skew: SkewFit | Unavailable | None = None
    term: TermStructure | None = None
    rv30: float | Unavailable | None = None  # fraction per year
    iv_rv: float | None = None
    liquidity: StraddleLiquidity | None = None
    greeks: StraddleGreeks | Unavailable | None = None
    call_iv: float | None = None  # ATM legs' IVs, fraction per year
    put_iv: float | None = None
    recommendation: Recommendation | None = None
    notes: tuple[str, ...] = field(default=())
    # The event expiration's cycle (weekly/monthly) and settlement (AM/PM), and the company's
    # market cap in dollars: facts for the trader, not inputs to any figure above.
    expiration_info: ExpirationInfo | None = None
    market_cap: float | None = None
    # Aware UTC instant of the quote the figures were computed from (the stock quote's latest
    # trade or bid/ask update, or the streamed quote a re-price used); None when the provider
    # did not say. The watchlist's Age is its age.
    quote_time: dt.datetime | None = None
    # Set when this is the last good result kept because a later refresh failed; None for a
    # result fresh from the providers.
    stale: StaleMark | None = None

    @property
    def tier(self) -> Tier | None:
        """The VRP tier, only when scored (status ok)."""
        if self.status is not Status.OK or not isinstance(self.vrp, VrpResult):
            return None
        return self.vrp.tier

    @property
    def ok(self) -> bool:
        return self.status is Status.OK
