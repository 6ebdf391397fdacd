"""HTTP requests and responses of the demo market, and the wire shapes shared by its endpoints:
Tradier's XML-to-JSON list collapse and XML rendering, the Apigee fault, Alpha Vantage's one-key
messages (provider-apis.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

TRADIER_PREFIX = "/tradier/v1"
AV_PATH = "/alphavantage/query"

JsonDict = dict[str, Any]

# -- requests and responses ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A decoded HTTP request. headers keys are lower-case; params merge the query string and
    (for POST) the urlencoded form, first value wins."""

    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()

    def with_headers(self, extra: Sequence[tuple[str, str]]) -> WireResponse:
        return WireResponse(self.status, self.body, self.content_type, (*self.headers, *extra))


def json_response(payload: object, status: int = 200) -> WireResponse:
    """Compact, deterministic JSON (NaN/inf refused: they never reach the wire)."""
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return WireResponse(status, body, "application/json")


def text_response(
    body: str, status: int, content_type: str = "text/plain; charset=utf-8"
) -> WireResponse:
    return WireResponse(status, body.encode("utf-8"), content_type)


def collapse(items: Sequence[Any]) -> Any:
    """Tradier's XML-to-JSON collapse: [] -> None, [x] -> x, else the list."""
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return list(items)


def apigee_fault(faultstring: str, errorcode: str) -> JsonDict:
    return {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}


def av_message(key: str, text: str) -> WireResponse:
    """An Alpha Vantage one-key message body (always HTTP 200)."""
    return json_response({key: text})


def tradier_errors(message: str, status: int = 400) -> WireResponse:
    return json_response({"errors": {"error": message}}, status)


def to_xml(payload: Mapping[str, Any]) -> str:
    """A plain XML rendering of a Tradier payload (what the API answers without Accept: json)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>']
    for key, value in payload.items():
        parts.append(_xml(key, value))
    return "".join(parts)


def _xml(tag: str, value: Any) -> str:
    if value is None:
        return f"<{tag}/>"
    if isinstance(value, list):
        return "".join(_xml(tag, v) for v in value)
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, bool):
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"
