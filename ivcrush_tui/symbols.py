"""Ticker and OCC option symbols: validation and the provider spellings (pure).

Our form of a ticker is upper-case with '.' for share classes ("BRK.B"); Tradier spells share
classes with '/' ("BRK/B"), Alpha Vantage with '-' ("BRK-B", in its requests and in its earnings
calendar). Each client converts at its boundary, so the store and the engine only see our form.
An OCC option symbol is root + YYMMDD + C/P + strike in thousandths of a dollar, zero-padded to 8
digits ("AAPL260619C00200000"); the root of a share-class ticker drops the punctuation
(BRK.B -> "BRKB").
"""

from __future__ import annotations

import datetime as dt
import math
import re

from ivcrush_tui.domain import ErrorCode, IvCrushError, OptionType

__all__ = [
    "MAX_SYMBOL_LEN",
    "from_alphavantage",
    "from_tradier",
    "is_occ_symbol",
    "occ_root",
    "occ_symbol",
    "parse_occ",
    "to_alphavantage",
    "to_tradier",
    "validate_symbol",
]

MAX_SYMBOL_LEN = 10
MAX_OCC_STRIKE = 99_999.999  # 8 digits of thousandths
# Starts with a letter or digit: a lone "." or "-" is never a ticker.
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,9}$")
_OCC_RE = re.compile(r"^([A-Z0-9]{1,6})(\d{6})([CP])(\d{8})$")


def validate_symbol(raw: str) -> str:
    """The ticker in our form (stripped, upper-case), or IvCrushError(INVALID_SYMBOL).

    Accepted: 1-10 characters of letters, digits, '.' and '-', starting with a letter or digit.
    A Tradier-style '/' is not accepted: write share classes with '.' ("BRK.B")."""
    if not isinstance(raw, str):
        raise IvCrushError(
            ErrorCode.INVALID_SYMBOL, f"a ticker must be text, got {type(raw).__name__}"
        )
    symbol = raw.strip().upper()
    if not symbol:
        raise IvCrushError(ErrorCode.INVALID_SYMBOL, "empty ticker symbol")
    if len(symbol) > MAX_SYMBOL_LEN:
        raise IvCrushError(
            ErrorCode.INVALID_SYMBOL,
            f"ticker {_shown(symbol)} is too long ({len(symbol)} characters, at most "
            f"{MAX_SYMBOL_LEN})",
        )
    if not _SYMBOL_RE.match(symbol):
        raise IvCrushError(
            ErrorCode.INVALID_SYMBOL,
            f"ticker {_shown(symbol)} is not valid: use letters, digits, '.' or '-' "
            "(share classes as BRK.B), starting with a letter or digit",
        )
    return symbol


def _shown(symbol: str) -> str:
    # Echo user input bounded and printable (it may be pasted garbage).
    text = symbol if len(symbol) <= 24 else symbol[:24] + "..."
    return repr(text)


def to_tradier(symbol: str) -> str:
    """Our ticker -> Tradier's spelling ("BRK.B" -> "BRK/B")."""
    return symbol.strip().upper().replace(".", "/")


def from_tradier(symbol: str) -> str:
    """Tradier's ticker -> our spelling ("BRK/B" -> "BRK.B")."""
    return symbol.strip().upper().replace("/", ".")


def to_alphavantage(symbol: str) -> str:
    """Our ticker -> Alpha Vantage's spelling ("BRK.B" -> "BRK-B")."""
    return symbol.strip().upper().replace(".", "-")


def from_alphavantage(symbol: str) -> str:
    """Alpha Vantage's ticker -> our spelling ("BRK-B" -> "BRK.B")."""
    return symbol.strip().upper().replace("-", ".")


def occ_root(underlying: str) -> str:
    """The OCC root of a ticker: its letters and digits ("BRK.B" -> "BRKB").

    Corporate-action roots (AAPL1) and index weekly roots (SPXW) are not derivable from the ticker
    and are not produced here."""
    return re.sub(r"[^A-Z0-9]", "", underlying.strip().upper())


def occ_symbol(underlying: str, expiration: dt.date, option_type: OptionType, strike: float) -> str:
    """OCC symbol: root + YYMMDD + C/P + strike x 1000 zero-padded to 8 digits.

    `strike` in dollars per share. Raises IvCrushError(INVALID_SYMBOL) for an empty root, a root
    longer than 6 characters, an expiration outside 2000-2099, or a strike that is not finite,
    not positive, or above 99999.999."""
    root = occ_root(underlying)
    if not root or len(root) > 6:
        raise IvCrushError(
            ErrorCode.INVALID_SYMBOL, f"no OCC root for {_shown(underlying)} (1-6 letters/digits)"
        )
    if not isinstance(strike, int | float) or not math.isfinite(strike):
        raise IvCrushError(ErrorCode.INVALID_SYMBOL, f"strike {strike!r} is not a finite number")
    thousandths = round(float(strike) * 1000)
    if thousandths <= 0 or thousandths > round(MAX_OCC_STRIKE * 1000):
        raise IvCrushError(
            ErrorCode.INVALID_SYMBOL, f"strike {strike!r} is outside the OCC range (0, 99999.999]"
        )
    if not 2000 <= expiration.year <= 2099:
        raise IvCrushError(
            ErrorCode.INVALID_SYMBOL, f"expiration {expiration} is outside OCC's 20YY range"
        )
    flag = "C" if option_type is OptionType.CALL else "P"
    return f"{root}{expiration:%y%m%d}{flag}{thousandths:08d}"


def parse_occ(symbol: str) -> tuple[str, dt.date, OptionType, float] | None:
    """(root, expiration, type, strike in dollars) of an OCC symbol, or None when it is not one."""
    m = _OCC_RE.match(symbol.strip().upper())
    if m is None:
        return None
    digits = m.group(2)
    try:
        # OCC years are 20YY (strptime's %y would put 69-99 in the 1900s).
        expiration = dt.date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None
    kind = OptionType.CALL if m.group(3) == "C" else OptionType.PUT
    return m.group(1), expiration, kind, int(m.group(4)) / 1000.0


def is_occ_symbol(symbol: str) -> bool:
    """True when `symbol` parses as an OCC option symbol."""
    return parse_occ(symbol) is not None
