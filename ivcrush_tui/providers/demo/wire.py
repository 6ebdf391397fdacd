"""The demo market rendered in the Tradier and Alpha Vantage wire formats (provider-apis.md).

Pure functions of (market, request, now). Tradier quirks reproduced: every list sits in a wrapper
and collapses to a bare value when it has one item and to null when empty; `unmatched_symbols`;
epoch-ms `trade_date`/`bid_date`/`ask_date` (0 = never traded); epoch-s clock timestamp; `greeks`
absent / null / populated; the `strikes=true` expiration shape; XML when `Accept` is not JSON; the
Apigee 401 fault. Alpha Vantage quirks: HTTP 200 for every error with an `Information` / `Note` /
`Error Message` body, string numbers, "None" strings, a CSV earnings calendar with the 7-column
header, `{}` for unknown symbols, the premium denial of outputsize=full.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from ivcrush_tui.calendar import NY, UTC, MarketState, TradingCalendar
from ivcrush_tui.domain import Bar, OptionType, Timing
from ivcrush_tui.providers.demo.market import (
    ContractQuote,
    DemoMarket,
    StockQuoteData,
    stable_rng,
)
from ivcrush_tui.symbols import parse_occ, to_alphavantage

__all__ = [
    "AV_PATH",
    "AV_TEXT_BAD_KEY",
    "AV_TEXT_BURST",
    "AV_TEXT_DEMO_KEY",
    "AV_TEXT_LEGACY_NOTE",
    "AV_TEXT_PREMIUM_ENDPOINT",
    "TRADIER_PREFIX",
    "WireRequest",
    "WireResponse",
    "apigee_fault",
    "av_daily_limit_text",
    "av_invalid_call_text",
    "av_message",
    "av_premium_full_text",
    "check_access",
    "collapse",
    "json_response",
    "route",
    "to_xml",
]

TRADIER_PREFIX = "/tradier/v1"
AV_PATH = "/alphavantage/query"
MAX_QUOTE_SYMBOLS = 2000  # bounded work per request

JsonDict = dict[str, Any]

# -- Alpha Vantage message texts (provider-apis.md §2.2; matched on substrings by clients) --------
AV_TEXT_BURST = (
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more "
    "sparingly (1 request per second). You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day), "
    "raise the per-second burst limit, and instantly unlock all premium endpoints"
)
AV_TEXT_LEGACY_NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and "
    "500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to "
    "target a higher API call frequency."
)
AV_TEXT_PREMIUM_ENDPOINT = (
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
    "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
    "endpoints"
)
AV_TEXT_BAD_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
AV_TEXT_DEMO_KEY = (
    "The **demo** API key is for demo purposes only. Please claim your free API key at "
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes "
    "fewer than 20 seconds."
)


def av_daily_limit_text(limit: int = 25) -> str:
    """The current daily-quota message (key `Information`)."""
    return (
        f"Thank you for using Alpha Vantage! Our standard API rate limit is {limit} requests per "
        "day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
        "to instantly remove all daily rate limits."
    )


def av_premium_full_text(function: str = "TIME_SERIES_DAILY") -> str:
    """The premium-parameter denial of outputsize=full (key `Information`)."""
    return (
        f"Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium "
        f"feature for the {function} endpoint. You may subscribe to any of the premium plans at "
        "https://www.alphavantage.co/premium/ to instantly unlock all premium features"
    )


def av_invalid_call_text(function: str) -> str:
    """The bad function/symbol/parameter message (key `Error Message`)."""
    return (
        "Invalid API call. Please retry or visit the documentation "
        f"(https://www.alphavantage.co/documentation/) for {function}."
    )


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


def _text(body: str, status: int, content_type: str = "text/plain; charset=utf-8") -> WireResponse:
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


def _tradier_errors(message: str, status: int = 400) -> WireResponse:
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
        payload = _tradier(market, req, now)
        if isinstance(payload, WireResponse):
            return payload
        if "application/json" not in req.headers.get("accept", "").lower():
            return _text(to_xml(payload), 200, "application/xml")
        return json_response(payload)
    if req.path == AV_PATH:
        if req.method not in ("GET", "POST"):
            return _text("Method Not Allowed", 405)
        return _alphavantage(market, req.params)
    return json_response(
        apigee_fault(
            f"Unable to identify proxy for host: demo and url: {req.path}",
            "messaging.adaptors.http.flow.ApplicationNotFound",
        ),
        404,
    )


# -- Tradier ---------------------------------------------------------------------------------------


def _flag(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "false").strip().lower() == "true"


def _tradier(market: DemoMarket, req: WireRequest, now: dt.datetime) -> JsonDict | WireResponse:
    sub = req.path[len(TRADIER_PREFIX) :]
    p = req.params
    if sub == "/markets/quotes":
        if req.method not in ("GET", "POST"):
            return _text("Method Not Allowed", 405)
        symbols = [s.strip() for s in p.get("symbols", "").split(",") if s.strip()]
        if not symbols:
            return _tradier_errors("Missing required parameter: symbols")
        if len(symbols) > MAX_QUOTE_SYMBOLS:
            return _tradier_errors(f"Too many symbols (max {MAX_QUOTE_SYMBOLS})")
        return tradier_quotes(market, symbols, _flag(p, "greeks"), now)
    if req.method != "GET":
        return _text("Method Not Allowed", 405)
    if sub == "/markets/options/expirations":
        if not p.get("symbol"):
            return _tradier_errors("Missing required parameter: symbol")
        return tradier_expirations(
            market,
            p["symbol"],
            strikes=_flag(p, "strikes"),
            contract_size=_flag(p, "contractSize"),
            expiration_type=_flag(p, "expirationType"),
        )
    if sub == "/markets/options/chains":
        if not p.get("symbol") or not p.get("expiration"):
            return _tradier_errors("Missing required parameters: symbol, expiration")
        exp = _parse_date(p["expiration"])
        if exp is None:
            return {"options": None}
        return tradier_chain(market, p["symbol"], exp, _flag(p, "greeks"), now)
    if sub == "/markets/history":
        if not p.get("symbol"):
            return _tradier_errors("Missing required parameter: symbol")
        interval = p.get("interval", "daily").strip().lower() or "daily"
        if interval not in ("daily", "weekly", "monthly"):
            return _tradier_errors(f"Invalid interval: {interval}")
        start = _parse_date(p["start"]) if p.get("start") else None
        end = _parse_date(p["end"]) if p.get("end") else None
        if (p.get("start") and start is None) or (p.get("end") and end is None):
            return _tradier_errors("Invalid date: expected YYYY-MM-DD")
        return tradier_history(market, p["symbol"], interval, start, end)
    if sub == "/markets/clock":
        return tradier_clock(market.calendar, now)
    if sub == "/markets/calendar":
        today = now.astimezone(NY).date()
        try:
            month = int(p.get("month") or today.month)
            year = int(p.get("year") or today.year)
            dt.date(year, month, 1)
        except ValueError:
            return _tradier_errors("Invalid month or year")
        return tradier_calendar(market.calendar, year, month)
    return json_response(
        apigee_fault(
            f"Unable to identify proxy for host: demo and url: {req.path}",
            "messaging.adaptors.http.flow.ApplicationNotFound",
        ),
        404,
    )


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _tradier_symbol(symbol: str) -> str:
    return symbol.replace(".", "/")


def _exch(symbol: str, salt: int) -> str:
    """A stable one-letter exchange code (cheap: called for every contract)."""
    codes = "ABCHIMNPQWXZ"
    return codes[(ord(symbol[-1]) * 7 + ord(symbol[0]) + len(symbol) + salt) % len(codes)]


def stock_quote_json(q: StockQuoteData) -> JsonDict:
    """One Tradier stock quote object."""
    out: JsonDict = {
        "symbol": _tradier_symbol(q.symbol),
        "description": q.description,
        "exch": q.exchange_code,
        "type": "stock",
        "last": q.last,
        "change": q.change,
        "volume": q.volume,
        "open": q.open,
        "high": q.high,
        "low": q.low,
        "close": None,
        "bid": q.bid,
        "ask": q.ask,
        "change_percentage": q.change_percentage,
        "average_volume": q.average_volume,
        "last_volume": q.last_volume,
        "trade_date": q.trade_date_ms,
        "prevclose": q.prev_close,
        "week_52_high": q.week_52_high,
        "week_52_low": q.week_52_low,
        "bidsize": q.bid_size,
        "bidexch": _exch(q.symbol, 0),
        "bid_date": q.quote_date_ms,
        "asksize": q.ask_size,
        "askexch": _exch(q.symbol, 5),
        "ask_date": q.quote_date_ms,
    }
    if q.root_symbol is not None:
        out["root_symbols"] = q.root_symbol
    return out


def option_json(c: ContractQuote, greeks: bool) -> JsonDict:
    """One Tradier option object (chain entry or option quote); `greeks` adds the greeks key."""
    kind = "Call" if c.option_type is OptionType.CALL else "Put"
    out: JsonDict = {
        "symbol": c.symbol,
        "description": f"{c.underlying} {c.expiration:%b %d %Y} ${c.strike:.2f} {kind}",
        "exch": "Z",
        "type": "option",
        "last": c.last,
        "change": c.change,
        "volume": c.volume,
        "open": c.open,
        "high": c.high,
        "low": c.low,
        "close": None,
        "bid": c.bid,
        "ask": c.ask,
        "underlying": c.underlying,
        "strike": c.strike,
        "change_percentage": c.change_percentage,
        "average_volume": 0,
        "last_volume": c.last_volume,
        "trade_date": c.trade_date_ms,
        "prevclose": c.prev_close,
        "week_52_high": 0.0,
        "week_52_low": 0.0,
        "bidsize": c.bid_size,
        "bidexch": _exch(c.symbol, 0),
        "bid_date": c.quote_date_ms,
        "asksize": c.ask_size,
        "askexch": _exch(c.symbol, 5),
        "ask_date": c.quote_date_ms,
        "open_interest": c.open_interest,
        "contract_size": 100,
        "expiration_date": c.expiration.isoformat(),
        "expiration_type": c.expiration_type,
        "option_type": c.option_type.value,
        "root_symbol": c.root_symbol,
    }
    if greeks:
        g = c.greeks
        out["greeks"] = (
            None
            if g is None
            else {
                "delta": g.delta,
                "gamma": g.gamma,
                "theta": g.theta,
                "vega": g.vega,
                "rho": g.rho,
                "phi": g.phi,
                "bid_iv": g.bid_iv,
                "mid_iv": g.mid_iv,
                "ask_iv": g.ask_iv,
                "smv_vol": g.smv_vol,
                "updated_at": g.updated_at,
            }
        )
    return out


def tradier_quotes(
    market: DemoMarket, symbols: Sequence[str], greeks: bool, now: dt.datetime
) -> JsonDict:
    """GET/POST /markets/quotes: stocks and OCC option symbols, unknown ones unmatched."""
    # Option symbols first: each (underlying, expiration) is priced once per request, and only
    # for the strikes asked for.
    strikes: dict[tuple[str, dt.date], set[int]] = {}
    for raw in symbols:
        if market.normalize(raw) is not None:
            continue
        parsed = parse_occ(raw)
        if parsed is None:
            continue
        root, exp, _, strike = parsed
        sym = market.symbol_for_root(root)
        if sym is None:
            continue
        strikes.setdefault((sym, exp), set()).add(round(strike * 1000))
    contracts: dict[str, ContractQuote] = {}
    for (sym, exp), milli_set in strikes.items():
        contracts.update((c.symbol, c) for c in market.chain(sym, exp, now, milli_set))
    quotes: list[JsonDict] = []
    unmatched: list[str] = []
    for raw in symbols:
        stock = market.normalize(raw)
        if stock is not None:
            quotes.append(stock_quote_json(market.stock_quote(stock, now)))
            continue
        contract = contracts.get(raw.strip().upper())
        if contract is not None:
            quotes.append(option_json(contract, greeks))
        else:
            unmatched.append(raw.strip().upper())
    body: JsonDict = {}
    if quotes:
        body["quote"] = collapse(quotes)
    if unmatched:
        body["unmatched_symbols"] = {"symbol": collapse(unmatched)}
    return {"quotes": body}


def tradier_expirations(
    market: DemoMarket,
    symbol: str,
    *,
    strikes: bool = False,
    contract_size: bool = False,
    expiration_type: bool = False,
) -> JsonDict:
    """GET /markets/options/expirations: `date` strings, or `expiration` objects when any of
    strikes / contractSize / expirationType is set; null when nothing is listed."""
    sym = market.normalize(symbol)
    exps = market.expirations(sym) if sym is not None else ()
    if not exps:
        return {"expirations": None}
    assert sym is not None
    if not (strikes or contract_size or expiration_type):
        return {"expirations": {"date": collapse([e.isoformat() for e in exps])}}
    objs: list[JsonDict] = []
    for e in exps:
        obj: JsonDict = {"date": e.isoformat()}
        if contract_size:
            obj["contract_size"] = 100
        if expiration_type:
            obj["expiration_type"] = market.expiration_type(e)
        if strikes:
            obj["strikes"] = {"strike": collapse(list(market.strikes(sym, e)))}
        objs.append(obj)
    return {"expirations": {"expiration": collapse(objs)}}


def tradier_chain(
    market: DemoMarket, symbol: str, expiration: dt.date, greeks: bool, now: dt.datetime
) -> JsonDict:
    """GET /markets/options/chains: {"options": null} for an unknown symbol or expiration."""
    sym = market.normalize(symbol)
    chain = market.chain(sym, expiration, now) if sym is not None else ()
    if not chain:
        return {"options": None}
    return {"options": {"option": collapse([option_json(c, greeks) for c in chain])}}


def _bar_json(day: dt.date, o: float, h: float, lo: float, c: float, v: int) -> JsonDict:
    return {"date": day.isoformat(), "open": o, "high": h, "low": lo, "close": c, "volume": v}


def tradier_history(
    market: DemoMarket,
    symbol: str,
    interval: str = "daily",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> JsonDict:
    """GET /markets/history: day objects oldest first (weekly/monthly aggregated and dated by
    their first session); {"history": null} when no bar matches."""
    sym = market.normalize(symbol)
    if sym is None:
        return {"history": None}
    bars = [
        b
        for b in market.bars(sym)
        if (start is None or b.day >= start) and (end is None or b.day <= end)
    ]
    rows = [
        _bar_json(b.day, b.open, b.high, b.low, b.close, b.volume)
        for b in _aggregate(bars, interval)
    ]
    if not rows:
        return {"history": None}
    return {"history": {"day": collapse(rows)}}


def _aggregate(bars: Sequence[Bar], interval: str) -> list[Bar]:
    if interval == "daily":
        return list(bars)
    groups: dict[tuple[int, int], list[Bar]] = {}
    for b in bars:
        key = b.day.isocalendar()[:2] if interval == "weekly" else (b.day.year, b.day.month)
        groups.setdefault((key[0], key[1]), []).append(b)
    return [
        Bar(
            day=g[0].day,
            open=g[0].open,
            high=max(b.high for b in g),
            low=min(b.low for b in g),
            close=g[-1].close,
            volume=sum(b.volume for b in g),
        )
        for g in groups.values()
    ]


_STATE_NAMES = {
    MarketState.PREMARKET: "premarket",
    MarketState.REGULAR: "open",
    MarketState.AFTER_HOURS: "postmarket",
    MarketState.CLOSED: "closed",
}


def tradier_clock(calendar: TradingCalendar, now: dt.datetime) -> JsonDict:
    """GET /markets/clock: state from the calendar, epoch-second timestamp, HH:MM (New York)
    next_change."""
    local = now.astimezone(NY)
    day = local.date()
    state = calendar.market_state(now)
    sess = calendar.session(day)
    if sess is not None:
        o = sess.open.astimezone(NY).strftime("%H:%M")
        c = sess.close.astimezone(NY).strftime("%H:%M")
    else:
        o, c = "09:30", "16:00"
    if state is MarketState.PREMARKET:
        desc, nxt, nstate = f"Market is in premarket hours from 04:00 to {o}", o, "open"
    elif state is MarketState.REGULAR:
        desc, nxt, nstate = f"Market is open from {o} to {c}", c, "postmarket"
    elif state is MarketState.AFTER_HOURS:
        desc, nxt, nstate = f"Market is in postmarket hours from {c} to 20:00", "20:00", "closed"
    else:
        desc, nxt, nstate = "Market is closed.", "04:00", "premarket"
    return {
        "clock": {
            "date": day.isoformat(),
            "description": desc,
            "state": _STATE_NAMES[state],
            "timestamp": int(now.timestamp()),
            "next_change": nxt,
            "next_state": nstate,
        }
    }


def tradier_calendar(calendar: TradingCalendar, year: int, month: int) -> JsonDict:
    """GET /markets/calendar: every day of the month; closed days have no session keys."""
    day = dt.date(year, month, 1)
    rows: list[JsonDict] = []
    while day.month == month:
        sess = calendar.session(day)
        if sess is None:
            rows.append(
                {"date": day.isoformat(), "status": "closed", "description": "Market is closed"}
            )
        else:
            o = sess.open.astimezone(NY).strftime("%H:%M")
            c = sess.close.astimezone(NY).strftime("%H:%M")
            post_end = "16:55" if sess.early_close else "19:55"
            rows.append(
                {
                    "date": day.isoformat(),
                    "status": "open",
                    "description": "Market is open",
                    "premarket": {"start": "07:00", "end": "09:24"},
                    "open": {"start": o, "end": c},
                    "postmarket": {"start": c, "end": post_end},
                }
            )
        day += dt.timedelta(days=1)
    return {"calendar": {"month": month, "year": year, "days": {"day": collapse(rows)}}}


# -- Alpha Vantage ---------------------------------------------------------------------------------


def _num(x: float, places: int = 4) -> str:
    """Alpha Vantage-style number string: trimmed decimals ("251.3", "0.1")."""
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _alphavantage(market: DemoMarket, params: Mapping[str, str]) -> WireResponse:
    function = params.get("function", "").strip().upper()
    symbol = params.get("symbol", "").strip()
    if function == "EARNINGS_CALENDAR":
        horizon = params.get("horizon", "3month").strip().lower() or "3month"
        return _text(av_earnings_calendar_csv(market, horizon, symbol or None), 200, "text/csv")
    if function == "EARNINGS":
        return json_response(av_earnings(market, symbol))
    if function == "OVERVIEW":
        return json_response(av_overview(market, symbol))
    if function == "TIME_SERIES_DAILY":
        size = params.get("outputsize", "compact").strip().lower() or "compact"
        if size == "full":
            return av_message("Information", av_premium_full_text(function))
        sym = market.normalize(symbol) if symbol else None
        if sym is None or size != "compact":
            return av_message("Error Message", av_invalid_call_text(function))
        if params.get("datatype", "json").strip().lower() == "csv":
            return _text(av_time_series_csv(market, sym), 200, "text/csv")
        return json_response(av_time_series_daily(market, sym))
    if function in ("TIME_SERIES_DAILY_ADJUSTED", "TIME_SERIES_INTRADAY"):
        return av_message("Information", AV_TEXT_PREMIUM_ENDPOINT)
    return av_message("Error Message", av_invalid_call_text(function or "the requested function"))


_HORIZON_DAYS = {"3month": 92, "6month": 183, "12month": 366}
_TIME_OF_DAY = {Timing.BMO: "pre-market", Timing.AMC: "post-market"}
AV_CALENDAR_HEADER = (
    "symbol",
    "name",
    "reportDate",
    "fiscalDateEnding",
    "estimate",
    "currency",
    "timeOfTheDay",
)


def av_earnings_calendar_csv(market: DemoMarket, horizon: str, symbol: str | None) -> str:
    """EARNINGS_CALENDAR: CSV with the 7-column header (rows from as_of through the horizon;
    header only when nothing matches). Lines end with CRLF; names with commas are quoted."""
    days = _HORIZON_DAYS.get(horizon, 92)
    start = market.as_of
    events = market.calendar_events(start, start + dt.timedelta(days=days))
    if symbol is not None:
        wanted = market.normalize(symbol)
        events = [e for e in events if e.symbol == wanted]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(AV_CALENDAR_HEADER)
    for e in events:
        estimate = "" if e.eps_estimate is None else _num(e.eps_estimate, 2)
        writer.writerow(
            [
                to_alphavantage(e.symbol),  # AV spells share classes BRK-B
                e.name or "",
                e.date.isoformat(),
                e.fiscal_date_ending.isoformat() if e.fiscal_date_ending else "",
                estimate,
                "USD",
                _TIME_OF_DAY.get(e.timing, ""),
            ]
        )
    return buf.getvalue()


def av_earnings(market: DemoMarket, symbol: str) -> JsonDict:
    """EARNINGS: newest first, string numbers, "None" for missing estimates (with surprise "0"),
    reportTime on recent rows (absent on the oldest rows of a few names); {} when unknown."""
    sym = market.normalize(symbol) if symbol else None
    if sym is None:
        return {}
    events = list(reversed(market.past_events(sym)))
    drop_time_from = (
        10 if stable_rng(market.seed, sym, "reporttime").uniform() < 0.2 else len(events)
    )
    quarterly: list[JsonDict] = []
    for i, e in enumerate(events):
        reported = e.eps_reported if e.eps_reported is not None else 0.0
        row: JsonDict = {
            "fiscalDateEnding": e.fiscal_date_ending.isoformat()
            if e.fiscal_date_ending
            else "None",
            "reportedDate": e.date.isoformat(),
            "reportedEPS": _num(reported, 2),
        }
        if e.eps_estimate is None:
            row.update(estimatedEPS="None", surprise="0", surprisePercentage="None")
        else:
            surprise = reported - e.eps_estimate
            pct = 100.0 * surprise / abs(e.eps_estimate) if e.eps_estimate else 0.0
            row.update(
                estimatedEPS=_num(e.eps_estimate, 2),
                surprise=_num(surprise, 2),
                surprisePercentage=_num(pct, 4),
            )
        if i < drop_time_from and e.timing in _TIME_OF_DAY:
            row["reportTime"] = _TIME_OF_DAY[e.timing]
        quarterly.append(row)
    annual: dict[int, float] = {}
    for e in events:
        if e.fiscal_date_ending is not None and e.eps_reported is not None:
            annual[e.fiscal_date_ending.year] = annual.get(e.fiscal_date_ending.year, 0.0) + (
                e.eps_reported
            )
    annual_rows = [
        {"fiscalDateEnding": f"{year}-12-31", "reportedEPS": _num(eps, 2)}
        for year, eps in sorted(annual.items(), reverse=True)
    ]
    return {
        "symbol": to_alphavantage(sym),
        "annualEarnings": annual_rows,
        "quarterlyEarnings": quarterly,
    }


def av_overview(market: DemoMarket, symbol: str) -> JsonDict:
    """OVERVIEW: a flat object of strings ("None" where missing); {} when unknown."""
    sym = market.normalize(symbol) if symbol else None
    if sym is None:
        return {}
    prof = market.profile(sym)
    x = prof.listing
    g = stable_rng(market.seed, sym, "overview")
    bars = market.bars(sym)
    price = bars[-1].close
    year = bars[-252:]
    closes = np.array([b.close for b in bars], dtype=np.float64)
    shares = int({1: 2.5e9, 2: 1.2e9, 3: 3e8}.get(x.tier, 3.5e8) * g.uniform(0.5, 1.5))
    if price > 10000:
        shares = int(1.4e6 * g.uniform(0.9, 1.1))
    past = market.past_events(sym)
    eps_ttm = sum(e.eps_reported or 0.0 for e in past[-4:])
    pays_dividend = x.sector not in ("TECHNOLOGY",) and not x.loss_making and g.uniform() < 0.8
    div_yield = g.uniform(0.005, 0.04) if pays_dividend else 0.0
    latest = past[-1].fiscal_date_ending if past else None
    pe = price / eps_ttm if eps_ttm > 0 else None
    return {
        "Symbol": sym,
        "AssetType": "Common Stock",
        "Name": x.name,
        "Description": f"{x.name} is a demo-market company in the {x.industry.lower()} industry.",
        "CIK": str(int(g.integers(1000, 2000000))),
        "Exchange": x.exchange,
        "Currency": "USD",
        "Country": "USA",
        "Sector": x.sector,
        "Industry": x.industry,
        "Address": "1 DEMO PLAZA, NEW YORK, NY, US",
        "OfficialSite": f"https://www.{sym.lower().replace('.', '')}.example",
        "FiscalYearEnd": "December",
        "LatestQuarter": latest.isoformat() if latest else "None",
        "MarketCapitalization": str(int(price * shares)),
        "EBITDA": str(int(abs(eps_ttm) * shares * 1.6)),
        "PERatio": _num(pe, 2) if pe is not None else "None",
        "PEGRatio": _num(g.uniform(0.8, 3.0), 3),
        "BookValue": _num(price * g.uniform(0.05, 0.5), 2),
        "DividendPerShare": _num(price * div_yield, 2) if pays_dividend else "None",
        "DividendYield": _num(div_yield, 4) if pays_dividend else "None",
        "EPS": _num(eps_ttm, 2),
        "RevenuePerShareTTM": _num(price * g.uniform(0.1, 0.6), 2),
        "ProfitMargin": _num(g.uniform(-0.1, 0.35) if x.loss_making else g.uniform(0.05, 0.35), 3),
        "OperatingMarginTTM": _num(g.uniform(0.02, 0.4), 3),
        "ReturnOnAssetsTTM": _num(g.uniform(0.01, 0.2), 3),
        "ReturnOnEquityTTM": _num(g.uniform(0.05, 0.6), 3),
        "RevenueTTM": str(int(price * shares * g.uniform(0.1, 0.6))),
        "GrossProfitTTM": str(int(price * shares * g.uniform(0.05, 0.3))),
        "DilutedEPSTTM": _num(eps_ttm, 2),
        "QuarterlyEarningsGrowthYOY": _num(g.uniform(-0.2, 0.5), 3),
        "QuarterlyRevenueGrowthYOY": _num(g.uniform(-0.1, 0.3), 3),
        "AnalystTargetPrice": _num(price * g.uniform(0.95, 1.3), 2),
        "AnalystRatingStrongBuy": str(int(g.integers(0, 20))),
        "AnalystRatingBuy": str(int(g.integers(0, 25))),
        "AnalystRatingHold": str(int(g.integers(0, 15))),
        "AnalystRatingSell": str(int(g.integers(0, 4))),
        "AnalystRatingStrongSell": str(int(g.integers(0, 2))),
        "TrailingPE": _num(pe, 2) if pe is not None else "None",
        "ForwardPE": _num(pe * g.uniform(0.7, 0.95), 2) if pe is not None else "None",
        "PriceToSalesRatioTTM": _num(g.uniform(1.0, 15.0), 3),
        "PriceToBookRatio": _num(g.uniform(1.0, 20.0), 2),
        "EVToRevenue": _num(g.uniform(1.0, 15.0), 3),
        "EVToEBITDA": _num(g.uniform(5.0, 40.0), 2),
        "Beta": _num(prof.base_vol / 0.18 * g.uniform(0.7, 0.9), 3),
        "52WeekHigh": _num(max(b.high for b in year), 2),
        "52WeekLow": _num(min(b.low for b in year), 2),
        "50DayMovingAverage": _num(float(np.mean(closes[-50:])), 2),
        "200DayMovingAverage": _num(float(np.mean(closes[-200:])), 2),
        "SharesOutstanding": str(shares),
        "SharesFloat": str(int(shares * g.uniform(0.8, 0.99))),
        "PercentInsiders": _num(g.uniform(0.05, 10.0), 3),
        "PercentInstitutions": _num(g.uniform(40.0, 85.0), 3),
        "DividendDate": "None",
        "ExDividendDate": "None",
    }


def av_time_series_daily(market: DemoMarket, symbol: str) -> JsonDict:
    """TIME_SERIES_DAILY compact: the last 100 bars keyed by date, newest first, as strings."""
    bars = market.bars(symbol)[-100:]
    series = {
        b.day.isoformat(): {
            "1. open": _num(b.open),
            "2. high": _num(b.high),
            "3. low": _num(b.low),
            "4. close": _num(b.close),
            "5. volume": str(b.volume),
        }
        for b in reversed(bars)
    }
    return {
        "Meta Data": {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": bars[-1].day.isoformat(),
            "4. Output Size": "Compact",
            "5. Time Zone": "US/Eastern",
        },
        "Time Series (Daily)": series,
    }


def av_time_series_csv(market: DemoMarket, symbol: str) -> str:
    """TIME_SERIES_DAILY datatype=csv (compact), newest first."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
    for b in reversed(market.bars(symbol)[-100:]):
        writer.writerow(
            [b.day.isoformat(), _num(b.open), _num(b.high), _num(b.low), _num(b.close), b.volume]
        )
    return buf.getvalue()


def epoch_ms(instant: dt.datetime) -> int:
    """Epoch milliseconds of an aware instant."""
    return round(instant.astimezone(UTC).timestamp() * 1000.0)
