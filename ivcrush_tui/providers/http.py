"""The shared httpx client and what every provider client needs around it.

- `make_http_client`: one keep-alive pool per provider, sized for ~10-20 requests in flight.
- `send`: one request; every httpx failure becomes a typed `ProviderError` (no secret, no chain).
- `decode_json`: a body -> JSON, where an empty body, an HTML/XML page or truncated JSON is
  `ProviderError(BAD_PAYLOAD)` naming the endpoint.
- `run_parser`: a parser's `PayloadError` (or any stray KeyError/TypeError/ValueError) becomes
  `ProviderError(BAD_PAYLOAD)`, so a malformed payload never escapes as a raw exception.
- `redact_url` / `redact_text`: what may be logged or put in a message.
- Field coercion for JSON payloads (`opt_float`, `opt_int`, `req_str`, ...), strict on types.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping

import httpx

from ivcrush_tui import __version__
from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.providers.base import ResponseCache
from ivcrush_tui.providers.http_decode import (
    PayloadError,
    body_text,
    decode_json,
    opt_float,
    opt_int,
    opt_str,
    req_float,
    req_str,
    run_parser,
)
from ivcrush_tui.resilience.errors import NoAnswerError, NotSentError
from ivcrush_tui.resilience.logs import secret_forms

__all__ = [
    "USER_AGENT",
    "PayloadError",
    "body_text",
    "decode_json",
    "error_for_status",
    "excerpt",
    "make_http_client",
    "opt_float",
    "opt_int",
    "opt_str",
    "provider_error_from_httpx",
    "redact_text",
    "redact_url",
    "req_float",
    "req_str",
    "run_parser",
    "send",
]

log = logging.getLogger(__name__)

USER_AGENT = f"ivcrush/{__version__}"
MAX_CONNECTIONS = 20  # engine concurrency is 10 by default; headroom for batched quotes
KEEPALIVE_EXPIRY_S = 30.0
EXCERPT_CHARS = 200
# Response bodies are read up to a cap (decoded bytes): an option chain of the widest listed name
# is ~1-2 MB, the Alpha Vantage calendar CSV ~1 MB; nothing legitimate comes near these.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
CHAIN_MAX_BODY_BYTES = 16 * 1024 * 1024
MASK = "***"

# key=value pairs whose value is a credential: apikey, api_key, api-key, *token* (access_token).
_QUERY_SECRET = re.compile(
    r"(?i)([?&;\s]|^)([^=&?#;\s]*(?:api[_-]?key|token)[^=&?#;\s]*)=([^&#;\s]*)"
)
# Alpha Vantage echoes the key in its daily-limit text: "We have detected your API key as XXXX".
_AV_KEY_ECHO = re.compile(r"(?i)(api\s*key\s+as\s+)(\S+?)(?=[\s,.;]|$)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+\S+")


# -- the client ------------------------------------------------------------------------------------


def make_http_client(
    *, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An AsyncClient with `timeout_s` seconds per phase (connect, read, write, pool), a
    keep-alive pool of 20 connections, no redirects followed, and User-Agent ivcrush/<version>.

    `transport` replaces the network (the demo market, httpx.MockTransport in tests); the pool
    limits then belong to that transport. Raises IvCrushError(CONFIG) for a timeout that is not a
    positive finite number."""
    if (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, int | float)
        or not math.isfinite(timeout_s)
        or timeout_s <= 0
    ):
        raise IvCrushError(ErrorCode.CONFIG, f"timeout_s must be > 0 seconds, got {timeout_s!r}")
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )
    return httpx.AsyncClient(
        timeout=httpx.Timeout(float(timeout_s)),
        limits=limits,
        transport=transport,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


# -- redaction -------------------------------------------------------------------------------------


def redact_url(url: str | httpx.URL) -> str:
    """`url` with the values of apikey / api_key / *token* query parameters replaced by ***."""
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", str(url))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret (in each of its `secret_forms`), credential query value, Bearer
    value and Alpha Vantage's "API key as XXXX" echo replaced by ***."""
    forms = {form for s in secrets if s for form in secret_forms(s)}
    for secret in sorted(forms, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", text)
    text = _AV_KEY_ECHO.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def excerpt(text: str, secrets: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """A one-line, redacted, bounded excerpt of a provider's text for an error message.

    Redacted BEFORE it is cut: a cut through a secret would leave a prefix no redaction finds."""
    flat = redact_text(" ".join(text.split()), secrets)
    if len(flat) > limit:
        flat = flat[:limit] + "..."
    return flat


# -- sending ---------------------------------------------------------------------------------------


def provider_error_from_httpx(
    exc: Exception, *, provider: str, endpoint: str, secrets: Iterable[str] = ()
) -> ProviderError:
    """The typed error for an httpx failure.

    TimeoutException -> TIMEOUT; ConnectError / ReadError / WriteError / RemoteProtocolError /
    ProxyError / TooManyRedirects -> UNAVAILABLE (transient); LocalProtocolError (our request was
    malformed) -> BAD_REQUEST; InvalidURL / UnsupportedProtocol (a bad base URL) -> CONFIG;
    DecodingError (bad content encoding) -> BAD_PAYLOAD; anything else -> UNAVAILABLE.
    ConnectError and ConnectTimeout give a `NotSentError` (the request never left: no quota
    was spent)."""
    code: ErrorCode
    if isinstance(exc, httpx.TimeoutException):
        code, what = ErrorCode.TIMEOUT, "timed out"
    elif isinstance(exc, httpx.LocalProtocolError):
        code, what = ErrorCode.BAD_REQUEST, "could not send the request"
    elif isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        code, what = ErrorCode.CONFIG, "bad URL (check base_url)"
    elif isinstance(exc, httpx.DecodingError):
        code, what = ErrorCode.BAD_PAYLOAD, "undecodable response body"
    elif isinstance(exc, httpx.ConnectError):
        code, what = ErrorCode.UNAVAILABLE, "connection failed"
    else:
        code, what = ErrorCode.UNAVAILABLE, "connection problem"
    detail = excerpt(str(exc), secrets) if str(exc) else ""
    message = f"{what} ({type(exc).__name__}{': ' + detail if detail else ''})"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # No connection, so nothing was sent: the same typed error, marked for a quota refund.
        return NotSentError(code, message, provider=provider, endpoint=endpoint)
    return ProviderError(code, message, provider=provider, endpoint=endpoint)


def request_deadline_s(http: httpx.AsyncClient) -> float | None:
    """The whole-request deadline of `http`, seconds: its longest phase timeout. httpx applies
    each phase timeout per socket operation, so a server trickling one byte per second would
    otherwise keep a request alive for ever; `send` bounds connect + send + whole body by this."""
    t = http.timeout
    phases = [x for x in (t.connect, t.read, t.write, t.pool) if x is not None]
    return max(phases) if phases else None


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    endpoint: str,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> httpx.Response:
    """Send one request and read the whole body, within the client's timeout for the WHOLE
    request (`request_deadline_s`) and at most `max_body_bytes` bytes of (decoded) body.

    httpx failures -> ProviderError (see `provider_error_from_httpx`); the deadline -> TIMEOUT;
    a larger body -> BAD_PAYLOAD, read no further; a redirect -> CONFIG naming the Location
    (never followed: it would carry the credential elsewhere, and retrying cannot help). Other
    statuses are not checked here. Logs the URL redacted."""
    secrets = tuple(secrets)
    t0 = time.monotonic()
    deadline = request_deadline_s(http)
    answered: list[bool] = []  # set once the status line arrived (see NoAnswerError)
    try:
        async with asyncio.timeout(deadline):
            response = await _request_capped(
                http,
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                max_body_bytes=max_body_bytes,
                answered=answered,
            )
    except (TimeoutError, httpx.ReadTimeout) as exc:
        what = "no complete answer" if answered else "no answer at all"
        limit = f"{deadline:g} s" if isinstance(exc, TimeoutError) else "the read timeout"
        kind = ProviderError if answered else NoAnswerError
        err = kind(
            ErrorCode.TIMEOUT,
            f"{what} within {limit} (timeout_s)",
            provider=provider,
            endpoint=endpoint,
        )
        log.debug("%s %s failed: %s", provider, endpoint, err.message)
        raise err from None
    except _BodyTooLarge as exc:
        raise ProviderError(
            ErrorCode.BAD_PAYLOAD,
            f"body over {exc.limit // 2**20} MiB (read no further)",
            provider=provider,
            endpoint=endpoint,
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        err = provider_error_from_httpx(exc, provider=provider, endpoint=endpoint, secrets=secrets)
        log.debug("%s %s failed: %s", provider, endpoint, err.message)
        # `from None`: the httpx exception carries the request (with Alpha Vantage's apikey).
        raise err from None
    if response.status_code in _REDIRECTS:
        location = redact_text(redact_url(response.headers.get("location", "?")), secrets)
        raise ProviderError(
            ErrorCode.CONFIG,
            f"HTTP {response.status_code} redirect to {location[:EXCERPT_CHARS]} (not followed:"
            " check base_url)",
            provider=provider,
            endpoint=endpoint,
        )
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "%s %s %s -> HTTP %d in %.0f ms",
            provider,
            method,
            redact_text(redact_url(response.request.url), secrets),
            response.status_code,
            (time.monotonic() - t0) * 1000.0,
        )
    return response


class _BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


async def _request_capped(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None,
    data: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    max_body_bytes: int,
    answered: list[bool],
) -> httpx.Response:
    """The response with its body read in chunks and abandoned past `max_body_bytes` (decoded
    bytes, so a compressed bomb is caught too): memory stays bounded whatever the server sends.
    `answered` gets an entry once the status line has arrived."""
    async with http.stream(
        method,
        url,
        params=dict(params) if params else None,
        data=dict(data) if data else None,
        headers=dict(headers) if headers else None,
    ) as streamed:
        answered.append(True)
        declared = streamed.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise _BodyTooLarge(max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in streamed.aiter_bytes():
            size += len(chunk)
            if size > max_body_bytes:
                raise _BodyTooLarge(max_body_bytes)
            chunks.append(chunk)
    # A plain Response with the body as content: callers read .content/.text/.headers as before.
    # The body is decoded already: the encoding headers would make httpx decode it a second time.
    kept = [(k, v) for k, v in streamed.headers.multi_items() if k.lower() not in _TRANSFER_HEADERS]
    return httpx.Response(
        streamed.status_code,
        headers=kept,
        content=b"".join(chunks),
        request=streamed.request,
    )


def error_for_status(
    status: int,
    *,
    provider: str,
    endpoint: str,
    detail: str = "",
    retry_after_s: float | None = None,
) -> ProviderError:
    """The typed error for a non-2xx status: 401/403 AUTH, 404 NOT_FOUND, 408 TIMEOUT,
    429 RATE_LIMITED, 5xx UNAVAILABLE, other 4xx BAD_REQUEST, anything else UNAVAILABLE.
    `detail` must already be redacted."""
    if status in (401, 403):
        code = ErrorCode.AUTH
    elif status == 404:
        code = ErrorCode.NOT_FOUND
    elif status == 408:
        code = ErrorCode.TIMEOUT
    elif status == 429:
        code = ErrorCode.RATE_LIMITED
    elif 500 <= status <= 599:
        code = ErrorCode.UNAVAILABLE
    elif 400 <= status <= 499:
        code = ErrorCode.BAD_REQUEST
    else:
        code = ErrorCode.UNAVAILABLE
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    return ProviderError(
        code, message, provider=provider, endpoint=endpoint, retry_after_s=retry_after_s
    )


async def cache_get(cache: ResponseCache | None, namespace: str, key: str) -> str | None:
    """A cached body, or None; a broken cache never fails a request (it is logged)."""
    if cache is None:
        return None
    try:
        return await cache.get(namespace, key)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("cache read failed (%s): %s", namespace, type(exc).__name__)
        return None


async def cache_put(
    cache: ResponseCache | None, namespace: str, key: str, value: str, ttl: float
) -> None:
    """Store a body; a broken cache never fails a request (it is logged)."""
    if cache is None:
        return
    try:
        await cache.put(namespace, key, value, ttl)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("cache write failed (%s): %s", namespace, type(exc).__name__)


def merge_cache_ttls(
    defaults: Mapping[str, float], overrides: Mapping[str, float] | None, provider: str
) -> dict[str, float]:
    """Per-endpoint cache TTLs (seconds): the defaults with validated overrides applied."""
    ttls = dict(defaults)
    for name, ttl in (overrides or {}).items():
        if name not in defaults:
            raise IvCrushError(
                ErrorCode.CONFIG,
                f"unknown {provider} cache endpoint {name!r} "
                f"(known: {', '.join(sorted(defaults))})",
            )
        if not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl < 0:
            raise IvCrushError(ErrorCode.CONFIG, f"cache TTL for {name} must be >= 0 s")
        ttls[name] = float(ttl)
    return ttls
