"""Alpha Vantage bodies -> domain values: the earnings calendar CSV, EARNINGS, OVERVIEW and
TIME_SERIES_DAILY JSON (reference/provider-apis.md Part 2). Pure functions, no I/O; the client in
alphavantage.py checks a body for messages before any of these sees it."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from ivcrush_tui.domain import Bar, EarningsEvent, IvCrushError, Timing
from ivcrush_tui.providers.base import CompanyOverview
from ivcrush_tui.providers.http import PayloadError
from ivcrush_tui.symbols import from_alphavantage, validate_symbol

# The client's logger: warnings about skipped rows read as before the parsers moved here.
log = logging.getLogger("ivcrush_tui.providers.alphavantage")

SERIES_KEY = "Time Series (Daily)"
CALENDAR_COLUMNS = (
    "symbol", "name", "reportDate", "fiscalDateEnding", "estimate", "currency", "timeOfTheDay"
)  # fmt: skip
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MISSING = frozenset({"", "none", "null", "-", "n/a", "na", "0000-00-00"})
_BMO = frozenset({"premarket", "bmo", "beforemarket", "beforeopen", "beforemarketopen"})
_AMC = frozenset({"postmarket", "amc", "aftermarket", "afterclose", "aftermarketclose"})
_DMH = frozenset({"duringmarket", "dmh", "duringmarkethours", "intraday"})


# -- value helpers (Alpha Vantage sends every number as a string) ----------------------------------


def _text(value: Any) -> str | None:
    """A string value; None for "None", "-", "", "0000-00-00", null and non-text."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return None if text.lower() in _MISSING else text


def _number(value: Any) -> float | None:
    """A finite float from a numeric string; None for missing markers or non-numeric text."""
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _day(value: Any) -> dt.date | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def timing_from_text(value: Any) -> Timing:
    """'pre-market' -> BMO, 'post-market' -> AMC (any casing, with or without '-'/'_'/space);
    during-market -> DMH; anything else (empty, 'unknown') -> UNKNOWN."""
    text = _text(value)
    if text is None:
        return Timing.UNKNOWN
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    if key in _BMO:
        return Timing.BMO
    if key in _AMC:
        return Timing.AMC
    if key in _DMH:
        return Timing.DMH
    return Timing.UNKNOWN


def _get_ci(row: Mapping[str, Any], name: str) -> Any:
    """row[name], matching the key case-insensitively (reportTime vs ReportTime)."""
    if name in row:
        return row[name]
    low = name.lower()
    for key, value in row.items():
        if isinstance(key, str) and key.strip().lower() == low:
            return value
    return None


# -- payload parsers (pure) ------------------------------------------------------------------------


def parse_earnings_calendar_csv(text: str) -> tuple[EarningsEvent, ...]:
    """EARNINGS_CALENDAR CSV -> events sorted by (date, symbol), one per (symbol, date).

    Columns are mapped by header name (symbol, name, reportDate, fiscalDateEnding, estimate,
    currency, timeOfTheDay; the last is optional). Header only -> () (Alpha Vantage's answer
    with no rows; the header must be whole). Quoted fields may contain commas.

    A body that was cut or corrupted must never pass for a shorter calendar (every name after
    the cut would read "no upcoming earnings"), so it is a PayloadError (BAD_PAYLOAD, never
    cached): a row whose field count differs from the header's (a row cut short, or an
    unterminated quote); data rows whose body ends without a line break (Alpha Vantage ends
    every record with one, so the last record may be cut inside its final field); data rows of
    which none is valid. Single rows with a bad ticker or report date are skipped (counted in a
    warning)."""
    body = text.lstrip("\ufeff \t\r\n")
    # Records end with CR/LF only: str.splitlines would also break a name at U+2028 or \x85,
    # and the field-count check would then reject the whole calendar.
    lines = [line for line in _LINE_BREAK.split(body) if line.strip()]
    if not lines:
        raise PayloadError("empty body (expected CSV)")
    try:
        rows = list(csv.reader(lines, strict=True))
    except csv.Error as exc:
        raise PayloadError(f"malformed CSV ({exc}): truncated or corrupt body") from None
    header = [h.strip() for h in rows[0]]
    if "symbol" not in header or "reportDate" not in header:
        raise PayloadError(f"unexpected CSV header: {','.join(header)[:120]!r}")
    data = rows[1:]
    terminated = body.rstrip(" \t").endswith(("\n", "\r"))
    if not data:
        # Honestly empty: the whole header. A header cut short ("...,currency,timeOf", or at a
        # column boundary without its line break) would otherwise read as "no earnings at all".
        missing = [c for c in CALENDAR_COLUMNS[:-1] if c not in header]
        if missing or not (terminated or header[-1] == CALENDAR_COLUMNS[-1]):
            raise PayloadError(
                f"header-only body with an incomplete header {','.join(header)[:120]!r}: truncated"
            )
        return ()
    for number, fields in enumerate(data, start=2):
        if len(fields) != len(header):
            raise PayloadError(
                f"line {number} of {len(rows)} has {len(fields)} fields, the header {len(header)}: "
                "truncated or corrupt body"
            )
    if not terminated:
        raise PayloadError(
            f"the body ends mid-record (no line break after line {len(rows)}): truncated"
        )
    events: dict[tuple[str, dt.date], EarningsEvent] = {}
    skipped = 0
    for values in data:
        row = dict(zip(header, values, strict=True))
        date = _day(row.get("reportDate"))
        try:
            # AV's BRK-B is our BRK.B
            symbol: str | None = validate_symbol(from_alphavantage(row["symbol"]))
        except IvCrushError:
            symbol = None
        if date is None or symbol is None:
            skipped += 1
            continue
        events.setdefault(
            (symbol, date),
            EarningsEvent(
                symbol=symbol,
                date=date,
                timing=timing_from_text(row.get("timeOfTheDay")),
                fiscal_date_ending=_day(row.get("fiscalDateEnding")),
                eps_estimate=_number(row.get("estimate")),
                name=_text(row.get("name")),
            ),
        )
    if not events:
        raise PayloadError(f"none of the {len(data)} rows is a valid event: corrupt body")
    if skipped:
        log.warning("earnings calendar: skipped %d malformed rows", skipped)
    return tuple(events[k] for k in sorted(events, key=lambda k: (k[1], k[0])))


