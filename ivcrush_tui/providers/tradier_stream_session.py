"""The Tradier stream's session handshake: POST /markets/events/session names a stream URL and a
fresh session id (reference/provider-apis.md §1.11). The URL is checked before the session id may
travel to it; failures are ProviderErrors with the token and session id redacted."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.loopback import is_loopback
from ivcrush_tui.providers.http import (
    PayloadError,
    decode_json,
    error_for_status,
    excerpt,
    redact_text,
    req_str,
    run_parser,
    send,
)
from ivcrush_tui.providers.tradier_parse import classify_text, fault_text
from ivcrush_tui.providers.tradier_stream_types import PROVIDER, SESSION_ENDPOINT, SESSION_PATH
from ivcrush_tui.providers.tradier_support import error_detail

__all__ = [
    "StreamSession",
    "check_stream_url",
    "create_session",
    "parse_session",
    "retryable",
]


@dataclass(frozen=True, slots=True)
class StreamSession:
    """A session's stream URL (checked) and id (a secret, like the token)."""

    url: httpx.URL
    session_id: str


def check_stream_url(url: str) -> httpx.URL:
    """The stream URL a session named, if it may be used: https, or http on a loopback host (the
    demo server). Else ProviderError(CONFIG): the session id would cross the network in clear."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ProviderError(
            ErrorCode.CONFIG,
            f"the session named an unusable stream URL {redact_text(str(url))[:120]!r}",
            provider=PROVIDER,
            endpoint=SESSION_ENDPOINT,
        )
    if parsed.userinfo:
        raise ProviderError(
            ErrorCode.CONFIG,
            "the session named a stream URL with credentials in it (refused)",
            provider=PROVIDER,
            endpoint=SESSION_ENDPOINT,
        )
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ProviderError(
            ErrorCode.CONFIG,
            f"the session named a plain-http stream URL on {parsed.host} (refused: only https, or"
            " http on this machine's loopback, may carry the session id)",
            provider=PROVIDER,
            endpoint=SESSION_ENDPOINT,
        )
    return parsed


def parse_session(data: object) -> tuple[str, str]:
    """The stream URL and the session id of a session answer; PayloadError when absent."""
    if not isinstance(data, dict) or not isinstance(data.get("stream"), dict):
        raise PayloadError("no 'stream' object in the session answer")
    stream = data["stream"]
    return req_str(stream, "url"), req_str(stream, "sessionid")


async def create_session(
    http: httpx.AsyncClient, base: str, token: str, *, secrets: tuple[str, ...]
) -> StreamSession:
    """POST <base>/markets/events/session -> the stream URL (checked) and a fresh session id.
    base: the REST base ending in /v1. secrets: redacted from every message."""
    response = await send(
        http,
        "POST",
        base + SESSION_PATH,
        provider=PROVIDER,
        endpoint=SESSION_ENDPOINT,
        headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
        secrets=secrets,
    )
    status = response.status_code
    if not 200 <= status <= 299:
        detail = error_detail(response.content, secrets, endpoint=SESSION_ENDPOINT)
        if status in (401, 403):
            raise ProviderError(
                ErrorCode.AUTH,
                f"HTTP {status}: {detail or 'unauthorized'} (market streaming needs a"
                " production token with market data; polling instead)",
                provider=PROVIDER,
                endpoint=SESSION_ENDPOINT,
            )
        raise error_for_status(status, provider=PROVIDER, endpoint=SESSION_ENDPOINT, detail=detail)
    data = decode_json(response.content, provider=PROVIDER, endpoint=SESSION_ENDPOINT)
    fault = fault_text(data) if isinstance(data, dict) else None
    if fault is not None:
        raise ProviderError(
            classify_text(fault),
            f"error body: {excerpt(fault, secrets)}",
            provider=PROVIDER,
            endpoint=SESSION_ENDPOINT,
        )
    url, session_id = run_parser(
        lambda: parse_session(data), provider=PROVIDER, endpoint=SESSION_ENDPOINT
    )
    return StreamSession(check_stream_url(url), session_id)


def retryable(exc: ProviderError) -> bool:
    """Worth a new session later: transient failures and a garbled answer; not auth, sandbox
    (400), a refused stream URL or a wrong base URL."""
    return exc.transient or exc.code is ErrorCode.BAD_PAYLOAD
