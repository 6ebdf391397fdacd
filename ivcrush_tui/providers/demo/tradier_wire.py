"""The demo market in Tradier's wire format (provider-apis.md §1): every list in a wrapper that
collapses to a bare value for one item and to null when empty; `unmatched_symbols`; epoch-ms
`trade_date`/`bid_date`/`ask_date` (0 = never traded); epoch-s clock timestamp; `greeks` absent /
null / populated; the `strikes=true` expiration shape. Pure functions of (market, request, now).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ivcrush_tui.calendar import NY, MarketState, TradingCalendar
from ivcrush_tui.domain import Bar, OptionType
from ivcrush_tui.providers.demo.market import (
    ContractQuote,
    DemoMarket,
    StockQuoteData,
)
from ivcrush_tui.providers.demo.responses import (
    TRADIER_PREFIX,
    JsonDict,
    WireRequest,
    WireResponse,
    apigee_fault,
    collapse,
    json_response,
    text_response,
    tradier_errors,
)
from ivcrush_tui.symbols import parse_occ

MAX_QUOTE_SYMBOLS = 2000  # bounded work per request

# -- Tradier ---------------------------------------------------------------------------------------


def _flag(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "false").strip().lower() == "true"


def tradier(market: DemoMarket, req: WireRequest, now: dt.datetime) -> JsonDict | WireResponse:
    sub = req.path[len(TRADIER_PREFIX) :]
    p = req.params
    if sub == "/markets/quotes":
        if req.method not in ("GET", "POST"):
            return text_response("Method Not Allowed", 405)
        symbols = [s.strip() for s in p.get("symbols", "").split(",") if s.strip()]
        if not symbols:
            return tradier_errors("Missing required parameter: symbols")
        if len(symbols) > MAX_QUOTE_SYMBOLS:
            return tradier_errors(f"Too many symbols (max {MAX_QUOTE_SYMBOLS})")
        return tradier_quotes(market, symbols, _flag(p, "greeks"), now)
    if req.method != "GET":
        return text_response("Method Not Allowed", 405)
    if sub == "/markets/options/expirations":
        if not p.get("symbol"):
            return tradier_errors("Missing required parameter: symbol")
        return tradier_expirations(
            market,
            p["symbol"],
            strikes=_flag(p, "strikes"),
            contract_size=_flag(p, "contractSize"),
            expiration_type=_flag(p, "expirationType"),
        )
    if sub == "/markets/options/chains":
        if not p.get("symbol") or not p.get("expiration"):
            return tradier_errors("Missing required parameters: symbol, expiration")
        exp = _parse_date(p["expiration"])
        if exp is None:
            return {"options": None}
        return tradier_chain(market, p["symbol"], exp, _flag(p, "greeks"), now)
    if sub == "/markets/history":
        if not p.get("symbol"):
            return tradier_errors("Missing required parameter: symbol")
        interval = p.get("interval", "daily").strip().lower() or "daily"
        if interval not in ("daily", "weekly", "monthly"):
            return tradier_errors(f"Invalid interval: {interval}")
        start = _parse_date(p["start"]) if p.get("start") else None
        end = _parse_date(p["end"]) if p.get("end") else None
        if (p.get("start") and start is None) or (p.get("end") and end is None):
            return tradier_errors("Invalid date: expected YYYY-MM-DD")
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
            return tradier_errors("Invalid month or year")
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
