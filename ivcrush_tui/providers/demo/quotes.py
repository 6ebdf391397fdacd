"""Stock quotes of the demo market: the quote record and the seeded intraday path.

Prices in dollars per share, vols as fractions per year, times as fractions of a session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["StockQuoteData", "intraday_prices"]

_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StockQuoteData:
    """A stock quote with every field the Tradier wire needs (prices in dollars)."""

    symbol: str
    description: str
    exchange_code: str
    last: float
    change: float
    change_percentage: float
    volume: int
    open: float | None
    high: float | None
    low: float | None
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    prev_close: float
    average_volume: int
    last_volume: int
    trade_date_ms: int
    quote_date_ms: int
    week_52_high: float
    week_52_low: float
    root_symbol: str | None  # option root, None when no options are listed


def intraday_prices(
    bar: tuple[float, float, float, float],
    base_vol: float,
    g: np.random.Generator,
    taus: _FloatArray,
) -> _FloatArray:
    """Prices (dollars) at session fractions `taus` in [0, 1] of a day whose bar is
    (open, high, low, close): a smooth seeded bridge from the open to the close, kept inside
    the high and low, so a closed day's quotes agree with its bar. `base_vol` is per year."""
    open_, high, low, close = bar
    z = g.normal(0.0, 1.0, 4)
    sd = base_vol / math.sqrt(252.0)
    bridge = np.zeros_like(taus)
    for k in range(1, 5):
        bridge += 0.45 * z[k - 1] * np.sin(k * math.pi * taus) / k
    log_px = math.log(open_) + taus * (math.log(close) - math.log(open_)) + sd * bridge
    return np.asarray(np.clip(np.exp(log_px), low, high), dtype=np.float64)
