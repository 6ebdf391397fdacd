"""Tradier streaming: the event parser, the line splitter and the stream-URL rule
(reference/provider-apis.md §1.11)."""

from __future__ import annotations

import datetime as dt

import pytest

from ivcrush_tui.calendar import UTC
from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.providers.http import PayloadError
from ivcrush_tui.providers.stream_buffers import LineSplitter, RateMeter
from ivcrush_tui.providers.tradier_events import (
    KEEPALIVE,
    StreamQuote,
    StreamSummary,
    StreamTimesale,
    StreamTrade,
    parse_event_line,
)
from ivcrush_tui.providers.tradier_stream import StreamOptions, check_stream_url

AT = dt.datetime.fromtimestamp(1557757189, UTC)


def test_a_quote_with_numbers_and_epoch_ms_strings() -> None:
    line = (
        b'{"type":"quote","symbol":"SPY","bid":281.84,"bidsz":60,"bidexch":"M",'
        b'"biddate":"1557757189000","ask":281.85,"asksz":6,"askexch":"Z","askdate":"1557757190000"}'
    )
    assert parse_event_line(line) == StreamQuote(
        "SPY", 281.84, 281.85, 60, 6, "M", "Z", AT, AT + dt.timedelta(seconds=1)
    )


def test_a_trade_whose_numbers_are_strings() -> None:
    line = (
        b'{"type":"trade","symbol":"SPY","exch":"J","price":"281.88","size":"100",'
        b'"cvol":"35249939","date":"1557757189000","last":"281.88"}'
    )
    assert parse_event_line(line) == StreamTrade("SPY", 281.88, 100, 35249939, 281.88, "J", AT)
    tradex = line.replace(b'"trade"', b'"tradex"')
    assert isinstance(parse_event_line(tradex), StreamTrade)


def test_summary_timesale_and_symbol_spellings() -> None:
    summary = parse_event_line(
        b'{"type":"summary","symbol":"BRK/B","open":"282.42","high":"283.49","low":"281.79",'
        b'"prevClose":"283.57"}'
    )
    assert summary == StreamSummary("BRK.B", 282.42, 283.49, 281.79, 283.57)
    sale = parse_event_line(
        b'{"type":"timesale","symbol":"spy261218c00600000","bid":"1.10","ask":"1.20",'
        b'"last":"1.15","size":"3","date":"1557757189000","seq":42,"flag":"","cancel":false,'
        b'"correction":"false","session":"normal"}'
    )
    assert sale == StreamTimesale(
        "SPY261218C00600000", 1.15, 1.10, 1.20, 3, AT, 42, None, False, False, "normal"
    )


@pytest.mark.parametrize("line", [b"", b"   ", b"\r"])
def test_blank_lines_are_keepalives(line: bytes) -> None:
    assert parse_event_line(line) is KEEPALIVE


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"quote","symbol":"SPY","bid":"n/a","ask":1.0}',  # a string for a number
        b'{"type":"quote","symbol":"SPY","bid":true}',  # a boolean for a number
        b'{"type":"flux","symbol":"SPY"}',  # an unknown type
        b'{"symbol":"SPY","bid":1.0}',  # no type
        b'{"type":"trade","symbol":"SPY","pri',  # a partial line
        b'{"type":"trade","symbol":"SPY","size":"1"}',  # a trade without a price
        b'{"type":"quote","bid":1.0}',  # no symbol
        b'{"type":"quote","symbol":"SPY","bid":-1.0}',  # a negative price
        b'{"type":"quote","symbol":"SPY","biddate":"99999999999999999"}',  # not an instant
        b'{"type":"timesale","symbol":"SPY","last":1,"cancel":"maybe"}',
        b"<html><body>502</body></html>",
        b"[1,2,3]",
        b"\xff\xfe",
    ],
)
def test_malformed_lines_raise_payload_error(line: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_event_line(line)


def test_the_splitter_joins_partial_lines_and_drops_oversized_ones() -> None:
    s = LineSplitter(limit=300)
    assert s.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert s.pending()
    assert s.feed(b":2}\n\n") == [b'{"b":2}', b""]
    assert s.feed(b"x" * 400) == []  # over the limit: skipped up to its newline
    assert s.feed(b"y" * 400 + b"\nok\n") == [b"ok"]
    assert s.overflows == 1
    assert s.feed(b"z" * 299 + b"\n") == [b"z" * 299]


def test_the_rate_meter_averages_over_its_window() -> None:
    meter = RateMeter(window_s=10.0)
    assert meter.rate(100.0) == 0.0
    for i in range(50):
        meter.add(100.0 + i * 0.1)  # 10 events/s for 5 s
    assert meter.rate(105.0) == pytest.approx(10.0, rel=0.05)
    assert meter.rate(200.0) == 0.0  # the window moved on


@pytest.mark.parametrize(
    "url",
    [
        "https://stream.tradier.com/v1/markets/events",
        "http://127.0.0.1:8765/tradier/v1/markets/events",
        "http://localhost:8765/x",
        "http://[::1]:8765/x",
    ],
)
def test_https_or_loopback_stream_urls_are_accepted(url: str) -> None:
    assert str(check_stream_url(url)) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://stream.tradier.com/v1/markets/events",  # plain http off this machine
        "http://10.0.0.5/v1/markets/events",
        "ftp://stream.tradier.com/x",
        "https://user:pw@stream.tradier.com/x",
        "not a url",
        "",
    ],
)
def test_other_stream_urls_are_refused_as_config_errors(url: str) -> None:
    with pytest.raises(ProviderError) as info:
        check_stream_url(url)
    assert info.value.code is ErrorCode.CONFIG
    assert "pw" not in str(info.value)


def test_stream_options_are_validated() -> None:
    with pytest.raises(IvCrushError):
        StreamOptions(filters=("quote", "bogus"))
    with pytest.raises(IvCrushError):
        StreamOptions(stale_after_s=0)
    with pytest.raises(IvCrushError):
        StreamOptions(backoff_base_s=5, backoff_max_s=1)