def parse_earnings(data: Any, symbol: str) -> tuple[EarningsEvent, ...]:
    """EARNINGS JSON -> the quarterly releases of `symbol` (our form), ascending by report date,
    one per date. "None"/"" values -> None; `reportTime` optional (any casing) -> Timing; a
    missing `quarterlyEarnings` (or `{}` for an unknown symbol) -> (). Rows without a valid
    reportedDate are skipped."""
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {type(data).__name__}")
    rows = data.get("quarterlyEarnings")
    if rows is None or (isinstance(rows, str) and _text(rows) is None):
        return ()
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        raise PayloadError(f"quarterlyEarnings is {type(rows).__name__}, expected a list")
    events: dict[dt.date, EarningsEvent] = {}
    skipped = 0
    for row in rows:
        date = _day(row.get("reportedDate")) if isinstance(row, dict) else None
        if date is None or not isinstance(row, dict):
            skipped += 1
            continue
        events.setdefault(
            date,
            EarningsEvent(
                symbol=symbol,
                date=date,
                timing=timing_from_text(_get_ci(row, "reportTime")),
                fiscal_date_ending=_day(row.get("fiscalDateEnding")),
                eps_estimate=_number(row.get("estimatedEPS")),
                eps_reported=_number(row.get("reportedEPS")),
            ),
        )
    if skipped:
        log.info("earnings %s: skipped %d rows without a report date", symbol, skipped)
    return tuple(events[d] for d in sorted(events))


def parse_overview(data: Any, symbol: str) -> CompanyOverview:
    """OVERVIEW JSON -> CompanyOverview; "None", "-", "" -> None; `{}` -> found=False.
    Non-positive market cap / share counts -> None (never a silent 0)."""
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {type(data).__name__}")
    if _text(data.get("Symbol")) is None and _text(data.get("Name")) is None:
        return CompanyOverview(symbol=symbol, found=False)

    def positive(name: str) -> float | None:
        value = _number(data.get(name))
        return value if value is not None and value > 0 else None

    return CompanyOverview(
        symbol=symbol,
        name=_text(data.get("Name")),
        sector=_text(data.get("Sector")),
        industry=_text(data.get("Industry")),
        market_cap=positive("MarketCapitalization"),
        exchange=_text(data.get("Exchange")),
        currency=_text(data.get("Currency")),
        country=_text(data.get("Country")),
        asset_type=_text(data.get("AssetType")),
        shares_outstanding=positive("SharesOutstanding"),
        pe_ratio=_number(data.get("PERatio")),
        beta=_number(data.get("Beta")),
        dividend_yield=_number(data.get("DividendYield")),
        fiscal_year_end=_text(data.get("FiscalYearEnd")),
        latest_quarter=_day(data.get("LatestQuarter")),
        found=True,
    )


def _series_price(values: Mapping[str, Any], name: str, day: dt.date) -> float | None:
    raw = values.get(name)
    if _text(raw) is None:
        return None
    number = _number(raw)
    if number is None:
        raise PayloadError(f"{day} {name} has {str(raw)[:20]!r}, expected a number")
    return number


def parse_time_series_daily(data: Any) -> tuple[Bar, ...]:
    """TIME_SERIES_DAILY (or _ADJUSTED) JSON -> bars ascending. Fields are matched by name after
    the "N. " prefix, so "5. volume" and the adjusted "6. volume" both work. A non-numeric price
    is BAD_PAYLOAD; a bar with a missing or non-positive price is skipped. `{}` -> ()."""
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {type(data).__name__}")
    if not data:
        return ()
    series = data.get(SERIES_KEY)
    if not isinstance(series, dict):
        raise PayloadError(f"no {SERIES_KEY!r} object")
    bars: dict[dt.date, Bar] = {}
    for key, raw_values in series.items():
        day = _day(key)
        if day is None or not isinstance(raw_values, dict):
            raise PayloadError(f"series entry {str(key)[:20]!r} is malformed")
        values = {str(k).split(". ", 1)[-1].strip().lower(): v for k, v in raw_values.items()}
        prices = [_series_price(values, k, day) for k in ("open", "high", "low", "close")]
        if any(p is None or p <= 0 for p in prices):
            continue
        o, h, lo, c = (float(p) for p in prices if p is not None)
        volume = _number(values.get("volume"))
        bars[day] = Bar(day, o, h, lo, c, int(volume) if volume is not None and volume > 0 else 0)
    return tuple(bars[d] for d in sorted(bars))


# -- the client ------------------------------------------------------------------------------------
