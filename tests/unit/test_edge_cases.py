"""Edge cases through the single analysis entry point (`analytics.analysis.analyze`) and the
Tradier client: every bad or odd input yields a typed, explained outcome (status, error code,
reason) and JSON without NaN or infinity.

The base case is a hand-built AMC name at $100 reporting Monday 2026-11-23 (Thanksgiving week:
the event expiration Friday 11-27 is a half day), analysed at 15:30 ET inside the entry window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ivcrush_tui.analytics.analysis import Analysis, AnalysisInputs, Status, analyze
from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.recommendation import Action
from ivcrush_tui.calendar import NY, default_calendar
from ivcrush_tui.config import default_settings
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    ErrorCode,
    OptionChain,
    OptionQuote,
    OptionType,
    ProviderError,
    StockQuote,
    Timing,
    Unavailable,
)
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.schema import analysis_to_json
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.http import make_http_client
from ivcrush_tui.providers.tradier import TradierClient

CAL = default_calendar()
PARAMS = AnalysisParams()
NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(dt.UTC)  # Monday, entry window
EVENT = EarningsEvent("EDGE", dt.date(2026, 11, 23), Timing.AMC)  # reaction Tue 11-24
FRONT = dt.date(2026, 11, 27)  # Friday after Thanksgiving (half day): the event expiration
BACK = dt.date(2026, 12, 4)
STRIKES = (90.0, 95.0, 100.0, 105.0, 110.0)
SPOT = 100.0


# -- builders ------------------------------------------------------------------------------------


def leg(
    exp: dt.date,
    strike: float,
    kind: OptionType,
    mid: float,
    iv: float | None,
    *,
    half_spread: float = 0.05,
    symbol: str = "EDGE",
) -> OptionQuote:
    flag = "C" if kind is OptionType.CALL else "P"
    return OptionQuote(
        symbol=f"{symbol}{exp:%y%m%d}{flag}{round(strike * 1000):08d}",
        underlying=symbol,
        expiration=exp,
        strike=strike,
        option_type=kind,
        bid=round(mid - half_spread, 2),
        ask=round(mid + half_spread, 2),
        volume=100,
        open_interest=2000,
        mid_iv=iv,
        delta=0.5 if kind is OptionType.CALL else -0.5,
    )


def chain(
    exp: dt.date,
    iv: float,
    *,
    now: dt.datetime = NOW,
    spot: float = SPOT,
    strikes: tuple[float, ...] = STRIKES,
    provider_iv: bool = True,
    half_spread: float = 0.05,
) -> OptionChain:
    """Every strike priced by BSM at a flat `iv` (so mids and IVs agree)."""
    T = CAL.pricing_time_years(now, exp)
    legs = []
    for k in strikes:
        for kind in (OptionType.CALL, OptionType.PUT):
            mid = max(float(bsm_price(spot, k, T, iv, kind is OptionType.CALL, 0.0)), 0.10)
            legs.append(
                leg(exp, k, kind, round(mid, 2), iv if provider_iv else None,
                    half_spread=half_spread)
            )  # fmt: skip
    return OptionChain("EDGE", exp, tuple(legs))


def history(
    moves: list[float], *, end: dt.date = dt.date(2026, 11, 20)
) -> tuple[tuple[Bar, ...], tuple[EarningsEvent, ...]]:
    """Flat $100 closes for two years; each AMC event ~63 sessions apart moves the next close by
    moves[i] (most recent first) and reverts the day after."""
    sessions = CAL.sessions_between(end - dt.timedelta(days=730), end)
    closes = dict.fromkeys(sessions, 100.0)
    events = []
    for i, move in enumerate(moves):
        idx = len(sessions) - 20 - 63 * i
        report, reaction = sessions[idx], sessions[idx + 1]
        closes[reaction] = 100.0 * (1 + move)
        events.append(EarningsEvent("EDGE", report, Timing.AMC))
    bars = tuple(Bar(d, c, c * 1.002, c * 0.998, c, 1_000_000) for d, c in closes.items())
    return bars, tuple(events)


MOVES = [0.05, -0.04, 0.06, -0.03, 0.045, -0.05, 0.04, -0.035]
BARS, PAST = history(MOVES)


def inputs(**changes: Any) -> AnalysisInputs:
    base = AnalysisInputs(
        symbol="EDGE",
        now=NOW,
        quote=StockQuote("EDGE", SPOT, 99.99, 100.01, 99.5, 5_000_000),
        upcoming=EVENT,
        expirations=(FRONT, BACK),
        chains=(chain(FRONT, 0.60), chain(BACK, 0.30)),
        bars=BARS,
        past_events=PAST,
    )
    return dataclasses.replace(base, **changes)


def run(inp: AnalysisInputs) -> tuple[Analysis, dict[str, Any]]:
    """analyze() plus the JSON contract, which must be strict JSON (no NaN/inf anywhere)."""
    result = analyze(inp, PARAMS, CAL)
    row = analysis_to_json(result)
    json.dumps(row, allow_nan=False)  # raises on NaN / inf
    assert not list(_non_finite(row)), list(_non_finite(row))
    return result, row


def _non_finite(obj: object, path: str = "$") -> Iterator[str]:
    if isinstance(obj, float) and not math.isfinite(obj):
        yield path
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _non_finite(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _non_finite(v, f"{path}[{i}]")


def failure(result: Analysis, status: Status, code: str, reason: str) -> None:
    assert result.status is status, (result.status, result.error)
    assert result.error is not None
    assert result.error.code == code
    assert reason in result.error.message, result.error.message
    assert result.recommendation is not None
    assert result.recommendation.action is Action.SKIP
    assert result.recommendation.reasons == (result.error.message,)


# -- the reference case works --------------------------------------------------------------------


def test_baseline_case_is_ok() -> None:
    result, row = run(inputs())
    assert result.status is Status.OK, result.error
    assert row["n_events"] == len(MOVES)
    assert row["implied_move_pct"] is not None
    assert row["vrp_ratio"] is not None


# -- bad or missing prices -----------------------------------------------------------------------


def test_spot_zero_is_an_invalid_quote() -> None:
    result, row = run(inputs(quote=StockQuote("EDGE", 0.0, 0.0, 0.0, 0.0)))
    failure(result, Status.ERROR, ErrorCode.INVALID_QUOTE, "no usable price")
    assert row["error"]["code"] == "invalid_quote"
    assert "spot" not in row


def test_nan_prices_are_an_invalid_quote_not_nan() -> None:
    nan = float("nan")
    result, row = run(inputs(quote=StockQuote("EDGE", nan, nan, nan, nan)))
    failure(result, Status.ERROR, ErrorCode.INVALID_QUOTE, "no usable price")
    assert row["status"] == "error"


def test_infinite_last_falls_back_to_the_mid() -> None:
    result, row = run(inputs(quote=StockQuote("EDGE", math.inf, 99.9, 100.1, 99.0)))
    assert result.status is Status.OK
    assert row["spot"] == pytest.approx(100.0)


def test_crossed_stock_quote_falls_back_to_the_previous_close() -> None:
    result, row = run(inputs(quote=StockQuote("EDGE", None, 101.0, 99.0, 100.0)))
    assert result.status is Status.OK
    assert row["spot"] == 100.0  # the crossed bid/ask was never averaged


def test_delisted_ticker_without_a_quote() -> None:
    result, row = run(inputs(quote=None))
    failure(result, Status.ERROR, ErrorCode.NOT_FOUND, "no quote for this symbol")
    assert row["error"] == {
        "code": "not_found",
        "message": "no quote for this symbol",
        "correlation_id": None,
    }


# -- options -------------------------------------------------------------------------------------


def test_no_options_listed() -> None:
    result, row = run(inputs(expirations=(), chains=()))
    failure(result, Status.NO_OPTIONS, "no_options", "no listed expiration on or after")
    assert row["expiration"] is None


def test_event_chain_without_quotes() -> None:
    result, _ = run(inputs(chains=(OptionChain("EDGE", FRONT, ()), chain(BACK, 0.30))))
    failure(
        result,
        Status.NO_OPTIONS,
        "no_options",
        f"no option quotes for the event expiration {FRONT}",
    )


def test_zero_bids_everywhere_price_nothing() -> None:
    dead = OptionChain(
        "EDGE",
        FRONT,
        tuple(dataclasses.replace(q, bid=0.0) for q in chain(FRONT, 0.6).options),
    )
    result, _ = run(inputs(chains=(dead, chain(BACK, 0.30))))
    failure(result, Status.NO_OPTIONS, "no_options", "no strike with both a valid call and put")


def test_crossed_option_quotes_are_never_priced() -> None:
    # The ATM 100 legs are crossed (bid > ask): the straddle is interpolated between 95 and 105.
    crossed = tuple(
        dataclasses.replace(q, bid=(q.ask or 0.0) + 1.0) if q.strike == 100.0 else q
        for q in chain(FRONT, 0.6).options
    )
    result, row = run(inputs(chains=(OptionChain("EDGE", FRONT, crossed), chain(BACK, 0.3))))
    assert result.status is Status.OK
    assert isinstance(result.implied, ImpliedMove)
    assert result.implied.bracket == (95.0, 105.0)
    assert row["straddle"] is not None


def test_nan_option_prices_are_skipped_not_propagated() -> None:
    nan = float("nan")
    broken = tuple(
        dataclasses.replace(q, bid=nan, ask=nan, mid_iv=nan) if q.strike == 100.0 else q
        for q in chain(FRONT, 0.6).options
    )
    result, row = run(inputs(chains=(OptionChain("EDGE", FRONT, broken), chain(BACK, 0.3))))
    assert result.status is Status.OK
    assert isinstance(result.implied, ImpliedMove)
    assert math.isfinite(result.implied.straddle)
    assert result.implied.bracket == (95.0, 105.0)
    assert row["implied_move_pct"] > 0


def test_zero_spread_quotes() -> None:
    flat = tuple(dataclasses.replace(q, bid=q.ask) for q in chain(FRONT, 0.6).options)
    result, row = run(inputs(chains=(OptionChain("EDGE", FRONT, flat), chain(BACK, 0.3))))
    assert result.status is Status.OK
    assert row["cost_pct"] == 0.0
    assert result.liquidity is not None
    assert result.liquidity.call.spread_pct == 0.0


def test_a_single_expiration_has_no_event_only_move() -> None:
    result, row = run(inputs(expirations=(FRONT,), chains=(chain(FRONT, 0.6),)))
    assert result.status is Status.OK
    assert isinstance(result.event_move, Unavailable)
    assert "no second expiration" in result.event_move.reason
    assert row["event_move_pct"] is None
    assert row["term"]["back_iv"] is None


def test_greeks_and_provider_ivs_missing_are_solved_from_the_mids() -> None:
    result, row = run(
        inputs(chains=(chain(FRONT, 0.6, provider_iv=False), chain(BACK, 0.3, provider_iv=False)))
    )
    assert result.status is Status.OK
    assert result.call_iv == pytest.approx(0.6, abs=0.02)  # BSM inversion of the quoted mids
    assert row["greeks_long_straddle_per_share"]["vega"] is not None
    assert row["greeks_short_contract"]["vega"] == pytest.approx(
        -100 * row["greeks_long_straddle_per_share"]["vega"], rel=1e-4
    )


def test_strikes_that_do_not_bracket_spot() -> None:
    high = (120.0, 125.0, 130.0)
    result, _ = run(
        inputs(
            chains=(chain(FRONT, 0.6, strikes=high), chain(BACK, 0.3, strikes=high)),
        )
    )
    assert result.status is Status.OK
    assert isinstance(result.implied, ImpliedMove)
    assert result.implied.extrapolated
    assert any("below the lowest valid strike" in n for n in result.notes)
    assert result.recommendation is not None
    assert any("below the lowest valid strike" in r for r in result.recommendation.reasons)


def test_a_tenfold_iv_crush_is_explained_when_the_quotes_are_calendar_arbitrage() -> None:
    # Front IV 300 %, next expiration 30 %: less total variance a week later than at Friday's
    # expiry. The straddle stands; the event-only move is n/a with the reason, never negative.
    result, row = run(inputs(chains=(chain(FRONT, 3.0), chain(BACK, 0.30))))
    assert result.status is Status.OK
    assert isinstance(result.event_move, Unavailable)
    assert "calendar arbitrage" in result.event_move.reason
    assert row["event_move_pct"] is None
    assert row["term"]["front_iv"] == pytest.approx(3.0, rel=0.05)
    assert row["term"]["back_iv"] == pytest.approx(0.3, rel=0.05)
    assert row["implied_move_pct"] > 10.0


# -- history -------------------------------------------------------------------------------------


def test_one_quarter_of_history_is_insufficient() -> None:
    bars, past = history([0.05])
    result, row = run(inputs(bars=bars, past_events=past))
    assert result.status is Status.INSUFFICIENT_HISTORY
    assert row["n_events"] == 1
    assert row["tier"] is None
    assert row["error"] is None
    assert result.recommendation is not None
    assert result.recommendation.action is Action.SKIP
    assert any("1" in r and "event" in r for r in result.recommendation.reasons)


def test_only_negative_moves() -> None:
    bars, past = history([-0.06, -0.05, -0.07, -0.04, -0.05, -0.06])
    result, row = run(inputs(bars=bars, past_events=past))
    assert result.status is Status.OK
    assert result.history is not None
    assert all(m.close < 0 for m in result.history.moves)
    assert row["hist_mean_abs_move_pct"] == pytest.approx(5.5, abs=0.3)


def test_duplicated_events_count_once() -> None:
    result, row = run(inputs(past_events=PAST + PAST[:3]))
    assert row["n_events"] == len(MOVES)
    assert result.history is not None
    assert any("duplicate listing merged" in why for _, why in result.history.skipped)


def test_a_past_earnings_date_that_moved() -> None:
    moved = (*PAST, dataclasses.replace(PAST[0], date=PAST[0].date - dt.timedelta(days=7)))
    result, row = run(inputs(past_events=moved))
    assert row["n_events"] == len(MOVES)
    assert result.history is not None
    assert any("(moved date)" in why for _, why in result.history.skipped)


def test_an_upcoming_earnings_date_that_moved_beyond_the_listings() -> None:
    later = dataclasses.replace(EVENT, date=dt.date(2026, 12, 10))
    result, _ = run(inputs(upcoming=later))
    failure(result, Status.NO_OPTIONS, "no_options", "no listed expiration on or after")
    assert result.schedule is not None
    assert result.schedule.reaction_date == dt.date(2026, 12, 11)


def test_no_upcoming_event() -> None:
    result, row = run(inputs(upcoming=None))
    failure(result, Status.NO_EVENT, "no_event", "no upcoming earnings date known")
    assert row["spot"] == 100.0


def test_unknown_timing_is_flagged() -> None:
    result, row = run(inputs(upcoming=dataclasses.replace(EVENT, timing=Timing.UNKNOWN)))
    assert result.status is Status.OK
    assert row["timing_inferred"] is True
    assert any("timing unknown" in n for n in result.notes)


# -- calendar ------------------------------------------------------------------------------------


def test_earnings_on_a_holiday() -> None:
    # Reported "AMC" on Thanksgiving (closed): entered Wednesday, reacts on Friday's half day.
    thanksgiving = dataclasses.replace(EVENT, date=dt.date(2026, 11, 26))
    result, row = run(inputs(upcoming=thanksgiving))
    assert result.status is Status.OK
    assert (row["entry_date"], row["reaction_date"], row["expiration"]) == (
        "2026-11-25",
        "2026-11-27",
        "2026-11-27",
    )


def test_entry_on_a_half_day() -> None:
    # AMC on Friday 11-27 (13:00 close): the entry window is 12:00-13:00 ET that day.
    now = dt.datetime(2026, 11, 27, 12, 30, tzinfo=NY).astimezone(dt.UTC)
    event = dataclasses.replace(EVENT, date=dt.date(2026, 11, 27))
    result, row = run(
        inputs(
            now=now,
            upcoming=event,
            expirations=(FRONT, BACK, dt.date(2026, 12, 11)),
            chains=(chain(BACK, 0.6, now=now), chain(dt.date(2026, 12, 11), 0.3, now=now)),
        )
    )
    assert result.status is Status.OK, result.error
    assert (row["entry_date"], row["reaction_date"], row["expiration"]) == (
        "2026-11-27",
        "2026-11-30",
        "2026-12-04",
    )
    window = CAL.next_entry_window(now)
    assert window[0] <= now < window[1]


def test_the_dst_week() -> None:
    # Friday 2026-03-06 15:30 EST, BMO on Monday 03-09 (EDT since Sunday): enter Friday.
    now = dt.datetime(2026, 3, 6, 15, 30, tzinfo=NY).astimezone(dt.UTC)
    event = EarningsEvent("EDGE", dt.date(2026, 3, 9), Timing.BMO)
    front, back = dt.date(2026, 3, 13), dt.date(2026, 3, 20)
    bars, past = history(MOVES, end=dt.date(2026, 3, 5))
    result, row = run(
        inputs(
            now=now,
            upcoming=event,
            expirations=(front, back),
            chains=(chain(front, 0.6, now=now), chain(back, 0.3, now=now)),
            bars=bars,
            past_events=past,
        )
    )
    assert result.status is Status.OK, result.error
    assert (row["entry_date"], row["reaction_date"], row["expiration"]) == (
        "2026-03-06",
        "2026-03-09",
        "2026-03-13",
    )
    # One hour less than a naive count: 7 days to 16:00 EDT on the 13th, minus the lost hour.
    hours = CAL.pricing_time_years(now, front) * 365 * 24
    assert hours == pytest.approx(7 * 24 + 0.5 - 1)


def test_an_expired_event_expiration() -> None:
    # Analysed after the front expiration's close (METHODS §7: T to 16:00 ET): no time left.
    late = dt.datetime(2026, 11, 27, 16, 30, tzinfo=NY).astimezone(dt.UTC)
    result, row = run(inputs(now=late))
    assert result.status is not Status.ERROR
    assert isinstance(result.skew, Unavailable)
    assert "expired" in result.skew.reason
    assert isinstance(result.greeks, Unavailable)
    assert row["skew"]["atm_iv"] is None


# -- truncated and HTML payloads through the Tradier client -------------------------------------

QUOTE_BODY = b'{"quotes":{"quote":{"symbol":"EDGE","last":100.0,"bid":99.9,"ask":100.1'


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[httpx.AsyncClient, TradierClient]:
    http = make_http_client(timeout_s=5.0, transport=httpx.MockTransport(handler))
    return http, TradierClient(http, base_url="https://sandbox.tradier.com/v1", token="tok-edge")


@pytest.mark.parametrize(
    ("body", "ctype", "reason"),
    [
        (QUOTE_BODY, "application/json", "invalid JSON (truncated or corrupt) at character"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "got an HTML page"),
        (b"", "application/json", "empty response body"),
        (b'{"quotes":{"quote":{"symbol":"EDGE","last":NaN}}}', "application/json", "non-finite"),
        (b'{"quotes":{"quote":{"symbol":"EDGE","last":"abc"}}}', "application/json", "'last'"),
    ],
)
async def test_broken_payloads_are_typed_bad_payload(body: bytes, ctype: str, reason: str) -> None:
    http, client = _client(
        lambda req: httpx.Response(200, content=body, headers={"Content-Type": ctype})
    )
    async with http:
        with pytest.raises(ProviderError) as info:
            await client.stock_quotes(["EDGE"])
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "quotes"
    assert reason in info.value.message, info.value.message


async def test_a_truncated_payload_becomes_an_explained_error_row(tmp_path: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "alphavantage" in request.url.host or request.url.path.endswith("/query"):
            return httpx.Response(
                200, text="symbol,name,reportDate,fiscalDateEnding,estimate,currency,timeOfTheDay\n"
            )
        return httpx.Response(200, content=QUOTE_BODY, headers={"Content-Type": "application/json"})

    settings = dataclasses.replace(default_settings(tmp_path / "db.sqlite3"), demo=False)
    async with open_runtime(
        settings, FixedClock(NOW), transport=httpx.MockTransport(handler)
    ) as rt:
        engine = Engine(rt)
        try:
            result = await engine.analyze("EDGE", NOW)
        finally:
            await engine.aclose()
    row = analysis_to_json(result)
    json.dumps(row, allow_nan=False)
    assert row["status"] == "error"
    assert row["error"]["code"] == "bad_payload"
    assert "truncated" in row["error"]["message"]
    assert row["error"]["correlation_id"]
