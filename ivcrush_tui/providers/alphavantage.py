"""Alpha Vantage: the earnings calendar, past earnings, company overview and daily prices.

Implements EarningsSource (providers/base.py) plus `daily_series`, over the wire format of
reference/provider-apis.md Part 2. Alpha Vantage answers errors, throttling and premium denials
with HTTP 200 and a one-key JSON body (`Information`, `Note` or `Error Message`), so every body is
checked before it is parsed; the classification order matters (see `classify_message`). The
apikey travels in the query string: URLs are logged only through `redact_url`, and the key is
masked in every message (Alpha Vantage even echoes it: "We have detected your API key as ...").

Budget: the free key allows 25 requests per day. EARNINGS_CALENDAR (one request for every
company) is cached 12 h, EARNINGS 24 h, OVERVIEW 7 days, TIME_SERIES_DAILY 12 h. The client asks
for `outputsize=full` once; after the premium denial it remembers and asks for `compact` only.

Not errors: an unknown symbol answers `{}`. EARNINGS then yields (), OVERVIEW an overview with
`found=False` (every field None), TIME_SERIES_DAILY (). A calendar row with a bad date or
ticker is skipped and counted in a warning; a missing or unknown CSV header, a truncated body
(a row with the wrong field count, no final line break) or one with no valid row is BAD_PAYLOAD
and is never cached (see `parse_earnings_calendar_csv`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import httpx

from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    ErrorCode,
    IvCrushError,
    ProviderError,
)
from ivcrush_tui.providers.alphavantage_parse import (
    SERIES_KEY,
    parse_earnings,
    parse_earnings_calendar_csv,
    parse_overview,
    parse_time_series_daily,
    timing_from_text,
)
from ivcrush_tui.providers.base import CompanyOverview, ResponseCache
from ivcrush_tui.providers.cache_scope import scoped_cache
from ivcrush_tui.providers.http import (
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
from ivcrush_tui.resilience.protocols import CallGuard, PassThroughGuard
from ivcrush_tui.symbols import to_alphavantage, validate_symbol

__all__ = [
    "DEFAULT_CACHE_TTLS",
    "HORIZONS",
    "PROVIDER",
    "AlphaVantageClient",
    "classify_message",
    "parse_earnings",
    "parse_earnings_calendar_csv",
    "parse_overview",
    "parse_time_series_daily",
    "timing_from_text",
]

T = TypeVar("T")
log = logging.getLogger(__name__)

PROVIDER = "alphavantage"
HORIZONS = ("3month", "6month", "12month")
MESSAGE_KEYS = ("Error Message", "Information", "Note")
MESSAGE_EXCERPT = 300
MIN_SECRET_LEN = 4  # shorter "secrets" (never real keys) would mask ordinary words
BURST_RETRY_S = 1.5  # "1 request per second"
LEGACY_RETRY_S = 12.0  # "5 calls per minute"

DEFAULT_CACHE_TTLS: Mapping[str, float] = {
    "earnings_calendar": 12 * 3600.0,
    "earnings": 24 * 3600.0,
    "overview": 7 * 24 * 3600.0,
    "daily": 12 * 3600.0,
}
NAMESPACES: Mapping[str, str] = {
    "earnings_calendar": "alphavantage.earnings_calendar",
    "earnings": "alphavantage.earnings",
    "overview": "alphavantage.overview",
    "daily": "alphavantage.daily",
}
# The documented EARNINGS_CALENDAR header; timeOfTheDay (last) is newer and optional.


# -- message classification (pure) -----------------------------------------------------------------


def classify_message(text: str, *, has_symbol: bool) -> tuple[ErrorCode, float | None]:
    """(code, retry_after_s) of an Alpha Vantage message body, in this order:

    1. throttling, which also mentions "API key" and "premium" so it must come first:
       burst ("spreading out", "sparingly", "per second") -> RATE_LIMITED, retry after 1.5 s;
       legacy "call frequency" (5/min) or the older "higher API call volume" wording (a per-minute
       throttle that names no limit) -> RATE_LIMITED, retry after 12 s;
       "requests per day" / "calls per day" / "rate limit" -> QUOTA_EXHAUSTED (until the reset);
    2. "premium endpoint" / "premium feature" -> PREMIUM;
    3. "apikey is invalid" (or missing), the demo key -> AUTH;
    4. "Invalid API call" -> NOT_FOUND when the request named a symbol (the usual cause), else
       BAD_REQUEST;
    5. anything else -> BAD_PAYLOAD (an unrecognised message; not retried, it would burn quota).
    """
    low = " ".join(text.lower().split())
    if any(w in low for w in ("spreading out", "sparingly", "per second", "burst")):
        return ErrorCode.RATE_LIMITED, BURST_RETRY_S
    legacy = ("call frequency", "calls per minute", "requests per minute", "api call volume")
    if any(w in low for w in legacy):
        return ErrorCode.RATE_LIMITED, LEGACY_RETRY_S
    if any(w in low for w in ("requests per day", "calls per day", "rate limit", "daily limit")):
        return ErrorCode.QUOTA_EXHAUSTED, None
    if "premium endpoint" in low or "premium feature" in low:
        return ErrorCode.PREMIUM, None
    auth_words = ("apikey is invalid", "api key is invalid", "invalid api key", "apikey is missing")
    if any(w in low for w in auth_words) or "demo** api key" in low or "demo api key" in low:
        return ErrorCode.AUTH, None
    if "invalid api call" in low:
        return (ErrorCode.NOT_FOUND if has_symbol else ErrorCode.BAD_REQUEST), None
    return ErrorCode.BAD_PAYLOAD, None


class AlphaVantageClient:
    """Alpha Vantage client (EarningsSource + daily_series).

    base_url is the full /query URL. Every request goes cache -> guard.run(function, attempt),
    one attempt being one GET plus its parse; the guard's limiter owns the daily quota. Raises
    IvCrushError(CONFIG) for a malformed base URL, key or TTL mapping."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        guard: CallGuard | None = None,
        cache: ResponseCache | None = None,
        cache_ttls: Mapping[str, float] | None = None,
    ) -> None:
        base = base_url.strip()
        if not base.startswith(("http://", "https://")):
            raise IvCrushError(
                ErrorCode.CONFIG, f"Alpha Vantage base_url must be an http(s) URL: {base!r}"
            )
        if not isinstance(api_key, str) or not api_key.strip():
            raise IvCrushError(ErrorCode.CONFIG, "the Alpha Vantage API key is empty")
        ttls = merge_cache_ttls(DEFAULT_CACHE_TTLS, cache_ttls, "Alpha Vantage")
        self._http = http
        self._base = base
        self._key = api_key.strip()
        self._guard: CallGuard = guard if guard is not None else PassThroughGuard()
        self._cache = scoped_cache(cache, base, self._key)  # never shared across servers
        self._ttls = ttls
        self._full_denied = False  # outputsize=full answered "premium feature" once

    def __repr__(self) -> str:  # never show the key
        return f"AlphaVantageClient(base_url={self._base!r})"

    @property
    def base_url(self) -> str:
        """The server this client asks (no credential in it)."""
        return self._base

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self._key,) if len(self._key) >= MIN_SECRET_LEN else ()

    # -- EarningsSource --------------------------------------------------------------------------

    async def earnings_calendar(self, horizon: str = "3month") -> tuple[EarningsEvent, ...]:
        """Upcoming releases of every covered company within `horizon` (3month/6month/12month),
        sorted by (date, symbol)."""
        function = "EARNINGS_CALENDAR"
        if horizon not in HORIZONS:
            raise ProviderError(
                ErrorCode.BAD_REQUEST,
                f"horizon must be one of {', '.join(HORIZONS)}, got {horizon!r:.20}",
                provider=PROVIDER,
                endpoint=function,
            )
        return await self._request(
            "earnings_calendar",
            {"function": function, "horizon": horizon},
            lambda body: self._interpret_csv(function, body),
            cache_key=f"horizon={horizon}",
        )

    async def earnings_history(self, symbol: str) -> tuple[EarningsEvent, ...]:
        """Quarterly releases of `symbol`, ascending by report date; () for an unknown symbol."""
        function = "EARNINGS"
        ours = self._symbol(symbol, function)
        return await self._request(
            "earnings",
            {"function": function, "symbol": to_alphavantage(ours)},
            lambda body: self._interpret_json(
                function, body, ("quarterlyEarnings", "annualEarnings"),
                lambda data: parse_earnings(data, ours),
            ),
            cache_key=f"symbol={ours}",
        )  # fmt: skip

    async def overview(self, symbol: str) -> CompanyOverview:
        """Company facts; `found=False` (all fields None) when Alpha Vantage has no data."""
        function = "OVERVIEW"
        ours = self._symbol(symbol, function)
        return await self._request(
            "overview",
            {"function": function, "symbol": to_alphavantage(ours)},
            lambda body: self._interpret_json(
                function, body, ("Symbol", "Name"), lambda data: parse_overview(data, ours)
            ),
            cache_key=f"symbol={ours}",
        )

    async def daily_series(self, symbol: str) -> tuple[Bar, ...]:
        """Daily bars (not adjusted), ascending. Asks for outputsize=full (20+ years); on the
        premium denial retries once with compact (the latest 100 sessions) and keeps using
        compact from then on."""
        function = "TIME_SERIES_DAILY"
        ours = self._symbol(symbol, function)
        sizes = ("compact",) if self._full_denied else ("full", "compact")
        for size in sizes:
            try:
                return await self._request(
                    "daily",
                    {"function": function, "symbol": to_alphavantage(ours), "outputsize": size},
                    lambda body: self._interpret_json(
                        function, body, (SERIES_KEY,), parse_time_series_daily
                    ),
                    cache_key=f"symbol={ours}",
                )
            except ProviderError as exc:
                if size == "full" and exc.code is ErrorCode.PREMIUM:
                    log.info("alphavantage: outputsize=full is premium; using compact")
                    self._full_denied = True
                    continue
                raise
        raise AssertionError("unreachable: the compact attempt returns or raises")

    # -- plumbing --------------------------------------------------------------------------------

    def _symbol(self, symbol: str, endpoint: str) -> str:
        try:
            return validate_symbol(symbol)
        except IvCrushError as exc:
            raise ProviderError(
                ErrorCode.INVALID_SYMBOL, exc.message, provider=PROVIDER, endpoint=endpoint
            ) from None

    async def _request(
        self,
        name: str,
        params: Mapping[str, str],
        interpret: Callable[[bytes], T],
        *,
        cache_key: str,
    ) -> T:
        """Cache lookup, then guard.run(one GET + interpret), then cache the raw body."""
        endpoint = params["function"]
        ttl = self._ttls[name]
        namespace = NAMESPACES[name]
        use_cache = self._cache is not None and ttl > 0
        if use_cache:
            cached = await cache_get(self._cache, namespace, cache_key)
            if cached is not None:
                try:
                    return interpret(cached.encode("utf-8"))
                except ProviderError as exc:
                    log.warning("alphavantage %s: ignoring unusable cache entry: %s", name, exc)

        async def attempt() -> tuple[T, str]:
            response = await send(
                self._http,
                "GET",
                self._base,
                provider=PROVIDER,
                endpoint=endpoint,
                params={**params, "apikey": self._key},
                secrets=self._secrets,
            )
            self._guard.observe_headers(response.headers)
            status = response.status_code
            if not 200 <= status <= 299:
                retry_after = _retry_after(response.headers) if status in (429, 503) else None
                raise error_for_status(
                    status,
                    provider=PROVIDER,
                    endpoint=endpoint,
                    detail=excerpt(body_text(response.content), self._secrets),
                    retry_after_s=retry_after,
                )
            return interpret(response.content), body_text(response.content)

        result, raw = await self._guard.run(endpoint, attempt)
        if use_cache:
            await cache_put(self._cache, namespace, cache_key, raw, ttl)
        return result

    def _raise_message(
        self, endpoint: str, data: Any, data_keys: Iterable[str], *, has_symbol: bool
    ) -> None:
        """Raise the classified error when `data` is a message body (one of MESSAGE_KEYS and
        none of the endpoint's data keys)."""
        if not isinstance(data, dict):
            return
        key = next((k for k in MESSAGE_KEYS if k in data), None)
        if key is None:
            return
        if any(k in data for k in data_keys):
            log.debug("alphavantage %s: data with a %r note", endpoint, key)
            return
        text = str(data[key])
        code, retry_after = classify_message(text, has_symbol=has_symbol)
        message = excerpt(text, self._secrets, MESSAGE_EXCERPT)
        if code is ErrorCode.BAD_PAYLOAD:
            message = f"unrecognised message: {message}"
        raise ProviderError(
            code,
            f"{key}: {message}",
            provider=PROVIDER,
            endpoint=endpoint,
            retry_after_s=retry_after,
        )

    def _interpret_json(
        self,
        endpoint: str,
        body: bytes,
        data_keys: tuple[str, ...],
        parse: Callable[[Any], T],
    ) -> T:
        data = decode_json(body, provider=PROVIDER, endpoint=endpoint)
        self._raise_message(endpoint, data, data_keys, has_symbol=True)
        return run_parser(lambda: parse(data), provider=PROVIDER, endpoint=endpoint)

    def _interpret_csv(self, endpoint: str, body: bytes) -> tuple[EarningsEvent, ...]:
        """Sniff first: `{`/`[` is a JSON message (errors come as JSON even here), `<` is a page."""
        text = body_text(body)
        head = text.lstrip()[:1]
        if head in ("{", "["):
            data = decode_json(body, provider=PROVIDER, endpoint=endpoint)
            self._raise_message(endpoint, data, (), has_symbol=False)
            raise ProviderError(
                ErrorCode.BAD_PAYLOAD,
                "got JSON instead of CSV",
                provider=PROVIDER,
                endpoint=endpoint,
            )
        if head == "<":
            raise ProviderError(
                ErrorCode.BAD_PAYLOAD,
                "got an HTML/XML page instead of CSV",
                provider=PROVIDER,
                endpoint=endpoint,
            )
        return run_parser(
            lambda: parse_earnings_calendar_csv(text), provider=PROVIDER, endpoint=endpoint
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return min(max(seconds, 0.0), 120.0) if math.isfinite(seconds) else None
