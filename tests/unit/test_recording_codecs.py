"""The codecs of recordings: Analysis <-> compact JSON, an analysis packed against the previous
one, and quote chunks; exact round trips, and damaged input refused with a typed error."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.domain import Unavailable
from ivcrush_tui.engine.analysis_codec import CodecError, decode_analysis, encode_analysis
from ivcrush_tui.engine.analysis_pack import PackError, pack, unpack
from ivcrush_tui.engine.quote_codec import QuoteCodecError, decode_quotes, encode_quotes
from ivcrush_tui.engine.recorded import RecordedQuote, from_ms, to_ms
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, build_analysis, error_analysis

CAL = TradingCalendar()


def _analyses() -> list[Analysis]:
    return [build_analysis(s, FIXED_NOW, CAL) for s in SCRIPTS.values()]


@pytest.mark.parametrize("analysis", _analyses(), ids=lambda a: a.symbol)
def test_every_console_analysis_round_trips_exactly(analysis: Analysis) -> None:
    text = encode_analysis(analysis)
    assert " " not in text.split('"reasons"')[0][:50]  # compact: no separators' spaces
    back = decode_analysis(text)
    assert back == analysis
    # Exact, not merely equal: the floats are the same bits, the nested types the same.
    assert encode_analysis(back) == text
    assert type(back.implied) is type(analysis.implied)


def test_unavailable_parts_errors_and_special_floats_round_trip() -> None:
    base = _analyses()[0]
    odd = dataclasses.replace(
        base,
        rv30=Unavailable("n/a: 12 sessions"),
        skew=Unavailable("too few strikes"),
        iv_rv=math.inf,
        market_cap=None,
        notes=("ünïcode — ok", ""),
    )
    assert decode_analysis(encode_analysis(odd)) == odd
    err = error_analysis("ZZZ", FIXED_NOW, "timeout", "tradier quotes: timed out", "c0ffee")
    assert decode_analysis(encode_analysis(err)) == err
    nan = dataclasses.replace(base, call_iv=math.nan)
    back = decode_analysis(encode_analysis(nan))
    assert back.call_iv is not None
    assert math.isnan(back.call_iv)


finite = st.floats(allow_nan=False, allow_infinity=True, width=64)


@given(
    spot=finite,
    call_iv=st.none() | finite,
    market_cap=st.none() | st.floats(min_value=0, max_value=1e13),
    notes=st.lists(st.text(max_size=30), max_size=4).map(tuple),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_property_round_trip(
    spot: float, call_iv: float | None, market_cap: float | None, notes: tuple[str, ...],
    micros: int,
) -> None:  # fmt: skip
    base = _analyses()[1]
    a = dataclasses.replace(
        base,
        spot=spot,
        call_iv=call_iv,
        market_cap=market_cap,
        notes=notes,
        as_of=base.as_of.replace(microsecond=micros),
    )
    assert decode_analysis(encode_analysis(a)) == a


def test_defaults_are_left_out_so_an_error_row_is_small() -> None:
    err = error_analysis("ZZZ", FIXED_NOW, "timeout", "timed out")
    data = json.loads(encode_analysis(err))
    assert set(data) == {"symbol", "as_of", "status", "error", "recommendation"}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"symbol": "X"}',  # as_of and status missing
        '{"symbol": "X", "as_of": "2026-11-23T20:00:00+00:00", "status": "bogus"}',
        '{"symbol": 1, "as_of": "2026-11-23T20:00:00+00:00", "status": "ok"}',
        '{"symbol": "X", "as_of": "2026-11-23T20:00:00+00:00", "status": "ok", "spot": "1"}',
        '{"symbol": "X", "as_of": "2026-11-23T20:00:00+00:00", "status": "ok", "extra": 1}',
        '{"symbol": "X", "as_of": "yesterday", "status": "ok"}',
    ],
)
def test_what_is_not_an_analysis_is_refused(text: str) -> None:
    with pytest.raises(CodecError):
        decode_analysis(text)


# -- quotes ---------------------------------------------------------------------------------------

T0 = to_ms(dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC))

price = st.none() | st.floats(min_value=0, max_value=5000, allow_nan=False)
tick_price = st.none() | st.integers(min_value=0, max_value=50_000_000).map(lambda n: n / 10_000)


@st.composite
def chunks(draw: st.DrawFn, prices: st.SearchStrategy[float | None]) -> list[RecordedQuote]:
    steps = draw(st.lists(st.integers(min_value=0, max_value=60_000), min_size=1, max_size=80))
    out: list[RecordedQuote] = []
    ms = T0
    for step in steps:
        ms += step
        volume = draw(st.none() | st.integers(min_value=0, max_value=2**40))
        out.append(
            RecordedQuote("AAPL", from_ms(ms), draw(prices), draw(prices), draw(prices), volume)
        )
    return out


@given(chunks(tick_price))
def test_listed_prices_round_trip_exactly(quotes: list[RecordedQuote]) -> None:
    assert decode_quotes("AAPL", encode_quotes(quotes, T0), T0) == quotes


@given(chunks(price))
def test_any_float_round_trips_exactly(quotes: list[RecordedQuote]) -> None:
    back = decode_quotes("AAPL", encode_quotes(quotes, T0), T0)
    assert back == quotes
    assert [q.bid for q in back] == [q.bid for q in quotes]


def test_a_quiet_quote_costs_a_few_bytes() -> None:
    quotes = [
        RecordedQuote("AAPL", from_ms(T0 + 250 * i), 190.10 + 0.01 * (i % 3), 190.14, 190.12, 10**6)
        for i in range(240)
    ]
    blob = encode_quotes(quotes, T0)
    assert len(blob) / len(quotes) < 2.0
    assert decode_quotes("AAPL", blob, T0) == quotes


def test_damaged_chunks_are_refused() -> None:
    quotes = [RecordedQuote("AAPL", from_ms(T0 + i), 1.0, 1.1) for i in range(10)]
    blob = encode_quotes(quotes, T0)
    with pytest.raises(QuoteCodecError):
        decode_quotes("AAPL", blob[:-3], T0)
    with pytest.raises(QuoteCodecError):
        decode_quotes("AAPL", zlib.compress(zlib.decompress(blob)[:-5]), T0)
    with pytest.raises(QuoteCodecError):
        decode_quotes("AAPL", zlib.compress(b"\x07" + zlib.decompress(blob)[1:]), T0)
    with pytest.raises(ValueError, match="time order"):
        encode_quotes(list(reversed(quotes)), T0)


def test_milliseconds_since_the_epoch() -> None:
    at = dt.datetime(2026, 11, 23, 15, 30, 1, 234_567, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert from_ms(to_ms(at)) == at.replace(microsecond=234_000)
    assert to_ms(from_ms(0)) == 0


# -- packing an analysis against the previous one -------------------------------------------------


def _text(a: Analysis) -> bytes:
    return encode_analysis(a).encode()


def test_packing_picks_the_cheapest_lossless_form() -> None:
    a = _analyses()[0]
    b = dataclasses.replace(
        a, spot=190.37, call_iv=0.4123456789, as_of=a.as_of + dt.timedelta(seconds=15)
    )
    c = dataclasses.replace(b, notes=(*b.notes, "a new reason"))  # the shape changes
    standalone = pack(_text(a), None)
    floats = pack(_text(b), _text(a))
    dictionary = pack(_text(c), _text(b))
    assert (standalone[0], floats[0], dictionary[0]) == (0, 2, 1)
    assert len(floats) < len(standalone) / 8  # three values moved: a few dozen bytes
    assert unpack(standalone, None) == _text(a)
    assert unpack(floats, _text(a)) == _text(b)
    assert unpack(dictionary, _text(b)) == _text(c)
    assert decode_analysis(unpack(floats, _text(a))) == b


@given(st.lists(st.floats(width=64) | st.integers() | st.booleans() | st.none(), max_size=12))
def test_packing_round_trips_any_values_of_one_shape(values: list[Any]) -> None:
    base = json.dumps({"v": [0.5] * len(values), "t": "x"}, separators=(",", ":")).encode()
    text = json.dumps({"v": values, "t": "y"}, separators=(",", ":")).encode()
    assert unpack(pack(text, base), base) == text


def test_what_json_equality_misses_still_round_trips() -> None:
    base = b'{"a":1,"b":2.5}'
    # 1 == True in Python: the changed value goes in the patch.
    packed = pack(b'{"a":true,"b":2.5}', base)
    assert packed[0] == 2
    assert unpack(packed, base) == b'{"a":true,"b":2.5}'
    # Dict equality ignores key order: the check on the rebuilt text falls back to the dictionary.
    packed = pack(b'{"b":2.5,"a":1}', base)
    assert packed[0] == 1
    assert unpack(packed, base) == b'{"b":2.5,"a":1}'


def test_damaged_packed_rows_are_refused() -> None:
    a = _text(_analyses()[0])
    b = _text(dataclasses.replace(_analyses()[0], spot=191.0))
    floats = pack(b, a)
    for data, base in (
        (b"", None),
        (b"\x09abc", a),  # unknown form
        (floats, None),  # chained without its base
        (floats[:-4], a),  # cut
        (floats, b'{"other":1.0}'),  # the wrong base
        (b"\x01garbage", a),  # not a zlib stream
    ):
        with pytest.raises(PackError):
            unpack(data, base)
