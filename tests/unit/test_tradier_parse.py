"""The Tradier payload parsers' fast paths (exact-type coercion, lazy OCC parsing, converted
strings cached) must decide every quirk exactly as the documented rules say."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ivcrush_tui.calendar import UTC
from ivcrush_tui.domain import OptionType
from ivcrush_tui.providers.http import PayloadError
from ivcrush_tui.providers.tradier_parse import parse_chain, parse_expirations, parse_option

OCC = "SPY260619P00480000"


def contract(**over: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "symbol": OCC, "type": "option", "bid": 3.1, "ask": 3.14, "last": 3.12, "volume": 845,
        "open_interest": 12040, "underlying": "SPY", "strike": 480.0, "contract_size": 100,
        "expiration_date": "2026-06-19", "expiration_type": "standard", "option_type": "put",
        "root_symbol": "SPY",
        "greeks": {"delta": -0.24, "gamma": 0.007, "theta": -0.085, "vega": 0.41,
                   "mid_iv": 0.1945, "updated_at": "2026-05-29 14:59:03"},
    }  # fmt: skip
    obj.update(over)
    return obj


@pytest.mark.parametrize("empty", [None, "null", " NULL ", "", {}, []])
def test_an_empty_expiration_date_falls_back_to_the_occ_symbol(empty: Any) -> None:
    assert parse_option(contract(expiration_date=empty)).expiration == dt.date(2026, 6, 19)


@pytest.mark.parametrize("bad", ["2026-13-01", "June 19", 20260619, ["2026-06-19"]])
def test_a_malformed_expiration_date_is_an_error_not_a_fallback(bad: Any) -> None:
    with pytest.raises(PayloadError, match="expiration_date"):
        parse_option(contract(expiration_date=bad))


def test_an_unparseable_symbol_is_fine_until_a_field_needs_it() -> None:
    q = parse_option(contract(symbol="weird-symbol"))
    assert (q.symbol, q.strike, q.option_type) == ("WEIRD-SYMBOL", 480.0, OptionType.PUT)
    for field in ("expiration_date", "strike", "option_type"):
        with pytest.raises(PayloadError, match="has no"):
            parse_option(contract(symbol="weird-symbol", **{field: None}))
    with pytest.raises(PayloadError, match="no underlying"):
        parse_option(contract(symbol="weird-symbol", underlying=None), underlying="")


def test_underlying_falls_back_to_the_argument_then_the_occ_root() -> None:
    assert parse_option(contract(underlying=None), underlying="BRK.B").underlying == "BRK.B"
    assert parse_option(contract(underlying="  "), underlying="").underlying == "SPY"
    assert parse_option(contract(underlying="BRK/B")).underlying == "BRK.B"


@pytest.mark.parametrize(("text", "kind"), [("call", OptionType.CALL), ("PUT", OptionType.PUT),
                                            (" Call ", OptionType.CALL)])  # fmt: skip
def test_option_type_is_case_insensitive(text: str, kind: OptionType) -> None:
    assert parse_option(contract(option_type=text)).option_type is kind


def test_greeks_timestamps_are_read_once_per_text_and_as_utc() -> None:
    a = parse_option(contract())
    b = parse_option(contract(symbol="SPY260619C00480000", option_type="call"))
    assert a.greeks_updated == dt.datetime(2026, 5, 29, 14, 59, 3, tzinfo=UTC)
    assert a.greeks_updated is b.greeks_updated  # converted once, shared (immutable)
    zoned = contract(greeks={"updated_at": "2026-05-29T10:59:03-04:00", "mid_iv": 0.0})
    q = parse_option(zoned)
    assert q.greeks_updated == a.greeks_updated
    assert q.mid_iv is None
    assert parse_option(contract(greeks={"updated_at": "soon"})).greeks_updated is None
    assert parse_option(contract(greeks={"updated_at": 5})).greeks_updated is None


def test_a_chain_drops_adjusted_contracts_whatever_the_number_type() -> None:
    data = {"options": {"option": [
        contract(),
        contract(symbol="SPY1260619P00480000", contract_size=50),
        contract(symbol="SPY2260619P00480000", contract_size="50"),
        contract(symbol="SPY260619C00480000", option_type="call", contract_size=100.0),
    ]}}  # fmt: skip
    chain = parse_chain(data, "SPY", dt.date(2026, 6, 19))
    assert [q.symbol for q in chain.options] == ["SPY260619C00480000", OCC]


@pytest.mark.parametrize("bad", [0.0, -5.0, float("nan"), float("inf"), "abc", True])
def test_strikes_must_be_positive_finite_numbers(bad: Any) -> None:
    data = {
        "expirations": {"expiration": {"date": "2026-06-19", "strikes": {"strike": [1.0, bad]}}}
    }
    with pytest.raises(PayloadError):
        parse_expirations(data)


def test_strikes_of_every_number_type_are_sorted_floats() -> None:
    strikes = {"strike": [10, "7.5", 12.5, 10.0]}
    data = {"expirations": {"expiration": {"date": "2026-06-19", "strikes": strikes}}}
    (exp,) = parse_expirations(data)
    assert exp.strikes == (7.5, 10.0, 12.5)
    assert all(type(k) is float for k in exp.strikes)
