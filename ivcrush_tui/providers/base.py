"""The capability Protocols the engine depends on, and the provider-level records they return.

Symbols are always in our form ("BRK.B"); the clients translate to each provider's spelling.
Timestamps are aware UTC datetimes; calendar days are `datetime.date` in exchange time
(America/New_York). Every method raises only `ProviderError` (typed, with a code) on failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ivcrush_tui.calendar import MarketState
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    Expiration,
    OptionChain,
    OptionQuote,
    StockQuote,
)

__all__ = [
    "CalendarDay",
    "ChainSource",
    "CompanyOverview",
    "DayStatus",
    "EarningsSource",
    "HistorySource",
    "MarketCalendarSource",
    "MarketClock",
    "QuoteBatch",
    "QuoteSource",
    "ResponseCache",
]


@dataclass(frozen=True, slots=True)
class QuoteBatch:
    """Stock quotes keyed by OUR symbol form, and the requested symbols the provider did not know
    (or that were not valid tickers and so were never sent), in request order."""

    quotes: dict[str, StockQuote]
    unmatched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MarketClock:
    """The provider's market clock.

    `state` is None when the provider sent a state we do not know (`state_text` keeps it).
    `next_change` is the provider's "HH:MM" wall-clock time in New York, kept as text because the
    day it refers to is not stated (it may be the next session)."""

    day: dt.date
    state: MarketState | None
    state_text: str
    timestamp: dt.datetime | None  # UTC
    next_state: MarketState | None = None
    next_change: str | None = None
    description: str | None = None


class DayStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One day of the provider's market calendar; times are aware UTC datetimes (None when the
    day is closed or the provider gave no hours)."""

    day: dt.date
    status: DayStatus
    open_at: dt.datetime | None = None
    close_at: dt.datetime | None = None
    premarket_start: dt.datetime | None = None
    postmarket_end: dt.datetime | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CompanyOverview:
    """Company facts. Every field but `symbol` may be None; `found` is False when the provider had
    no data for the symbol at all (Alpha Vantage answers `{}`), which is not an error.

    market_cap and shares_outstanding are plain numbers (dollars, shares); dividend_yield is a
    fraction (0.0258 = 2.58 %); pe_ratio and beta are plain ratios."""

    symbol: str
    name: str | None = None
    sector: str | None = None
    industry: str | None = None
    market_cap: float | None = None
    exchange: str | None = None
    currency: str | None = None
    country: str | None = None
    asset_type: str | None = None
    shares_outstanding: float | None = None
    pe_ratio: float | None = None
    beta: float | None = None
    dividend_yield: float | None = None
    fiscal_year_end: str | None = None  # a month name, e.g. "December"
    latest_quarter: dt.date | None = None
    found: bool = True


class QuoteSource(Protocol):
    async def stock_quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        """Quotes for many tickers (batched: as few requests as possible)."""
        ...

    async def option_quotes(self, occ_symbols: Sequence[str]) -> dict[str, OptionQuote]:
        """Quotes (with provider greeks/IV) keyed by the requested OCC symbol (upper-case);
        symbols the provider does not know are simply absent."""
        ...


class ChainSource(Protocol):
    async def expirations(self, symbol: str) -> tuple[Expiration, ...]:
        """Listed expirations, ascending, each with its strikes (ascending); () when none."""
        ...

    async def chain(self, symbol: str, expiration: dt.date, *, greeks: bool = True) -> OptionChain:
        """Every contract of one expiration (empty `options` when none is listed)."""
        ...


class HistorySource(Protocol):
    async def daily_history(self, symbol: str, start: dt.date, end: dt.date) -> tuple[Bar, ...]:
        """Daily bars with start <= day <= end (both inclusive), ascending; () when none."""
        ...


class MarketCalendarSource(Protocol):
    async def clock(self) -> MarketClock: ...

    async def calendar(self, year: int, month: int) -> tuple[CalendarDay, ...]:
        """The days of one month (month 1-12), ascending."""
        ...


class EarningsSource(Protocol):
    async def earnings_calendar(self, horizon: str = "3month") -> tuple[EarningsEvent, ...]:
        """Upcoming releases of every covered company ("3month", "6month" or "12month")."""
        ...

    async def earnings_history(self, symbol: str) -> tuple[EarningsEvent, ...]:
        """Past (and possibly the next) quarterly releases of one company, ascending by date."""
        ...

    async def overview(self, symbol: str) -> CompanyOverview: ...


class ResponseCache(Protocol):
    """Raw response bodies per (namespace, normalised request). TTLs in seconds. Implemented by
    store.cache.HybridCache; the clients never cache an error."""

    async def get(self, namespace: str, key: str) -> str | None: ...

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None: ...
