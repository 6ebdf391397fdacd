"""TradierClient's helpers that need no client: cache keys of normalised requests, a quotes
body cut per underlying, the all-or-first-failure gather of quote chunks, a quote re-labelled with
the symbol asked for, and the message of a refused answer and the check of the base URL and token
(both shared with the market stream)."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, TypeVar

import orjson

from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError, StockQuote
from ivcrush_tui.providers.http import body_text, decode_json, excerpt
from ivcrush_tui.providers.tradier_parse import fault_text
from ivcrush_tui.resilience.ratelimit import expiry_epoch_s
from ivcrush_tui.symbols import parse_occ

T = TypeVar("T")
CACHE_KEY_MAX = 256  # longer normalised requests are keyed by their sha256


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
        quote_timestamp=quote.quote_timestamp,
    )


def _key(params: Mapping[str, str]) -> str:
    """A normalised request: sorted key=value pairs (never the token: it is a header)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def _quote_key(symbols: Iterable[str], greeks: bool) -> str:
    """The cache key of a /markets/quotes request of `symbols` (in any order)."""
    return f"greeks={'true' if greeks else 'false'}&symbols={','.join(sorted(symbols))}"


def _by_underlying(symbols: Iterable[str]) -> dict[str, list[str]]:
    """OCC symbols grouped by their root (symbols that are not OCC symbols are left out)."""
    groups: dict[str, list[str]] = {}
    for occ in symbols:
        parsed = parse_occ(occ)
        if parsed is not None:
            groups.setdefault(parsed[0], []).append(occ)
    return groups


def _per_underlying(raw: str, groups: Mapping[str, list[str]]) -> dict[str, str]:
    """A /markets/quotes body (options with greeks) cut per underlying: cache key -> body, each
    keyed as a request of that underlying's symbols (`groups`, root -> OCC symbols asked) alone
    is, so that one ticker's quotes are found without the batch they rode in. {} when the body
    is not the expected shape (it is then simply not cached)."""
    try:
        section = orjson.loads(raw)["quotes"]
        quote: Any = section["quote"] if isinstance(section, dict) else None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return {}
    objects = [quote] if isinstance(quote, dict) else quote if isinstance(quote, list) else []
    root_of = {occ: root for root, occs in groups.items() for occ in occs}
    mine: dict[str, list[Any]] = {root: [] for root in groups}
    for obj in objects:
        root = root_of.get(str(obj.get("symbol", "")).upper()) if isinstance(obj, dict) else None
        if root is not None:
            mine[root].append(obj)
    return {
        _quote_key(groups[root], True): orjson.dumps({"quotes": {"quote": objs}}).decode()
        for root, objs in mine.items()
    }


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


def error_detail(body: bytes, secrets: Iterable[str], *, endpoint: str) -> str:
    """A refused answer's message for an error: its Tradier fault (an Apigee fault or an `errors`
    body) when it has one, else an excerpt of the body; secrets redacted, length bounded."""
    text = body_text(body)
    try:
        fault = fault_text(decode_json(body, provider="tradier", endpoint=endpoint))
    except ProviderError:
        fault = None
    return excerpt(fault if fault is not None else text, secrets)


def checked_base_and_token(base_url: str, token: str) -> tuple[str, str]:
    """The REST base without its trailing slash and the token stripped; IvCrushError(CONFIG)
    unless the base is an http(s) URL ending in /v1 and the token non-empty printable ASCII
    without spaces (it goes into a header)."""
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
    return base, token


def retry_after_s(headers: Mapping[str, str], now_s: float, cap_s: float) -> float | None:
    """Seconds to wait after a 429/503: Retry-After (seconds) if sent, else X-Ratelimit-Expiry
    minus `now_s` (epoch seconds); clamped to [0, `cap_s`], None when neither is usable."""
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
            seconds = expiry - now_s
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap_s)
