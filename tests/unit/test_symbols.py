"""Ticker validation, Tradier spelling and OCC option symbols.

OCC format reference: OCC "Options Symbology Initiative" (OSI, 2010): a 21-character key of root
(up to 6), YYMMDD, C/P and the strike x 1000 in 8 digits; e.g. the OSI worked example
"SPX   141122P00019500" is the SPX 19.50 put of 2014-11-22 (the padding spaces are omitted in the
compact form providers use).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivcrush_tui.domain import ErrorCode, IvCrushError, OptionType
from ivcrush_tui.symbols import (
    from_alphavantage,
    from_tradier,
    is_occ_symbol,
    occ_root,
    occ_symbol,
    parse_occ,
    to_alphavantage,
    to_tradier,
    validate_symbol,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("aapl", "AAPL"),
        ("  msft \n", "MSFT"),
        ("BRK.B", "BRK.B"),
        ("bf-b", "BF-B"),
        ("A", "A"),
        ("ABCDEFGHIJ", "ABCDEFGHIJ"),
        ("X2", "X2"),
    ],
)
def test_validate_symbol_accepts_and_normalises(raw: str, expected: str) -> None:
    assert validate_symbol(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "ABCDEFGHIJK", "AA PL", "AAPL$", "BRK/B", ".A", "-", "ÄPPL", "A;DROP"]
)
def test_validate_symbol_rejects_with_a_typed_error(raw: str) -> None:
    with pytest.raises(IvCrushError) as info:
        validate_symbol(raw)
    assert info.value.code is ErrorCode.INVALID_SYMBOL
    assert info.value.message  # explained, not empty


def test_validate_symbol_names_the_bad_input_and_the_rule() -> None:
    with pytest.raises(IvCrushError) as info:
        validate_symbol("AA$PL")
    assert "'AA$PL'" in info.value.message
    assert "letters, digits" in info.value.message


def test_validate_symbol_too_long_says_so() -> None:
    with pytest.raises(IvCrushError, match="too long"):
        validate_symbol("ABCDEFGHIJKL")


def test_validate_symbol_rejects_non_text() -> None:
    with pytest.raises(IvCrushError) as info:
        validate_symbol(123)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_SYMBOL


def test_alpha_vantage_spelling_round_trips() -> None:
    assert to_alphavantage("BRK.B") == "BRK-B"
    assert from_alphavantage("BRK-B") == "BRK.B"
    assert from_alphavantage(" brk-b ") == "BRK.B"
    assert to_alphavantage("aapl") == "AAPL"  # plain tickers pass unchanged
    assert from_alphavantage("IBM") == "IBM"
    for ours in ("BF.A", "BRK.B", "MSFT", "PBR.A", "X"):
        assert from_alphavantage(to_alphavantage(ours)) == ours
        assert validate_symbol(from_alphavantage(to_alphavantage(ours))) == ours


def test_tradier_spelling_round_trips() -> None:
    assert to_tradier("BRK.B") == "BRK/B"
    assert from_tradier("BRK/B") == "BRK.B"
    assert to_tradier("aapl") == "AAPL"
    assert from_tradier(to_tradier("BF.A")) == "BF.A"


def test_occ_symbol_examples() -> None:
    june = dt.date(2026, 6, 19)
    assert occ_symbol("AAPL", june, OptionType.CALL, 200.0) == "AAPL260619C00200000"
    assert occ_symbol("SPY", june, OptionType.PUT, 480) == "SPY260619P00480000"
    assert occ_symbol("AAPL", june, OptionType.CALL, 182.5) == "AAPL260619C00182500"
    # OSI worked example (see the module docstring): SPX 19.50 put, 2014-11-22.
    assert occ_symbol("SPX", dt.date(2014, 11, 22), OptionType.PUT, 19.5) == "SPX141122P00019500"
    # Share classes drop the punctuation in the root.
    assert occ_symbol("BRK.B", june, OptionType.CALL, 450) == "BRKB260619C00450000"
    assert occ_root("brk.b") == "BRKB"


def test_occ_symbol_rounds_float_noise_to_thousandths() -> None:
    june = dt.date(2026, 6, 19)
    assert occ_symbol("X", june, OptionType.CALL, 182.49999999) == "X260619C00182500"
    assert occ_symbol("X", june, OptionType.CALL, 0.5) == "X260619C00000500"
    assert occ_symbol("X", june, OptionType.CALL, 99999.999) == "X260619C99999999"


@pytest.mark.parametrize("strike", [0.0, -5.0, float("nan"), float("inf"), 100000.0, 0.0001])
def test_occ_symbol_rejects_bad_strikes(strike: float) -> None:
    with pytest.raises(IvCrushError) as info:
        occ_symbol("AAPL", dt.date(2026, 6, 19), OptionType.CALL, strike)
    assert info.value.code is ErrorCode.INVALID_SYMBOL


@pytest.mark.parametrize("root", ["", "...", "ABCDEFG"])
def test_occ_symbol_rejects_bad_roots(root: str) -> None:
    with pytest.raises(IvCrushError):
        occ_symbol(root, dt.date(2026, 6, 19), OptionType.PUT, 10.0)


def test_occ_symbol_rejects_years_outside_20yy() -> None:
    with pytest.raises(IvCrushError):
        occ_symbol("AAPL", dt.date(1999, 12, 17), OptionType.PUT, 10.0)


def test_parse_occ() -> None:
    assert parse_occ("AAPL260619C00200000") == (
        "AAPL",
        dt.date(2026, 6, 19),
        OptionType.CALL,
        200.0,
    )
    assert parse_occ(" spy260619p00480500 ") == ("SPY", dt.date(2026, 6, 19), OptionType.PUT, 480.5)
    assert parse_occ("AAPL1260619C00200000") is not None  # corporate-action root
    assert parse_occ("AAPL") is None
    assert parse_occ("AAPL261319C00200000") is None  # month 13
    assert parse_occ("AAPL690117C00200000") == (
        "AAPL",
        dt.date(2069, 1, 17),
        OptionType.CALL,
        200.0,
    )
    assert parse_occ("AAPL260619X00200000") is None
    assert not is_occ_symbol("BRK.B")
    assert is_occ_symbol("BRKB260619C00450000")


@given(
    root=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6),
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    kind=st.sampled_from([OptionType.CALL, OptionType.PUT]),
    thousandths=st.integers(min_value=1, max_value=99_999_999),
)
def test_occ_round_trip(root: str, day: dt.date, kind: OptionType, thousandths: int) -> None:
    symbol = occ_symbol(root, day, kind, thousandths / 1000.0)
    assert len(symbol) == len(root) + 15
    assert parse_occ(symbol) == (root, day, kind, thousandths / 1000.0)
