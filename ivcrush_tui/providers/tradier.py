"""Tradier market data: quotes, expirations, chains, history, clock and calendar.

Implements QuoteSource, ChainSource, HistorySource and MarketCalendarSource (providers/base.py)
over the wire format of reference/provider-apis.md Part 1. Every request sends
`Accept: application/json` (the default is XML) and `Authorization: Bearer <token>`; the token
appears nowhere else (not in URLs, cache keys, messages or logs).

Request budget per ticker (a scan of N names, cold cache):
- stock quote: batched across tickers, up to QUOTE_CHUNK (400) symbols per /markets/quotes
  request (POST form above 50 symbols or a long query): ~1/100 request per ticker;
- expirations: one GET /markets/options/expirations with strikes=true (the strikes come with it,
  so no per-expiration strikes call), cached 6 h;
- event-expiration chain: one GET /markets/options/chains with greeks=true, cached 30 s;
- term structure: ATM call+put at the two strikes bracketing spot for the other expirations of
  the term curve (~16-32 OCC symbols), batched with other tickers' through /markets/quotes (the
  engine's Coalescer, up to QUOTE_CHUNK symbols a request): ~0.07-0.2 requests per ticker; a
  batch is cached per underlying, so one ticker's quotes are found alone (cached_option_quotes);
- daily history: one GET /markets/history the first time, then only the missing days (the store
  keeps the bars), cached 12 h.
Cold, that is ~3.1 requests per ticker (expirations + chain + history + ~0.1 shared quotes), or
~2.1 with the history stored. A repeat scan the same day costs ~1.1 per ticker (chain + shared
quotes: expirations are cached, bars stored): 100 tickers fit one 120/min window.
The clock is never cached; the calendar is cached 24 h.

Payload parsing (and the quirks it tolerates) lives in providers/tradier_parse.py; a payload of
the wrong shape fails the whole response as BAD_PAYLOAD naming the endpoint.

Errors: 401/403 -> AUTH; 429 -> RATE_LIMITED with retry_after_s from Retry-After or
X-Ratelimit-Expiry (epoch ms, or s when <= 1e12); 5xx -> UNAVAILABLE; 404 -> see below; other
4xx -> BAD_REQUEST; a 200 whose body is an `errors` or Apigee `fault` object -> the typed error.
404: market endpoints answer "no data" with 200 + null, never 404, and Tradier is known to return
404 transiently. So a 404 carrying Apigee's "unable to identify proxy" fault (a wrong base_url) is
NOT_FOUND (permanent), and any other 404 is UNAVAILABLE (transient: the guard retries it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ivcrush_tui.calendar import UTC
from ivcrush_tui.domain import (
    Bar,
    ErrorCode,
    Expiration,
    IvCrushError,
    OptionChain,
    OptionQuote,
    ProviderError,
    StockQuote,
)
from ivcrush_tui.providers.base import CalendarDay, MarketClock, QuoteBatch, ResponseCache
from ivcrush_tui.providers.cache_scope import scoped_cache
from ivcrush_tui.providers.http import (
    CHAIN_MAX_BODY_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    body_text,
    cache_get,
    cache_put,
    decode_json,
    error_for_status,
    excerpt,
    merge_cache_ttls,
    run_parser,
    send,
)
from ivcrush_tui.providers.tradier_parse import (
    as_list,
    classify_text,
    fault_text,
    parse_calendar,
    parse_chain,
    parse_clock,
    parse_expirations,
    parse_history,
    parse_option,
    parse_option_quotes,
    parse_stock_quote,
    parse_stock_quotes,
)
from ivcrush_tui.providers.tradier_support import (
    _bounded_key,
    _by_underlying,
    _gather_all,
    _key,
    _per_underlying,
    _quote_key,
    _with_symbol,
    checked_base_and_token,
    error_detail,
    retry_after_s,
)
from ivcrush_tui.resilience.protocols import CallGuard, PassThroughGuard
from ivcrush_tui.symbols import parse_occ, to_tradier, validate_symbol

if TYPE_CHECKING:
    from ivcrush_tui.providers.tradier_stream import TradierStream

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
# Symbols per /markets/quotes request. Requests are the scarce resource (120 a minute), and a
# scan's ATM term quotes are ~25 OCC symbols per ticker: at 100 per request a 100-ticker scan
# needed ~30 quote requests on top of its ~100 chains, one window too many. Tradier documents no
# symbol limit for the POST form (GET is bounded by URL length, hence GET_MAX_*); 400 symbols
# are a ~8 KB form body and a ~0.4 MB JSON answer, well inside what clients are seen to send,
# and a 100-ticker scan's term quotes then take ~7 requests.
QUOTE_CHUNK = 400
GET_MAX_SYMBOLS = 50  # above this (or a long query) the quotes go as a POST form
GET_MAX_QUERY_CHARS = 1500
MAX_RETRY_AFTER_S = 120.0  # a window is 60 s; anything further is clock skew or garbage
MIN_SECRET_LEN = 4  # shorter "secrets" (never real tokens) would mask ordinary words

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


def _utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


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
        base, token = checked_base_and_token(base_url, token)
        ttls = merge_cache_ttls(DEFAULT_CACHE_TTLS, cache_ttls, "Tradier")
        self._http = http
        self._base = base
        self._token = token
        self._guard: CallGuard = guard if guard is not None else PassThroughGuard()
        self._cache = scoped_cache(cache, base, token)  # never shared across servers
        self._ttls = ttls
        self._clock = clock

    def __repr__(self) -> str:  # never show the token
        return f"TradierClient(base_url={self._base!r})"

    def open_stream(self, **kwargs: Any) -> TradierStream:
        """A market stream on this client's connection pool, host and token (no symbols yet);
        `kwargs` go to `TradierStream` (market_open, options, monotonic, ...)."""
        from ivcrush_tui.providers.tradier_stream import TradierStream  # only when streaming

        return TradierStream(self._http, base_url=self._base, token=self._token, **kwargs)

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

    async def cached_option_quotes(
        self, occ_symbols: Sequence[str]
    ) -> dict[str, OptionQuote] | None:
        """The quotes of exactly `occ_symbols` (one underlying's, say) from the cache alone, as
        a request of these symbols stored them or a batch they rode in (stored per underlying);
        None when not cached. No request is sent."""
        if self._ttls.get("quotes", 0.0) <= 0:
            return None
        wanted = {s.strip().upper() for s in occ_symbols}
        key = _bounded_key(_quote_key(wanted, True))
        if (raw := await cache_get(self._cache, NAMESPACES["quotes"], key)) is None:
            return None
        try:
            quotes = self._interpret("quotes", raw.encode("utf-8"), parse_option_quotes)
        except ProviderError:
            return None
        return {q.symbol: q for q in quotes if q.symbol in wanted}

    async def _quote_chunk(self, chunk: list[str], greeks: bool, parse: Callable[[Any], T]) -> T:
        joined = ",".join(chunk)
        fields = {"symbols": joined, "greeks": "true" if greeks else "false"}
        post = len(chunk) > GET_MAX_SYMBOLS or len(joined) > GET_MAX_QUERY_CHARS
        # Option quotes of several underlyings are stored per underlying (a batch's own key is
        # not asked again; one ticker's quotes are, see cached_option_quotes).
        groups = _by_underlying(chunk) if greeks else {}
        return await self._request(
            "quotes",
            "/markets/quotes",
            params=None if post else fields,
            form=fields if post else None,
            parse=parse,
            cache_key=_quote_key(chunk, greeks),
            split=(lambda raw: _per_underlying(raw, groups)) if len(groups) > 1 else None,
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
        split: Callable[[str], Mapping[str, str]] | None = None,
    ) -> T:
        """Cache lookup, then guard.run(one request + parse), then cache the raw body (or, with
        `split`, the entries it cuts the body into: key -> body)."""
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
                max_body_bytes=CHAIN_MAX_BODY_BYTES
                if endpoint == "chains"
                else DEFAULT_MAX_BODY_BYTES,
            )
            self._guard.observe_headers(response.headers)
            self._raise_for_status(response, endpoint)
            return self._interpret(endpoint, response.content, parse), body_text(response.content)

        result, raw = await self._guard.run(endpoint, attempt)
        if use_cache:
            assert key is not None
            entries = {key: raw} if split is None else split(raw)
            for k, body in entries.items():
                await cache_put(self._cache, namespace, _bounded_key(k), body, ttl)
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
        fault = fault_text(data)
        if fault is not None:
            code = classify_text(fault)
            raise ProviderError(
                code, f"error body: {self._excerpt(fault)}", provider=PROVIDER, endpoint=endpoint
            )
        return run_parser(lambda: parse(data), provider=PROVIDER, endpoint=endpoint)

    def _raise_for_status(self, response: httpx.Response, endpoint: str) -> None:
        status = response.status_code
        if 200 <= status <= 299:
            return
        detail = error_detail(response.content, self._secrets, endpoint=endpoint)
        if status in (401, 403):
            raise ProviderError(
                ErrorCode.AUTH,
                f"HTTP {status}: {detail or 'unauthorized'} (check the Tradier token; sandbox and "
                "production tokens differ)",
                provider=PROVIDER,
                endpoint=endpoint,
            )
        if status == 404:
            if classify_text(detail) is ErrorCode.NOT_FOUND:
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
        retry_after = (
            retry_after_s(response.headers, self._clock().timestamp(), MAX_RETRY_AFTER_S)
            if status in (429, 503)
            else None
        )
        raise error_for_status(
            status, provider=PROVIDER, endpoint=endpoint, detail=detail, retry_after_s=retry_after
        )

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self._token,) if len(self._token) >= MIN_SECRET_LEN else ()

    def _excerpt(self, text: str) -> str:
        return excerpt(text, self._secrets)
