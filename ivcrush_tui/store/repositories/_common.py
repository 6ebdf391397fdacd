"""Helpers shared by the repositories: symbol and day checks, finite numbers."""

from __future__ import annotations

import datetime as dt
import math
import re

from ivcrush_tui.domain import ErrorCode, IvCrushError

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-/^]{0,15}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalize_symbol(symbol: str) -> str:
    """Upper-cased, stripped symbol; IvCrushError(INVALID_SYMBOL) when it cannot be a ticker."""
    norm = symbol.strip().upper()
    if not _SYMBOL.match(norm):
        raise IvCrushError(ErrorCode.INVALID_SYMBOL, f"not a ticker symbol: {symbol!r}")
    return norm


def checked_finite(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value):
        raise IvCrushError(ErrorCode.INTERNAL, f"refusing to store non-finite {name}={value!r}")
    return float(value)


def parse_day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def check_day(day: str) -> str:
    if not _DAY.match(day):
        raise IvCrushError(ErrorCode.INTERNAL, f"quota day must be YYYY-MM-DD, got {day!r}")
    return day
