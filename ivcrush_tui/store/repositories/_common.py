"""Helpers shared by the repositories: symbol and day checks, finite numbers, a row read by its
column names."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.store.db import from_iso

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


def opt_bool(value: Any) -> bool | None:
    """A stored 0/1/NULL flag."""
    return None if value is None else bool(value)


def opt_time(text: str | None) -> dt.datetime | None:
    """A stored UTC time, or NULL."""
    return None if text is None else from_iso(text)


def row_fields(
    cols: Sequence[str], row: Sequence[Any], convert: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    """A row's values by column name (the dataclass field of the same name), each column in
    `convert` read through its converter, the others as stored."""
    return {c: convert[c](v) if c in convert else v for c, v in zip(cols, row, strict=True)}
