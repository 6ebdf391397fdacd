"""Quote validity, mids, spreads and spot (METHODS.md §2). Prices in dollars per share."""

from __future__ import annotations

import datetime as dt
import math

from ivcrush_tui.domain import StockQuote, Unavailable


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def is_valid_leg(bid: float | None, ask: float | None) -> bool:
    """A leg is priceable when bid > 0 and ask >= bid (both finite)."""
    # One chained comparison is exact: NaN fails every comparison, and `< inf` rejects inf. It runs
    # for every contract of every chain, so it stays a single expression.
    return bid is not None and ask is not None and 0.0 < bid <= ask < math.inf


def leg_mid(bid: float | None, ask: float | None) -> float | None:
    """(bid + ask) / 2 for a valid leg, else None (a zero-bid or crossed leg is never priced)."""
    if bid is not None and ask is not None and 0.0 < bid <= ask < math.inf:
        return (bid + ask) / 2.0
    return None


def spread_pct(bid: float | None, ask: float | None) -> float | None:
    """Bid/ask spread as percent of mid (12.5 means 12.5 %); None for an invalid leg."""
    mid = leg_mid(bid, ask)
    if mid is None:
        return None
    return 100.0 * (ask - bid) / mid  # type: ignore[operator]


def spot_price(quote: StockQuote) -> float | Unavailable:
    """Spot in dollars: last trade if > 0, else the stock's mid, else previous close."""
    if _finite(quote.last) and quote.last > 0:  # type: ignore[operator]
        return float(quote.last)  # type: ignore[arg-type]
    mid = leg_mid(quote.bid, quote.ask)
    if mid is not None:
        return mid
    if _finite(quote.prev_close) and quote.prev_close > 0:  # type: ignore[operator]
        return float(quote.prev_close)  # type: ignore[arg-type]
    return Unavailable(f"{quote.symbol}: no usable price (no last, bid/ask or previous close)")


def quote_time(quote: StockQuote | None) -> dt.datetime | None:
    """The instant a stock quote describes (aware UTC): its latest update, trade or bid/ask,
    whichever is later; None when the provider gave neither."""
    if quote is None:
        return None
    stamps = [t for t in (quote.timestamp, quote.quote_timestamp) if t is not None]
    return max(stamps) if stamps else None
