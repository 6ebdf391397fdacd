"""Tradier market data: quotes, expirations, chains, history, clock and calendar.

Implements QuoteSource, ChainSource, HistorySource and MarketCalendarSource (providers/base.py)
over the wire format of reference/provider-apis.md Part 1. Every request sends
`Accept: application/json` (the default is XML) and `Authorization: Bearer <token>`; the token
appears nowhere else (not in URLs, cache keys, messages or logs).

Request budget per ticker (a scan of N names, cold cache):
- stock quote: batched across tickers, up to 100 symbols per /markets/quotes request (POST form
  above 50 symbols or a long query): ~1/100 request per ticker;
- expirations: one GET /markets/options/expirations with strikes=true (the strikes come with it,
  so no per-expiration strikes call), cached 6 h;
- event-expiration chain: one GET /markets/options/chains with greeks=true, cached 30 s;
- term structure: ATM call+put at the two strikes bracketing spot for the other expirations within
  60 days (~16-32 OCC symbols), batched with other tickers' through /markets/quotes (the engine's
  Coalescer): ~0.2-0.3 requests per ticker;
- daily history: one GET /markets/history the first time, then only the missing days (the store
  keeps the bars), cached 12 h.
Cold, that is ~3.3 requests per ticker (expirations + chain + history + ~0.3 shared quotes), so a
30-name scan needs ~100 requests: one 120/min window with a little room for retries. A repeat scan
the same day costs ~1.3 per ticker (chain + shared quotes: expirations are cached, bars stored).
The clock is never cached; the calendar is cached 24 h.

Tolerated quirks: the XML-to-JSON collapse (a list of one is a bare value, an empty list is null,
"null", {} or a missing key; one `as_list` everywhere), both expiration shapes (`date` strings and
`expiration` objects with `strikes.strike`), `greeks` absent or null, `mid_iv` 0.0 (-> None),
exponent floats, epoch-ms dates, `updated_at` without a zone (read as UTC), unmatched symbols,
closed calendar days without hours. A field of the wrong type (e.g. "bid": "abc") fails the whole
response as BAD_PAYLOAD naming the endpoint: a half-parsed chain must not be priced.

Errors: 401/403 -> AUTH; 429 -> RATE_LIMITED with retry_after_s from Retry-After or
X-Ratelimit-Expiry (epoch ms, or s when <= 1e12); 5xx -> UNAVAILABLE; 404 -> see below; other
4xx -> BAD_REQUEST; a 200 whose body is an `errors` or Apigee `fault` object -> the typed error.
404: market endpoints answer "no data" with 200 + null, never 404, and Tradier is known to return
404 transiently. So a 404 carrying Apigee's "unable to identify proxy" fault (a wrong base_url) is
NOT_FOUND (permanent), and any other 404 is UNAVAILABLE (transient: the guard retries it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from ivcrush_tui.calendar import NY, UTC, MarketState
from ivcrush_tui.domain import (
    Bar,
    ErrorCode,
    Expiration,
    IvCrushError,
    OptionChain,
    OptionQuote,
    OptionType,
    ProviderError,
    StockQuote,
)
from ivcrush_tui.providers.base import (
    CalendarDay,
    DayStatus,
    MarketClock,
    QuoteBatch,
    ResponseCache,
)
from ivcrush_tui.providers.http import (
    PayloadError,
    body_text,
    cache_get,
    cache_put,
    decode_json,
    error_for_status,
    excerpt,
    merge_cache_ttls,
    opt_float,
    opt_int,
    opt_str,
    req_str,
    run_parser,
    send,
)
from ivcrush_tui.resilience.protocols import CallGuard, PassThroughGuard
from ivcrush_tui.resilience.ratelimit import expiry_epoch_s
from ivcrush_tui.symbols import (
    from_tradier,
    parse_occ,
    to_tradier,
    validate_symbol,
)

__all__ = [
    "DEFAULT_CACHE_TTLS",
    "PROVIDER",
    "TradierClient",
    "as_list",
    "parse_expirations",
    "parse_option",
    "parse_stock_quote",
]

T = TypeVar("T")
log = logging.getLogger(__name__)

PROVIDER = "tradier"
QUOTE_CHUNK = 100  # symbols per /markets/quotes request
GET_MAX_SYMBOLS = 50  # above this (or a long query) the quotes go as a POST form
GET_MAX_QUERY_CHARS = 1500
MAX_RETRY_AFTER_S = 120.0  # a window is 60 s; anything further is clock skew or garbage
STANDARD_CONTRACT_SIZE = 100
MIN_SECRET_LEN = 4  # shorter "secrets" (never real tokens) would mask ordinary words
CACHE_KEY_MAX = 256  # longer normalised requests are keyed by their sha256

# Seconds each endpoint's raw body stays in the cache (0 = never cached).
DEFAULT_CACHE_TTLS: Mapping[str, float] = {
    "quotes": 30.0,
    "chains": 30.0,
    "expirations": 6 * 3600.0,
    "history": 12 * 3600.0,
    "calendar": 24 * 3600.0,
    "clock": 0.0,
}
NAMESPACES: Mapping[str, str] = {
    "quotes": "tradier.quotes",
    "chains": "tradier.chain",
    "expirations": "tradier.expirations",
    "history": "tradier.history",
    "calendar": "tradier.calendar",
    "clock": "tradier.clock",
}
_STATES = {
    "premarket": MarketState.PREMARKET,
    "open": MarketState.REGULAR,
    "postmarket": MarketState.AFTER_HOURS,
    "closed": MarketState.CLOSED,
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


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
        return [item for item in value if not _is_empty(item)]
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
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise PayloadError(f"field {field!r} has {value[:20]!r}, expected YYYY-MM-DD") from None


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
    if not isinstance(text, str) or not text.strip():
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
    )


def parse_option(obj: Mapping[str, Any], *, underlying: str | None = None) -> OptionQuote:
    """One Tradier option object (chain entry or option quote) -> OptionQuote.

    Expiration, strike and type fall back to the OCC symbol when absent; the underlying falls back
    to `underlying`, then to the OCC root. `greeks` absent or null -> greeks None; mid_iv <= 0 ->
    None (ORATS sends 0.0 when it has no IV)."""
    symbol = req_str(obj, "symbol").upper()
    occ = parse_occ(symbol)
    exp_text = obj.get("expiration_date")
    if not _is_empty(exp_text):
        expiration = _date(exp_text, "expiration_date")
    elif occ is not None:
        expiration = occ[1]
    else:
        raise PayloadError(f"option {symbol[:24]!r} has no expiration_date")
    strike = opt_float(obj, "strike")
    if strike is None:
        if occ is None:
            raise PayloadError(f"option {symbol[:24]!r} has no strike")
        strike = occ[3]
    kind_text = opt_str(obj, "option_type")
    if kind_text is not None:
        try:
            kind = OptionType(kind_text.lower())
        except ValueError:
            raise PayloadError(f"option_type {kind_text[:20]!r} is not call/put") from None
    elif occ is not None:
        kind = occ[2]
    else:
        raise PayloadError(f"option {symbol[:24]!r} has no option_type")
    under = opt_str(obj, "underlying") or underlying or (occ[0] if occ else None)
    if under is None:
        raise PayloadError(f"option {symbol[:24]!r} has no underlying")

    greeks = obj.get("greeks")
    delta = gamma = theta = vega = mid_iv = None
    updated = None
    if not _is_empty(greeks):
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


def _fault_text(data: Any) -> str | None:
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


def _classify_text(text: str) -> ErrorCode:
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


# -- the client ------------------------------------------------------------------------------------


class TradierClient:
    """Tradier market-data client (QuoteSource, ChainSource, HistorySource, MarketCalendarSource).

    base_url ends with /v1 (production https://api.tradier.com/v1, sandbox
    https://sandbox.tradier.com/v1). Every request goes cache -> guard.run(endpoint, attempt),
    where one attempt is one HTTP request plus its parse. `clock` (aware UTC "now") turns
    X-Ratelimit-Expiry into a retry delay. Raises IvCrushError(CONFIG) for a malformed base URL,
    token or TTL mapping."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        guard: CallGuard | None = None,
        cache: ResponseCache | None = None,
        cache_ttls: Mapping[str, float] | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        base = base_url.strip().rstrip("/")
        if not base.startswith(("http://", "https://")) or not base.endswith("/v1"):
            raise IvCrushError(
                ErrorCode.CONFIG, f"Tradier base_url must be an http(s) URL ending in /v1: {base!r}"
            )
        if not isinstance(token, str) or not token.strip():
            raise IvCrushError(ErrorCode.CONFIG, "the Tradier token is empty")
        token = token.strip()
        if any(c.isspace() or ord(c) < 32 or ord(c) > 126 for c in token):
            raise IvCrushError(
                ErrorCode.CONFIG, "the Tradier token contains spaces or non-printable characters"
            )
        ttls = merge_cache_ttls(DEFAULT_CACHE_TTLS, cache_ttls, "Tradier")
        self._http = http
        self._base = base
        self._token = token
        self._guard: CallGuard = guard if guard is not None else PassThroughGuard()
        self._cache = cache
        self._ttls = ttls
        self._clock = clock

    def __repr__(self) -> str:  # never show the token
        return f"TradierClient(base_url={self._base!r})"

    # -- QuoteSource -----------------------------------------------------------------------------

    async def stock_quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        """Quotes keyed by our symbol form. Symbols that are not valid tickers are reported in
        `unmatched` without being sent; so are those the provider did not return."""
        wanted: dict[str, str] = {}  # Tradier spelling -> ours
        order: list[str] = []
        invalid: list[str] = []
        for raw in symbols:
            try:
                ours = validate_symbol(raw)
            except IvCrushError:
                invalid.append(raw.strip().upper() if isinstance(raw, str) else repr(raw))
                continue
            tradier = to_tradier(ours)
            if tradier not in wanted:
                wanted[tradier] = ours
                order.append(ours)
        quotes: dict[str, StockQuote] = {}
        if wanted:
            for parsed, _ in await self._quote_chunks(list(wanted), False, parse_stock_quotes):
                for quote in parsed:
                    match = wanted.get(to_tradier(quote.symbol))
                    if match is not None:
                        quotes[match] = _with_symbol(quote, match)
        unmatched = tuple(s for s in order if s not in quotes) + tuple(invalid)
        if unmatched:
            log.debug("tradier quotes: unmatched %s", ", ".join(unmatched[:20]))
        return QuoteBatch(quotes=quotes, unmatched=unmatched)

    async def option_quotes(self, occ_symbols: Sequence[str]) -> dict[str, OptionQuote]:
        """Option quotes with greeks, keyed by the requested OCC symbol (upper-case). Symbols that
        are not OCC symbols are not sent; unknown ones are absent from the result."""
        wanted: list[str] = []
        seen: set[str] = set()
        for raw in occ_symbols:
            occ = raw.strip().upper() if isinstance(raw, str) else ""
            if parse_occ(occ) is None:
                log.debug("tradier option quotes: %r is not an OCC symbol", raw)
                continue
            if occ not in seen:
                seen.add(occ)
                wanted.append(occ)
        out: dict[str, OptionQuote] = {}
        if not wanted:
            return out
        for chunk in await self._quote_chunks(wanted, True, parse_option_quotes):
            for quote in chunk:
                if quote.symbol in seen:
                    out[quote.symbol] = quote
        return out

    async def _quote_chunks(
        self, symbols: list[str], greeks: bool, parse: Callable[[Any], T]
    ) -> list[T]:
        """One request per QUOTE_CHUNK symbols, concurrently; any failure fails the call."""
        chunks = [symbols[i : i + QUOTE_CHUNK] for i in range(0, len(symbols), QUOTE_CHUNK)]
        return await _gather_all([self._quote_chunk(chunk, greeks, parse) for chunk in chunks])

    async def _quote_chunk(self, chunk: list[str], greeks: bool, parse: Callable[[Any], T]) -> T:
        joined = ",".join(chunk)
        fields = {"symbols": joined, "greeks": "true" if greeks else "false"}
        post = len(chunk) > GET_MAX_SYMBOLS or len(joined) > GET_MAX_QUERY_CHARS
        key = f"greeks={fields['greeks']}&symbols={','.join(sorted(chunk))}"
        return await self._request(
            "quotes",
            "/markets/quotes",
            params=None if post else fields,
            form=fields if post else None,
            parse=parse,
            cache_key=key,
        )

    # -- ChainSource -----------------------------------------------------------------------------

    async def expirations(self, symbol: str) -> tuple[Expiration, ...]:
        """Listed expirations (standard root only) with their strikes, ascending; () if none."""
        tradier = to_tradier(self._symbol(symbol, "expirations"))
        params = {
            "symbol": tradier,
            "strikes": "true",
            "contractSize": "true",
            "expirationType": "true",
            "includeAllRoots": "false",
        }
        return await self._request(
            "expirations",
            "/markets/options/expirations",
            params=params,
            parse=parse_expirations,
            cache_key=_key(params),
        )

    async def chain(self, symbol: str, expiration: dt.date, *, greeks: bool = True) -> OptionChain:
        """All standard contracts of one expiration (empty when none is listed)."""
        ours = self._symbol(symbol, "chains")
        params = {
            "symbol": to_tradier(ours),
            "expiration": expiration.isoformat(),
            "greeks": "true" if greeks else "false",
        }
        return await self._request(
            "chains",
            "/markets/options/chains",
            params=params,
            parse=lambda data: parse_chain(data, ours, expiration),
            cache_key=_key(params),
        )

    # -- HistorySource ---------------------------------------------------------------------------

    async def daily_history(self, symbol: str, start: dt.date, end: dt.date) -> tuple[Bar, ...]:
        """Daily bars for start <= day <= end (inclusive), ascending; () for start > end or when
        the provider has none. Prices may not be dividend-adjusted (Tradier's caveat)."""
        ours = self._symbol(symbol, "history")
        if start > end:
            return ()
        params = {
            "symbol": to_tradier(ours),
            "interval": "daily",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        return await self._request(
            "history",
            "/markets/history",
            params=params,
            parse=lambda data: parse_history(data, start, end),
            cache_key=_key(params),
        )

    # -- MarketCalendarSource --------------------------------------------------------------------

    async def clock(self) -> MarketClock:
        """The market clock (never cached)."""
        return await self._request("clock", "/markets/clock", params=None, parse=parse_clock)

    async def calendar(self, year: int, month: int) -> tuple[CalendarDay, ...]:
        """The days of `month` (1-12) of `year`, ascending."""
        if not (1 <= month <= 12) or not (1900 <= year <= 2200):
            raise ProviderError(
                ErrorCode.BAD_REQUEST,
                f"no such month: {year}-{month}",
                provider=PROVIDER,
                endpoint="calendar",
            )
        params = {"month": f"{month:02d}", "year": f"{year:04d}"}
        return await self._request(
            "calendar", "/markets/calendar", params=params, parse=parse_calendar,
            cache_key=_key(params),
        )  # fmt: skip

    # -- plumbing --------------------------------------------------------------------------------

    def _symbol(self, symbol: str, endpoint: str) -> str:
        try:
            return validate_symbol(symbol)
        except IvCrushError as exc:
            raise ProviderError(
                ErrorCode.INVALID_SYMBOL, exc.message, provider=PROVIDER, endpoint=endpoint
            ) from None

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Authorization": f"Bearer {self._token}"}

    async def _request(
        self,
        endpoint: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        parse: Callable[[Any], T],
        form: Mapping[str, str] | None = None,
        cache_key: str | None = None,
    ) -> T:
        """Cache lookup, then guard.run(one request + parse), then cache the raw body."""
        ttl = self._ttls.get(endpoint, 0.0)
        namespace = NAMESPACES[endpoint]
        key = _bounded_key(cache_key) if cache_key is not None else None
        use_cache = self._cache is not None and key is not None and ttl > 0
        if use_cache:
            assert key is not None
            cached = await cache_get(self._cache, namespace, key)
            if cached is not None:
                try:
                    return self._interpret(endpoint, cached.encode("utf-8"), parse)
                except ProviderError as exc:
                    log.warning("tradier %s: ignoring unreadable cache entry: %s", endpoint, exc)

        async def attempt() -> tuple[T, str]:
            response = await send(
                self._http,
                "POST" if form is not None else "GET",
                self._base + path,
                provider=PROVIDER,
                endpoint=endpoint,
                params=params,
                data=form,
                headers=self._headers(),
                secrets=self._secrets,
            )
            self._guard.observe_headers(response.headers)
            self._raise_for_status(response, endpoint)
            return self._interpret(endpoint, response.content, parse), body_text(response.content)

        result, raw = await self._guard.run(endpoint, attempt)
        if use_cache:
            assert key is not None
            await cache_put(self._cache, namespace, key, raw, ttl)
        return result

    def _interpret(self, endpoint: str, body: bytes, parse: Callable[[Any], T]) -> T:
        data = decode_json(body, provider=PROVIDER, endpoint=endpoint)
        if not isinstance(data, dict):
            raise ProviderError(
                ErrorCode.BAD_PAYLOAD,
                f"expected a JSON object, got {type(data).__name__}",
                provider=PROVIDER,
                endpoint=endpoint,
            )
        fault = _fault_text(data)
        if fault is not None:
            code = _classify_text(fault)
            raise ProviderError(
                code, f"error body: {self._excerpt(fault)}", provider=PROVIDER, endpoint=endpoint
            )
        return run_parser(lambda: parse(data), provider=PROVIDER, endpoint=endpoint)

    def _raise_for_status(self, response: httpx.Response, endpoint: str) -> None:
        status = response.status_code
        if 200 <= status <= 299:
            return
        text = body_text(response.content)
        try:
            detail = _fault_text(
                decode_json(response.content, provider=PROVIDER, endpoint=endpoint)
            )
        except ProviderError:
            detail = None
        detail = self._excerpt(detail if detail is not None else text)
        if status in (401, 403):
            raise ProviderError(
                ErrorCode.AUTH,
                f"HTTP {status}: {detail or 'unauthorized'} (check the Tradier token; sandbox and "
                "production tokens differ)",
                provider=PROVIDER,
                endpoint=endpoint,
            )
        if status == 404:
            if _classify_text(detail) is ErrorCode.NOT_FOUND:
                raise ProviderError(
                    ErrorCode.NOT_FOUND,
                    f"HTTP 404: {detail} (check the Tradier base_url)",
                    provider=PROVIDER,
                    endpoint=endpoint,
                )
            raise ProviderError(
                ErrorCode.UNAVAILABLE,
                f"HTTP 404{': ' + detail if detail else ''} (Tradier returns transient 404s)",
                provider=PROVIDER,
                endpoint=endpoint,
            )
        retry_after = self._retry_after(response.headers) if status in (429, 503) else None
        raise error_for_status(
            status, provider=PROVIDER, endpoint=endpoint, detail=detail, retry_after_s=retry_after
        )

    def _retry_after(self, headers: httpx.Headers) -> float | None:
        """Seconds to wait: Retry-After (seconds) if sent, else X-Ratelimit-Expiry - now."""
        seconds: float | None = None
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                seconds = float(retry_after.strip())
            except ValueError:
                seconds = None
        if seconds is None:
            expiry = expiry_epoch_s(headers.get("x-ratelimit-expiry"))
            if expiry is not None:
                seconds = expiry - self._clock().timestamp()
        if seconds is None or not math.isfinite(seconds):
            return None
        return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self._token,) if len(self._token) >= MIN_SECRET_LEN else ()

    def _excerpt(self, text: str) -> str:
        return excerpt(text, self._secrets)


def _with_symbol(quote: StockQuote, symbol: str) -> StockQuote:
    if quote.symbol == symbol:
        return quote
    return StockQuote(
        symbol=symbol,
        last=quote.last,
        bid=quote.bid,
        ask=quote.ask,
        prev_close=quote.prev_close,
        volume=quote.volume,
        timestamp=quote.timestamp,
        description=quote.description,
    )


def _key(params: Mapping[str, str]) -> str:
    """A normalised request: sorted key=value pairs (never the token: it is a header)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def _bounded_key(key: str) -> str:
    if len(key) <= CACHE_KEY_MAX:
        return key
    return "sha256=" + hashlib.sha256(key.encode("utf-8")).hexdigest()


async def _gather_all(coros: list[Awaitable[T]]) -> list[T]:
    """Await all; if any failed, raise the first failure (after all have finished)."""
    if len(coros) == 1:
        return [await coros[0]]
    results = await asyncio.gather(*coros, return_exceptions=True)
    out: list[T] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        out.append(result)
    return out
