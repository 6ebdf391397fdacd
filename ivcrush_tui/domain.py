"""Frozen dataclasses shared by every layer, and the typed errors.

Units: prices in dollars per share; implied volatilities as fractions per year (0.25 = 25 %);
timestamps are timezone-aware UTC datetimes; calendar days are `datetime.date` in exchange time
(America/New_York).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Timing(StrEnum):
    """When an earnings release happens relative to the regular session."""

    BMO = "BMO"  # before market open
    AMC = "AMC"  # after market close
    DMH = "DMH"  # during market hours
    UNKNOWN = "UNKNOWN"


class OptionType(StrEnum):
    CALL = "call"
    PUT = "put"


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A value that could not be computed, with the human-readable reason (shown as n/a)."""

    reason: str


@dataclass(frozen=True, slots=True)
class StockQuote:
    """A stock quote. Any price may be None (not quoted)."""

    symbol: str
    last: float | None
    bid: float | None
    ask: float | None
    prev_close: float | None
    volume: int | None = None
    timestamp: dt.datetime | None = None  # UTC time of the last trade, if known
    description: str | None = None
    quote_timestamp: dt.datetime | None = None  # UTC time of the latest bid/ask, if known


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One option contract as quoted. Greeks are the provider's (None when absent)."""

    symbol: str  # OCC symbol, e.g. AAPL260619C00200000
    underlying: str
    expiration: dt.date
    strike: float
    option_type: OptionType
    bid: float | None
    ask: float | None
    last: float | None = None
    volume: int = 0
    open_interest: int = 0
    mid_iv: float | None = None  # provider IV, fraction per year; None when absent or <= 0
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None  # per calendar day
    vega: float | None = None  # per 1 vol point
    greeks_updated: dt.datetime | None = None  # UTC
    root_symbol: str | None = None
    expiration_type: str | None = None  # "standard", "weeklys", "quarterlys", "eom", ...


@dataclass(frozen=True, slots=True)
class OptionChain:
    """The contracts of one expiration (complete, or only the strikes near the money)."""

    underlying: str
    expiration: dt.date
    options: tuple[OptionQuote, ...]


@dataclass(frozen=True, slots=True)
class Expiration:
    """A listed expiration with its strikes (strikes may be empty when not requested)."""

    date: dt.date
    strikes: tuple[float, ...] = ()
    expiration_type: str | None = None
    contract_size: int = 100


@dataclass(frozen=True, slots=True)
class Bar:
    """One daily OHLCV bar (a trading session), prices in dollars."""

    day: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True, slots=True)
class EarningsEvent:
    """An earnings release (past or upcoming) on report date `date` (exchange calendar day)."""

    symbol: str
    date: dt.date
    timing: Timing
    fiscal_date_ending: dt.date | None = None
    eps_estimate: float | None = None
    eps_reported: float | None = None
    name: str | None = None


class ErrorCode(StrEnum):
    """Stable failure codes shown to users, in JSON output and in the ledger."""

    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    PREMIUM = "premium"
    NOT_FOUND = "not_found"
    BAD_PAYLOAD = "bad_payload"
    BAD_REQUEST = "bad_request"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    CIRCUIT_OPEN = "circuit_open"
    INVALID_SYMBOL = "invalid_symbol"
    INVALID_QUOTE = "invalid_quote"
    CONFIG = "config"
    STORAGE = "storage"
    INTERRUPTED = "interrupted"
    INTERNAL = "internal"


class IvCrushError(Exception):
    """Base of every error ivcrush raises on purpose; `code` is stable, `message` is for humans."""

    def __init__(self, code: ErrorCode, message: str, *, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ProviderError(IvCrushError):
    """A data-provider failure, naming the provider and the endpoint (never a secret)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        provider: str,
        endpoint: str,
        correlation_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(code, message, correlation_id=correlation_id)
        self.provider = provider
        self.endpoint = endpoint
        self.retry_after_s = retry_after_s

    @property
    def transient(self) -> bool:
        """True when retrying the same request later may succeed."""
        return self.code in {ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED}

    def __str__(self) -> str:
        return f"[{self.code}] {self.provider} {self.endpoint}: {self.message}"
