"""The demo market in Alpha Vantage's wire format (provider-apis.md §2): HTTP 200 for every error
with an `Information` / `Note` / `Error Message` body (the texts below, matched on substrings by
clients), string numbers, "None" strings, a CSV earnings calendar with the 7-column header, `{}`
for unknown symbols, the premium denial of outputsize=full. Pure functions of (market, params).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping

import numpy as np

from ivcrush_tui.domain import Timing
from ivcrush_tui.providers.demo.market import (
    DemoMarket,
    stable_rng,
)
from ivcrush_tui.providers.demo.responses import (
    JsonDict,
    WireResponse,
    av_message,
    json_response,
    text_response,
)
from ivcrush_tui.symbols import to_alphavantage

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


# -- Alpha Vantage ---------------------------------------------------------------------------------


def _num(x: float, places: int = 4) -> str:
    """Alpha Vantage-style number string: trimmed decimals ("251.3", "0.1")."""
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def alphavantage(market: DemoMarket, params: Mapping[str, str]) -> WireResponse:
    function = params.get("function", "").strip().upper()
    symbol = params.get("symbol", "").strip()
    if function == "EARNINGS_CALENDAR":
        horizon = params.get("horizon", "3month").strip().lower() or "3month"
        return text_response(
            av_earnings_calendar_csv(market, horizon, symbol or None), 200, "text/csv"
        )
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
            return text_response(av_time_series_csv(market, sym), 200, "text/csv")
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
