"""Tradier market-streaming events (reference/provider-apis.md §1.11): the frozen records and the
parser of one line of the stream.

One line is one JSON object (`linebreak=true`); a bare line is a keep-alive. Numbers may arrive
as JSON numbers or as strings, dates as epoch milliseconds (number or string). Symbols are kept
as the stream spells them: OCC option symbols upper-case, share classes with Tradier's "/"
converted to our "." (BRK/B -> BRK.B), so they match the symbols the engine subscribed.

Units: prices in dollars per share, sizes and volumes in shares (options: contracts), instants
as aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ivcrush_tui.calendar import UTC
from ivcrush_tui.providers.http import PayloadError, opt_float, opt_int, opt_str, req_str
from ivcrush_tui.symbols import from_tradier, is_occ_symbol

__all__ = [
    "EVENT_TYPES",
    "KEEPALIVE",
    "Keepalive",
    "StreamEvent",
    "StreamQuote",
    "StreamSummary",
    "StreamTimesale",
    "StreamTrade",
    "parse_event_line",
]

EVENT_TYPES: Final = ("quote", "trade", "summary", "timesale", "tradex")
MAX_EPOCH_MS: Final = 4_102_444_800_000  # 2100-01-01: a larger "date" is garbage, not an instant


@dataclass(frozen=True, slots=True)
class StreamQuote:
    """Top of book. bid/ask in dollars per share (None when the side is empty); sizes in
    round lots as the exchange reports them; bid_at/ask_at: when each side was set."""

    symbol: str
    bid: float | None
    ask: float | None
    bid_size: int | None = None
    ask_size: int | None = None
    bid_exchange: str | None = None
    ask_exchange: str | None = None
    bid_at: dt.datetime | None = None
    ask_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class StreamTrade:
    """A print. price and last in dollars per share, size in shares (contracts for options),
    cum_volume: the day's volume so far; `tradex` events (trades of every venue) have this
    shape too."""

    symbol: str
    price: float
    size: int | None = None
    cum_volume: int | None = None
    last: float | None = None
    exchange: str | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """The day so far (dollars per share); sent when a symbol is subscribed and as it changes."""

    symbol: str
    open: float | None = None
    high: float | None = None
    low: float | None = None
    prev_close: float | None = None
    close: float | None = None


@dataclass(frozen=True, slots=True)
class StreamTimesale:
    """A time-and-sale print with the quote at the time (dollars per share)."""

    symbol: str
    last: float | None
    bid: float | None = None
    ask: float | None = None
    size: int | None = None
    at: dt.datetime | None = None
    seq: int | None = None
    flag: str | None = None
    cancel: bool = False
    correction: bool = False
    session: str | None = None


@dataclass(frozen=True, slots=True)
class Keepalive:
    """A bare line: the connection is alive, nothing happened."""


KEEPALIVE: Final = Keepalive()

StreamEvent = StreamQuote | StreamTrade | StreamSummary | StreamTimesale


def parse_event_line(line: bytes) -> StreamEvent | Keepalive:
    """One line of the stream (without its newline) -> an event, or KEEPALIVE for a blank line.

    Raises PayloadError for anything else: invalid or truncated JSON, a non-object, an unknown
    `type`, a missing symbol, a field of the wrong type (a non-numeric string for a number), a
    trade without a price. The stream's reader skips and counts those."""
    if not line.strip():
        return KEEPALIVE
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise PayloadError("not a JSON object (truncated or corrupt line)") from None
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    parse = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        raise PayloadError(f"unknown event type {str(kind)[:20]!r}")
    return parse(data)


def _symbol(data: dict[str, Any]) -> str:
    raw = req_str(data, "symbol").upper()
    return raw if is_occ_symbol(raw) else from_tradier(raw)


def _instant(data: dict[str, Any], field: str) -> dt.datetime | None:
    """Epoch ms (number or string) -> aware UTC; None for missing, null or 0 (never)."""
    value = opt_int(data, field)
    if value is None or value == 0:
        return None
    if not 0 < value <= MAX_EPOCH_MS:
        raise PayloadError(f"field {field!r} is not an epoch-ms instant")
    return dt.datetime.fromtimestamp(value / 1000.0, UTC)


def _flag(data: dict[str, Any], field: str) -> bool:
    value = data.get(field)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise PayloadError(f"field {field!r} is not a boolean")


def _price(data: dict[str, Any], field: str) -> float | None:
    value = opt_float(data, field)
    if value is not None and value < 0:
        raise PayloadError(f"field {field!r} is a negative price")
    return value


# Each event's fields as (field, reader, wire key); every parser reads the symbol first.
_Field = tuple[str, Callable[[dict[str, Any], str], Any], str]
_QUOTE_FIELDS: Final[tuple[_Field, ...]] = (
    ("bid", _price, "bid"),
    ("ask", _price, "ask"),
    ("bid_size", opt_int, "bidsz"),
    ("ask_size", opt_int, "asksz"),
    ("bid_exchange", opt_str, "bidexch"),
    ("ask_exchange", opt_str, "askexch"),
    ("bid_at", _instant, "biddate"),
    ("ask_at", _instant, "askdate"),
)
_TRADE_FIELDS: Final[tuple[_Field, ...]] = (
    ("size", opt_int, "size"),
    ("cum_volume", opt_int, "cvol"),
    ("last", _price, "last"),
    ("exchange", opt_str, "exch"),
    ("at", _instant, "date"),
)
_SUMMARY_FIELDS: Final[tuple[_Field, ...]] = (
    ("open", _price, "open"),
    ("high", _price, "high"),
    ("low", _price, "low"),
    ("prev_close", _price, "prevClose"),
    ("close", _price, "close"),
)
_TIMESALE_FIELDS: Final[tuple[_Field, ...]] = (
    ("last", _price, "last"),
    ("bid", _price, "bid"),
    ("ask", _price, "ask"),
    ("size", opt_int, "size"),
    ("at", _instant, "date"),
    ("seq", opt_int, "seq"),
    ("flag", opt_str, "flag"),
    ("cancel", _flag, "cancel"),
    ("correction", _flag, "correction"),
    ("session", opt_str, "session"),
)


def _fields(data: dict[str, Any], spec: tuple[_Field, ...]) -> dict[str, Any]:
    return {name: read(data, key) for name, read, key in spec}


def _quote(data: dict[str, Any]) -> StreamQuote:
    return StreamQuote(symbol=_symbol(data), **_fields(data, _QUOTE_FIELDS))


def _trade(data: dict[str, Any]) -> StreamTrade:
    price = _price(data, "price")
    if price is None:
        raise PayloadError("trade without a price")
    return StreamTrade(symbol=_symbol(data), price=price, **_fields(data, _TRADE_FIELDS))


def _summary(data: dict[str, Any]) -> StreamSummary:
    return StreamSummary(symbol=_symbol(data), **_fields(data, _SUMMARY_FIELDS))


def _timesale(data: dict[str, Any]) -> StreamTimesale:
    return StreamTimesale(symbol=_symbol(data), **_fields(data, _TIMESALE_FIELDS))


_PARSERS: Final[dict[str, Callable[[dict[str, Any]], StreamEvent]]] = {
    "quote": _quote,
    "trade": _trade,
    "tradex": _trade,
    "summary": _summary,
    "timesale": _timesale,
}
