"""Outages keep the last good values (issue 14): `hold_last_good`, the quote's time, the JSON."""

from __future__ import annotations

import datetime as dt

from ivcrush_tui.analytics.analysis import Analysis, ErrorInfo, StaleMark, Status
from ivcrush_tui.analytics.quotes import quote_time
from ivcrush_tui.domain import StockQuote
from ivcrush_tui.engine.last_good import hold_last_good
from ivcrush_tui.engine.schema import analysis_to_json
from ivcrush_tui.providers.tradier_parse import parse_stock_quote

T0 = dt.datetime(2026, 11, 23, 20, 30, tzinfo=dt.UTC)


def good(symbol: str = "AAPL", at: dt.datetime = T0, spot: float = 271.5) -> Analysis:
    return Analysis(
        symbol=symbol,
        as_of=at,
        status=Status.OK,
        spot=spot,
        quote_time=at - dt.timedelta(seconds=12),
    )


def failed(
    symbol: str = "AAPL", at: dt.datetime = T0, code: str = "circuit_open", corr: str = "c1"
) -> Analysis:
    return Analysis(
        symbol=symbol,
        as_of=at,
        status=Status.ERROR,
        error=ErrorInfo(code, f"tradier says {code}", corr),
    )


def test_an_error_after_a_good_result_keeps_the_good_one_marked_stale() -> None:
    prev = good()
    now = T0 + dt.timedelta(minutes=1)
    held = hold_last_good(prev, failed(at=now), now)
    assert held.spot == 271.5
    assert held.status is Status.OK
    assert held.as_of == T0
    assert held.quote_time == prev.quote_time  # the figures' quote, not the failed refresh's
    assert held.stale == StaleMark("circuit_open", "tradier says circuit_open", now, "c1")


def test_repeated_failures_keep_the_first_failure_as_since_and_the_latest_reason() -> None:
    t1, t2 = T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2)
    once = hold_last_good(good(), failed(at=t1), t1)
    twice = hold_last_good(once, failed(at=t2, code="timeout", corr="c2"), t2)
    assert twice.stale is not None
    assert twice.stale.since == t1
    assert (twice.stale.code, twice.stale.correlation_id) == ("timeout", "c2")
    assert twice.spot == 271.5


def test_a_good_result_clears_the_outage() -> None:
    t1, t2 = T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2)
    stale = hold_last_good(good(), failed(at=t1), t1)
    fresh = good(at=t2, spot=273.0)
    assert hold_last_good(stale, fresh, t2) is fresh
    assert fresh.stale is None


def test_nothing_good_to_keep_leaves_the_error() -> None:
    err = failed()
    assert hold_last_good(None, err, T0) is err
    assert hold_last_good(failed(corr="c0"), err, T0) is err
    assert hold_last_good(good(symbol="MSFT"), err, T0) is err  # another ticker's result


def test_a_non_error_outcome_is_an_answer_and_is_kept_too() -> None:
    no_event = Analysis("AAPL", T0, Status.NO_EVENT, error=ErrorInfo("no_event", "none known"))
    held = hold_last_good(no_event, failed(), T0)
    assert held.status is Status.NO_EVENT
    assert held.stale is not None
    # ... and a non-error outcome replaces a good one (it is a fresh answer).
    assert hold_last_good(good(), no_event, T0) is no_event


def test_an_already_held_result_passes_through_unchanged() -> None:
    held = hold_last_good(good(), failed(), T0)
    assert hold_last_good(good(spot=1.0), held, T0) is held


def test_quote_time_is_the_latest_of_the_trade_and_the_bid_ask() -> None:
    trade, book = T0 - dt.timedelta(minutes=5), T0 - dt.timedelta(seconds=2)
    q = StockQuote("AAPL", 1.0, 1.0, 1.1, 1.0, timestamp=trade, quote_timestamp=book)
    assert quote_time(q) == book
    assert quote_time(StockQuote("AAPL", 1.0, None, None, None, timestamp=trade)) == trade
    assert quote_time(StockQuote("AAPL", 1.0, None, None, None)) is None
    assert quote_time(None) is None


def test_the_tradier_quote_carries_its_bid_and_ask_dates() -> None:
    ms = int(T0.timestamp() * 1000)
    q = parse_stock_quote(
        {"symbol": "AAPL", "last": 1.0, "trade_date": ms - 60_000, "bid_date": ms - 2000,
         "ask_date": ms}
    )  # fmt: skip
    assert q.timestamp == T0 - dt.timedelta(minutes=1)
    assert q.quote_timestamp == T0
    assert quote_time(q) == T0
    assert parse_stock_quote({"symbol": "AAPL", "bid_date": 0}).quote_timestamp is None


def test_json_has_quote_time_and_stale() -> None:
    fresh = analysis_to_json(good())
    assert fresh["quote_time"] == (T0 - dt.timedelta(seconds=12)).isoformat()
    assert fresh["stale"] is None
    now = T0 + dt.timedelta(minutes=1)
    kept = analysis_to_json(hold_last_good(good(), failed(at=now), now))
    assert kept["status"] == "ok"
    assert kept["spot"] == 271.5
    assert kept["error"] is None
    assert kept["stale"] == {
        "code": "circuit_open",
        "message": "tradier says circuit_open",
        "correlation_id": "c1",
        "since": now.isoformat(),
    }
    assert analysis_to_json(failed())["quote_time"] is None
