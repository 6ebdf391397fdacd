"""Tradier payloads -> domain objects: pure parsers over decoded JSON (no I/O).

The wire format is reference/provider-apis.md Part 1. Tolerated quirks: the XML-to-JSON collapse
(a list of one is a bare value, an empty list is null, "null", {} or a missing key; one `as_list`
everywhere), both expiration shapes (`date` strings and `expiration` objects with
`strikes.strike`), `greeks` absent or null, `mid_iv` 0.0 (-> None), exponent floats, epoch-ms
dates, `updated_at` without a zone (read as UTC), unmatched symbols, closed calendar days without
hours. A field of the wrong type (e.g. "bid": "abc") raises PayloadError, which the client turns
into BAD_PAYLOAD naming the endpoint: a half-parsed chain must not be priced.

Cost matters here: a scan parses ~100 contracts per ticker (~40 % of a scan's client CPU before
these parsers were tuned). So the field coercers take exact-type fast paths (providers/http.py),
the OCC symbol is parsed only when a field must fall back to it, and the strings that repeat
across a chain (expiration dates, greeks timestamps) are converted once (small LRU caches of
immutable values).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import Any

from ivcrush_tui.calendar import NY, UTC, MarketState
from ivcrush_tui.domain import (
    Bar,
    ErrorCode,
    Expiration,
    OptionChain,
    OptionQuote,
    OptionType,
    StockQuote,
)
from ivcrush_tui.providers.base import CalendarDay, DayStatus, MarketClock
from ivcrush_tui.providers.http import PayloadError, opt_float, opt_int, opt_str, req_str
from ivcrush_tui.symbols import from_tradier, parse_occ

__all__ = [
    "STANDARD_CONTRACT_SIZE",
    "as_list",
    "classify_text",
    "fault_text",
    "parse_calendar",
    "parse_chain",
    "parse_clock",
    "parse_expirations",
    "parse_history",
    "parse_option",
    "parse_option_quotes",
    "parse_stock_quote",
    "parse_stock_quotes",
]

log = logging.getLogger(__name__)

STANDARD_CONTRACT_SIZE = 100
_STATES = {
    "premarket": MarketState.PREMARKET,
    "open": MarketState.REGULAR,
    "postmarket": MarketState.AFTER_HOURS,
    "closed": MarketState.CLOSED,
}
_KINDS = {"call": OptionType.CALL, "put": OptionType.PUT}
_INF = float("inf")


# -- envelope helpers ------------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("", "null")
    if isinstance(value, dict | list):
        return not value
    return False


def as_list(value: Any) -> list[Any]:
    """Undo Tradier's XML-to-JSON collapse: None, "null", "", {} and [] -> []; a list -> its
    non-empty items; any single value -> [value]."""
    if _is_empty(value):
        return []
    if isinstance(value, list):
        # Numbers (strikes) and non-empty objects (contracts) are never empty: skip the call.
        return [
            item
            for item in value
            if type(item) is float or (type(item) is dict and item) or not _is_empty(item)
        ]
    return [value]


def _section(obj: Any, key: str) -> dict[str, Any]:
    """obj[key] as an object: {} when it is null, "null", {}, [] or missing."""
    if not isinstance(obj, dict):
        raise PayloadError(f"expected an object holding {key!r}, got {type(obj).__name__}")
    value = obj.get(key)
    if _is_empty(value):
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{key!r} is {type(value).__name__}, expected an object")
    return value


def _items(obj: Any, outer: str, inner: str) -> list[Any]:
    """The list at obj[outer][inner], collapse undone."""
    return as_list(_section(obj, outer).get(inner))


def _objects(values: list[Any], what: str) -> list[dict[str, Any]]:
    out = []
    for value in values:
        if not isinstance(value, dict):
            raise PayloadError(f"{what} entry is {type(value).__name__}, expected an object")
        out.append(value)
    return out


def _date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise PayloadError(f"field {field!r} is {type(value).__name__}, expected YYYY-MM-DD")
    day = _iso_date(value)
    if day is None:
        raise PayloadError(f"field {field!r} has {value[:20]!r}, expected YYYY-MM-DD")
    return day


@functools.lru_cache(maxsize=1024)
def _iso_date(text: str) -> dt.date | None:
    # Every contract of a chain repeats its expiration date: convert each string once.
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _epoch(value: float | None) -> dt.datetime | None:
    """Epoch milliseconds (> 1e12) or seconds -> aware UTC; 0, negative or None -> None."""
    if value is None or value <= 0:
        return None
    seconds = value / 1000.0 if value > 1e12 else value
    try:
        return dt.datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _timestamp_field(obj: Mapping[str, Any], field: str) -> dt.datetime | None:
    """trade_date & co: epoch ms (current API) or an ISO string (2013-era payloads)."""
    value = obj.get(field)
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "").isdigit():
        return _aware_utc(value)
    return _epoch(opt_float(obj, field))


def _aware_utc(text: Any) -> dt.datetime | None:
    """A provider timestamp string -> aware UTC; a zone-less one is read as UTC (Tradier's
    greeks `updated_at`, see provider-apis.md 1.4). Unparseable -> None (metadata only)."""
    if not isinstance(text, str):
        return None
    return _aware_utc_text(text)


@functools.lru_cache(maxsize=1024)
def _aware_utc_text(text: str) -> dt.datetime | None:
    # The greeks of a whole chain usually share one `updated_at`.
    if not text.strip():
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


# -- payload parsers (pure) ------------------------------------------------------------------------


def _is_option(obj: Mapping[str, Any]) -> bool:
    return obj.get("type") == "option" or "option_type" in obj


def parse_stock_quote(obj: Mapping[str, Any]) -> StockQuote:
    """One Tradier stock quote object -> StockQuote (symbol in OUR form)."""
    return StockQuote(
        symbol=from_tradier(req_str(obj, "symbol")),
        last=opt_float(obj, "last"),
        bid=opt_float(obj, "bid"),
        ask=opt_float(obj, "ask"),
        prev_close=opt_float(obj, "prevclose"),
        volume=opt_int(obj, "volume"),
        timestamp=_timestamp_field(obj, "trade_date"),
        description=opt_str(obj, "description"),
        quote_timestamp=_latest(
            _timestamp_field(obj, "bid_date"), _timestamp_field(obj, "ask_date")
        ),
    )


def _latest(*stamps: dt.datetime | None) -> dt.datetime | None:
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


def parse_option(obj: Mapping[str, Any], *, underlying: str | None = None) -> OptionQuote:
    """One Tradier option object (chain entry or option quote) -> OptionQuote.

    Expiration, strike and type fall back to the OCC symbol when absent; the underlying falls back
    to `underlying`, then to the OCC root. `greeks` absent or null -> greeks None; mid_iv <= 0 ->
    None (ORATS sends 0.0 when it has no IV)."""
    symbol = req_str(obj, "symbol").upper()
    occ: tuple[str, dt.date, OptionType, float] | None = None  # parsed only when needed
    exp_text = obj.get("expiration_date")
    # None for "null", blank or malformed text: decided below.
    expiration = _iso_date(exp_text) if type(exp_text) is str else None
    if expiration is None and not _is_empty(exp_text):
        expiration = _date(exp_text, "expiration_date")  # raises the precise error
    if expiration is None:
        occ = parse_occ(symbol)
        if occ is None:
            raise PayloadError(f"option {symbol[:24]!r} has no expiration_date")
        expiration = occ[1]
    strike = opt_float(obj, "strike")
    if strike is None:
        occ = occ or parse_occ(symbol)
        if occ is None:
            raise PayloadError(f"option {symbol[:24]!r} has no strike")
        strike = occ[3]
    kind_text = opt_str(obj, "option_type")
    if kind_text is not None:
        kind = _KINDS.get(kind_text) or _KINDS.get(kind_text.lower())
        if kind is None:
            raise PayloadError(f"option_type {kind_text[:20]!r} is not call/put")
    else:
        occ = occ or parse_occ(symbol)
        if occ is None:
            raise PayloadError(f"option {symbol[:24]!r} has no option_type")
        kind = occ[2]
    under = opt_str(obj, "underlying") or underlying
    if not under:
        occ = occ or parse_occ(symbol)
        if occ is None:
            raise PayloadError(f"option {symbol[:24]!r} has no underlying")
        under = occ[0]

    greeks = obj.get("greeks")
    delta = gamma = theta = vega = mid_iv = None
    updated = None
    if greeks is not None and not _is_empty(greeks):
        if not isinstance(greeks, dict):
            raise PayloadError(f"greeks is {type(greeks).__name__}, expected an object")
        delta = opt_float(greeks, "delta")
        gamma = opt_float(greeks, "gamma")
        theta = opt_float(greeks, "theta")
        vega = opt_float(greeks, "vega")
        iv = opt_float(greeks, "mid_iv")
        mid_iv = iv if iv is not None and iv > 0 else None
        updated = _aware_utc(greeks.get("updated_at"))
    return OptionQuote(
        symbol=symbol,
        underlying=from_tradier(under),
        expiration=expiration,
        strike=strike,
        option_type=kind,
        bid=opt_float(obj, "bid"),
        ask=opt_float(obj, "ask"),
        last=opt_float(obj, "last"),
        volume=opt_int(obj, "volume") or 0,
        open_interest=opt_int(obj, "open_interest") or 0,
        mid_iv=mid_iv,
        delta=delta,
        gamma=gamma,
        theta=theta,
        vega=vega,
        greeks_updated=updated,
        root_symbol=opt_str(obj, "root_symbol"),
        expiration_type=opt_str(obj, "expiration_type"),
    )


def _strikes(value: Any) -> tuple[float, ...]:
    """strikes.strike (list, bare number or null) -> ascending unique positive strikes. The 2013
    nesting (strikes.adjustments...) has no `strike` key and yields ()."""
    # A bare list is tolerated too (some clients flatten strikes.strike).
    raw = as_list(value.get("strike")) if isinstance(value, dict) else as_list(value)
    out = set()
    for item in raw:
        strike: float | None
        # A positive finite float straight from the decoder needs no coercion.
        if type(item) is float and 0.0 < item < _INF:
            strike = item
        else:
            strike = opt_float({"strike": item}, "strike")
        if strike is None or strike <= 0:
            raise PayloadError(f"strike {item!r:.20} is not a positive number")
        out.add(strike)
    return tuple(sorted(out))


def parse_expirations(data: Any) -> tuple[Expiration, ...]:
    """Both shapes: `expiration` objects (strikes/contractSize/expirationType requested) and
    plain `date` strings; ascending by date, one entry per date."""
    section = _section(data, "expirations")
    found: dict[dt.date, Expiration] = {}
    for item in as_list(section.get("expiration")):
        if isinstance(item, str):
            day = _date(item, "expiration")
            found.setdefault(day, Expiration(day))
            continue
        if not isinstance(item, dict):
            raise PayloadError(f"expiration entry is {type(item).__name__}, expected an object")
        day = _date(item.get("date"), "date")
        size = opt_int(item, "contract_size")
        found.setdefault(
            day,
            Expiration(
                date=day,
                strikes=_strikes(item.get("strikes")),
                expiration_type=opt_str(item, "expiration_type"),
                contract_size=size if size is not None and size > 0 else STANDARD_CONTRACT_SIZE,
            ),
        )
    for item in as_list(section.get("date")):
        day = _date(item, "date")
        found.setdefault(day, Expiration(day))
    return tuple(found[d] for d in sorted(found))


def parse_chain(data: Any, symbol: str, expiration: dt.date) -> OptionChain:
    """{"options": {"option": ...}} -> OptionChain sorted by (strike, type). Contracts with a
    non-standard deliverable (contract_size != 100, after corporate actions) are dropped: their
    prices do not track the underlying one-for-one."""
    options = []
    dropped = 0
    for obj in _objects(_items(data, "options", "option"), "option"):
        size = opt_int(obj, "contract_size")
        if size is not None and size != STANDARD_CONTRACT_SIZE:
            dropped += 1
            continue
        options.append(parse_option(obj, underlying=symbol))
    if dropped:
        log.debug("%s %s: dropped %d non-standard contracts", symbol, expiration, dropped)
    options.sort(key=lambda q: (q.strike, q.option_type.value, q.symbol))
    return OptionChain(underlying=symbol, expiration=expiration, options=tuple(options))


def parse_history(data: Any, start: dt.date, end: dt.date) -> tuple[Bar, ...]:
    """{"history": {"day": ...}} -> bars within [start, end], ascending, one per day. Bars with a
    missing or non-positive price are skipped (never turned into 0)."""
    bars: dict[dt.date, Bar] = {}
    skipped = 0
    for obj in _objects(_items(data, "history", "day"), "history day"):
        day = _date(obj.get("date"), "date")
        prices = [opt_float(obj, k) for k in ("open", "high", "low", "close")]
        if any(p is None or p <= 0 for p in prices):
            skipped += 1
            continue
        o, h, lo, c = (float(p) for p in prices if p is not None)
        if start <= day <= end:
            bars[day] = Bar(day, o, h, lo, c, max(opt_int(obj, "volume") or 0, 0))
    if skipped:
        log.info("history: skipped %d bars without usable prices", skipped)
    return tuple(bars[d] for d in sorted(bars))


def parse_clock(data: Any) -> MarketClock:
    clock = _section(data, "clock")
    if not clock:
        raise PayloadError("empty clock")
    state_text = req_str(clock, "state").lower()
    next_text = opt_str(clock, "next_state")
    return MarketClock(
        day=_date(clock.get("date"), "date"),
        state=_STATES.get(state_text),
        state_text=state_text,
        timestamp=_epoch(opt_float(clock, "timestamp")),
        next_state=_STATES.get(next_text.lower()) if next_text else None,
        next_change=opt_str(clock, "next_change"),
        description=opt_str(clock, "description"),
    )


def _ny_time(day: dt.date, text: Any, field: str) -> dt.datetime | None:
    """ "HH:MM" New York wall time on `day` -> aware UTC (DST handled by zoneinfo)."""
    if _is_empty(text):
        return None
    if not isinstance(text, str):
        raise PayloadError(f"{field} is {type(text).__name__}, expected HH:MM")
    try:
        clock_time = dt.time.fromisoformat(text.strip())
    except ValueError:
        raise PayloadError(f"{field} has {text[:10]!r}, expected HH:MM") from None
    return dt.datetime.combine(day, clock_time, NY).astimezone(UTC)


def _hours(day: dt.date, value: Any, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    if _is_empty(value):
        return None, None
    if not isinstance(value, dict):
        raise PayloadError(f"{name} hours are {type(value).__name__}, expected an object")
    return (
        _ny_time(day, value.get("start"), f"{name}.start"),
        _ny_time(day, value.get("end"), f"{name}.end"),
    )


def parse_calendar(data: Any) -> tuple[CalendarDay, ...]:
    """Closed days carry no hours; "HH:MM" New York times -> aware UTC. A status other than
    open/closed is decided by the presence of regular hours."""
    cal = _section(data, "calendar")
    days: dict[dt.date, CalendarDay] = {}
    for obj in _objects(_items(cal, "days", "day"), "calendar day"):
        day = _date(obj.get("date"), "date")
        open_at, close_at = _hours(day, obj.get("open"), "open")
        pre_start, _ = _hours(day, obj.get("premarket"), "premarket")
        _, post_end = _hours(day, obj.get("postmarket"), "postmarket")
        status_text = (opt_str(obj, "status") or "").lower()
        if status_text == "closed":
            status = DayStatus.CLOSED
        elif status_text == "open" or open_at is not None:
            status = DayStatus.OPEN
        else:
            status = DayStatus.CLOSED
        days[day] = CalendarDay(
            day=day,
            status=status,
            open_at=open_at if status is DayStatus.OPEN else None,
            close_at=close_at if status is DayStatus.OPEN else None,
            premarket_start=pre_start if status is DayStatus.OPEN else None,
            postmarket_end=post_end if status is DayStatus.OPEN else None,
            description=opt_str(obj, "description"),
        )
    return tuple(days[d] for d in sorted(days))


def _quote_objects(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """{"quotes": {"quote": ..., "unmatched_symbols": {"symbol": ...}}} -> (objects, unmatched)."""
    section = _section(data, "quotes")
    objects = _objects(as_list(section.get("quote")), "quote")
    unmatched_section = section.get("unmatched_symbols")
    if isinstance(unmatched_section, dict):
        raw = as_list(unmatched_section.get("symbol"))
    else:
        raw = as_list(unmatched_section)
    return objects, [str(s).strip().upper() for s in raw]


def parse_stock_quotes(data: Any) -> tuple[list[StockQuote], list[str]]:
    """Stock quotes (option objects skipped) and the unmatched symbols (Tradier spelling)."""
    objects, unmatched = _quote_objects(data)
    return [parse_stock_quote(o) for o in objects if not _is_option(o)], unmatched


def parse_option_quotes(data: Any) -> list[OptionQuote]:
    """Option quotes (stock objects skipped)."""
    objects, _ = _quote_objects(data)
    return [parse_option(o) for o in objects if _is_option(o)]


# -- error bodies ----------------------------------------------------------------------------------


def fault_text(data: Any) -> str | None:
    """The message of an Apigee fault or a Tradier `errors` body, else None."""
    if not isinstance(data, dict):
        return None
    fault = data.get("fault")
    if isinstance(fault, dict):
        text = str(fault.get("faultstring") or "").strip()
        detail = fault.get("detail")
        code = str(detail.get("errorcode") or "") if isinstance(detail, dict) else ""
        return " ".join(p for p in (text, f"({code})" if code else "") if p) or "gateway fault"
    errors = data.get("errors")
    if _is_empty(errors):
        return None
    msgs = as_list(errors.get("error")) if isinstance(errors, dict) else as_list(errors)
    return " | ".join(str(m) for m in msgs) or "error"


def classify_text(text: str) -> ErrorCode:
    low = text.lower()
    if any(w in low for w in ("access token", "access_token", "unauthorized", "apiproduct")):
        return ErrorCode.AUTH
    if any(w in low for w in ("keymanagement", "oauth", "invalid api key")):
        return ErrorCode.AUTH
    if any(w in low for w in ("rate limit", "ratelimit", "quota", "too many", "spikearrest")):
        return ErrorCode.RATE_LIMITED
    if "identify proxy" in low or "applicationnotfound" in low:
        return ErrorCode.NOT_FOUND
    return ErrorCode.BAD_REQUEST
