"""The demo market's front door: the gateway's credential check and the routing of a request to
its Tradier (`tradier_wire`) or Alpha Vantage (`av_wire`) rendering, XML when `Accept` is not
JSON, the Apigee 404 for an unknown path (provider-apis.md).
"""

from __future__ import annotations

import datetime as dt

from ivcrush_tui.providers.demo.av_wire import AV_TEXT_BAD_KEY, alphavantage
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.responses import (
    AV_PATH,
    TRADIER_PREFIX,
    WireRequest,
    WireResponse,
    apigee_fault,
    av_message,
    json_response,
    text_response,
    to_xml,
)
from ivcrush_tui.providers.demo.tradier_wire import tradier

__all__ = [
    "AV_PATH",
    "TRADIER_PREFIX",
    "check_access",
    "route",
]

# -- access checks ---------------------------------------------------------------------------------


def check_access(req: WireRequest) -> WireResponse | None:
    """The gateway's answer when the credential is missing, else None.

    Tradier: `Authorization: Bearer <non-empty>` or a 401 Apigee fault (JSON whatever the Accept
    header). Alpha Vantage: a non-empty `apikey` or the 200 `Error Message` body.
    """
    if req.path.startswith(TRADIER_PREFIX):
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_response(
                apigee_fault("Invalid Access Token", "keymanagement.service.invalid_access_token"),
                401,
            )
        return None
    if req.path == AV_PATH and not req.params.get("apikey", "").strip():
        return av_message("Error Message", AV_TEXT_BAD_KEY)
    return None


def route(market: DemoMarket, req: WireRequest, now: dt.datetime) -> WireResponse:
    """Serve one request from the market at `now` (no access checks, no rate limits)."""
    if req.path.startswith(TRADIER_PREFIX + "/"):
        payload = tradier(market, req, now)
        if isinstance(payload, WireResponse):
            return payload
        if "application/json" not in req.headers.get("accept", "").lower():
            return text_response(to_xml(payload), 200, "application/xml")
        return json_response(payload)
    if req.path == AV_PATH:
        if req.method not in ("GET", "POST"):
            return text_response("Method Not Allowed", 405)
        return alphavantage(market, req.params)
    return json_response(
        apigee_fault(
            f"Unable to identify proxy for host: demo and url: {req.path}",
            "messaging.adaptors.http.flow.ApplicationNotFound",
        ),
        404,
    )
