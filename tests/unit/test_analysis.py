"""The single analysis entry point, end to end on hand-built inputs with hand-checkable numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import pytest

from ivcrush_tui.analytics.analysis import AnalysisInputs, Status, analyze
from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.analytics.event_move import VarianceSplit, reaction_implied_move_pct
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.recommendation import Action
from ivcrush_tui.calendar import NY, default_calendar
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    OptionChain,
    OptionQuote,
    OptionType,
    StockQuote,
    Timing,
    Unavailable,
)
from ivcrush_tui.engine.schema import analysis_to_json

CAL = default_calendar()
PARAMS = AnalysisParams()
NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(dt.UTC)  # Monday, entry window
EVENT = EarningsEvent("TEST", dt.date(2026, 11, 23), Timing.AMC)  # reaction Tue 11-24
FRONT = dt.date(2026, 11, 27)  # Friday half day: the event expiration
BACK = dt.date(2026, 12, 4)
SPOT = 100.0


def _leg(exp: dt.date, strike: float, kind: OptionType, mid: float, iv: float) -> OptionQuote:
    return OptionQuote(
        symbol=f"TEST{exp:%y%m%d}{'C' if kind is OptionType.CALL else 'P'}{int(strike * 1000):08d}",
        underlying="TEST",
        expiration=exp,
        strike=strike,
        option_type=kind,
        bid=round(mid - 0.05, 2),
        ask=round(mid + 0.05, 2),
        volume=50,
        open_interest=1000,
        mid_iv=iv,
    )


def _chain(exp: dt.date, straddle_at_100: float, iv: float) -> OptionChain:
    """Strikes 90..110 step 5. The 100 straddle is exactly `straddle_at_100` (call = put, both
    mids), other strikes priced by BSM at a flat vol so the skew fit has its points."""
    legs = []
    T = CAL.pricing_time_years(NOW, exp)
    for k in (90.0, 95.0, 100.0, 105.0, 110.0):
        for kind in (OptionType.CALL, OptionType.PUT):
            if k == 100.0:
                mid = straddle_at_100 / 2
            else:
                mid = float(bsm_price(SPOT, k, T, iv, kind is OptionType.CALL, 0.0))
            legs.append(_leg(exp, k, kind, round(max(mid, 0.10), 2), iv))
    return OptionChain("TEST", exp, tuple(legs))


def _bars_with_moves(moves: list[float]) -> tuple[tuple[Bar, ...], tuple[EarningsEvent, ...]]:
    """Flat 100 closes for two years, with a close-to-close move of moves[i] on each AMC event's
    reaction session (the event ~63 sessions apart, most recent last), reverting the next day."""
    sessions = CAL.sessions_between(dt.date(2024, 11, 1), dt.date(2026, 11, 20))
    closes = dict.fromkeys(sessions, 100.0)
    events = []
    for i, move in enumerate(moves):
        idx = len(sessions) - 20 - 63 * i
        report, reaction = sessions[idx], sessions[idx + 1]
        closes[reaction] = 100.0 * (1 + move)
        events.append(EarningsEvent("TEST", report, Timing.AMC))
    bars = tuple(Bar(d, c, c * 1.001, c * 0.999, c, 1_000_000) for d, c in closes.items())
    return bars, tuple(events)


def _inputs(**changes: object) -> AnalysisInputs:
    bars, events = _bars_with_moves([0.04, -0.04, 0.04, -0.04])
    base = AnalysisInputs(
        symbol="TEST",
        now=NOW,
        quote=StockQuote("TEST", SPOT, 99.99, 100.01, 99.5),
        upcoming=EVENT,
        expirations=(FRONT, BACK),
        chains=(_chain(FRONT, 8.0, 0.90), _chain(BACK, 9.0, 0.60)),
        bars=bars,
        past_events=events,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_hand_checkable_sell() -> None:
    a = analyze(_inputs(), AnalysisParams(), CAL)
    assert a.status is Status.OK
    assert a.schedule is not None
    assert a.schedule.expiration == FRONT
    assert a.schedule.entry_date == dt.date(2026, 11, 23)
    assert a.schedule.reaction_date == dt.date(2026, 11, 24)
    out = analysis_to_json(a)
    # straddle 8.00 at spot 100 (a strike) -> implied move 8 %; 1σ = 8·√(π/2) = 10.0265 %
    assert out["straddle"] == pytest.approx(8.0)
    assert out["implied_move_pct"] == pytest.approx(8.0)
    assert out["implied_move_1sd_pct"] == pytest.approx(8.0 * math.sqrt(math.pi / 2), abs=1e-4)
    # four reaction moves of ±4 % -> mean |move| 4 % -> VRP 8/4 = 2.0 (excellent at the boundary)
    assert out["n_events"] == 4
    assert out["hist_mean_abs_move_pct"] == pytest.approx(4.0, abs=1e-9)
    assert out["vrp_ratio"] == pytest.approx(2.0, abs=1e-9)
    # The tier is read from the horizon-matched ratio (METHODS §5), not vrp_ratio's 2.0: the
    # straddle to Friday also prices the ordinary sessions after the reaction.
    assert out["tier_basis"] == "reaction"
    split = a.variance_split
    assert isinstance(split, VarianceSplit)
    assert out["reaction_implied_move_pct"] == pytest.approx(
        reaction_implied_move_pct(split), abs=1e-4
    )
    assert out["vrp_reaction_ratio"] == pytest.approx(reaction_implied_move_pct(split) / 4.0, 1e-4)
    assert 1.5 <= out["vrp_reaction_ratio"] < 2.0  # ≈ 1.80
    assert out["tier"] == "good"
    # round-trip cost: (0.10 + 0.10) / 100 = 0.2 %; net VRP (8 − 0.2)/4 = 1.95
    assert out["cost_pct"] == pytest.approx(0.2, abs=1e-6)
    assert out["net_vrp"] == pytest.approx(1.95, abs=1e-6)
    assert out["recommendation"] == "SELL"
    assert a.recommendation is not None
    assert a.recommendation.action is Action.SELL
    # the event-only move exists and is below the straddle's own implied move
    assert out["event_move_pct"] is not None
    assert 0 < out["event_move_pct"] < out["implied_move_pct"]
    json.dumps(out, allow_nan=False)  # no NaN or Infinity anywhere


def test_json_term_slope_is_in_vol_points_per_day() -> None:
    # Front 90 % at DTE_min = 4.x days (to Friday's 13:00 half-day close), back 60 % a week later
    # and flat to 45 days: slope = 100·(0.60 − 0.90)/(45 − DTE_min) ≈ −0.73 vol pts/day, not the
    # −0.0073 IV fraction per day the JSON used to carry.
    out = analysis_to_json(analyze(_inputs(), PARAMS, CAL))
    dte_min = CAL.pricing_time_years(NOW, FRONT) * 365
    expected = 100 * (0.60 - 0.90) / (45 - dte_min)
    assert out["term"]["ts_slope_0_45"] == pytest.approx(expected, abs=1e-6)
    assert -0.8 < out["term"]["ts_slope_0_45"] < -0.7


def test_three_events_is_insufficient_history_not_scored() -> None:
    bars, events = _bars_with_moves([0.04, -0.04, 0.04])
    a = analyze(_inputs(bars=bars, past_events=events), AnalysisParams(), CAL)
    assert a.status is Status.INSUFFICIENT_HISTORY
    out = analysis_to_json(a)
    assert out["tier"] is None
    assert out["vrp_ratio"] == pytest.approx(2.0, abs=1e-9)  # shown, not scored
    assert out["recommendation"] == "SKIP"


def test_no_event_and_no_options_and_bad_quote_are_typed() -> None:
    a = analyze(_inputs(upcoming=None), AnalysisParams(), CAL)
    assert a.status is Status.NO_EVENT
    b = analyze(_inputs(expirations=(dt.date(2026, 11, 20),)), AnalysisParams(), CAL)
    assert b.status is Status.NO_OPTIONS
    assert b.error is not None
    assert "reaction session" in b.error.message
    c = analyze(_inputs(quote=StockQuote("TEST", 0.0, 0.0, 0.0, None)), AnalysisParams(), CAL)
    assert c.status is Status.ERROR
    assert c.error is not None
    assert c.error.code == "invalid_quote"
    for x in (a, b, c):
        json.dumps(analysis_to_json(x), allow_nan=False)


def test_unknown_timing_is_entered_as_bmo_and_flagged_as_watch() -> None:
    event = EarningsEvent("TEST", dt.date(2026, 11, 24), Timing.UNKNOWN)
    a = analyze(_inputs(upcoming=event), AnalysisParams(), CAL)
    assert a.schedule is not None
    assert a.schedule.entry_date == dt.date(2026, 11, 23)  # as BMO: the session before
    assert a.schedule.reaction_date == dt.date(2026, 11, 25)  # as AMC: covers both
    assert a.schedule.timing_flagged
    assert a.recommendation is not None
    assert a.recommendation.action is Action.WATCH


def test_unexpected_failure_costs_one_row_not_an_exception() -> None:
    broken = _inputs(chains=(None,))
    a = analyze(broken, AnalysisParams(), CAL)
    assert a.status is Status.ERROR
    assert a.error is not None
    assert a.error.code == "internal"


# --- horizon: decomposition, tier basis, WATCH cap (METHODS §3, §5, §11) ------------------------


def _trd_var(exp: dt.date, iv: float) -> float:
    """σ² re-expressed on the trading clock, as analysis does: σ²·T_cal/T_trd."""
    return iv * iv * CAL.pricing_time_years(NOW, exp) / CAL.trading_time_years(NOW, exp)


def test_no_decomposition_tiers_on_the_straddle_and_caps_at_watch() -> None:
    # One expiration only: no decomposition, both reaction figures null with the reason; the tier
    # falls back to vrp_ratio = 2.0 (excellent), but the event expiration (Fri 11-27) is two
    # sessions after the reaction session (Tue 11-24; Wed 25, Thanksgiving closed, Fri 27).
    a = analyze(_inputs(expirations=(FRONT,), chains=(_chain(FRONT, 8.0, 0.90),)), PARAMS, CAL)
    out = analysis_to_json(a)
    assert out["tier_basis"] == "straddle"
    assert out["reaction_implied_move_pct"] is None
    assert out["vrp_reaction_ratio"] is None
    assert out["tier"] == "excellent"
    assert out["recommendation"] == "WATCH"
    assert any(r.startswith("horizon not matched") for r in out["reasons"])
    assert any("reaction VRP n/a" in r for r in out["reasons"])  # the null's reason
    assert out["event_move_pct"] is None
    assert any("no second expiration" in r for r in out["reasons"])


def test_watch_cap_not_applied_one_session_after_the_reaction() -> None:
    # BMO Wed 11-25: reaction 11-25, expiration Fri 11-27 is ONE session later (26 closed):
    # the horizon counts as matched, straddle basis and all, so SELL.
    event = EarningsEvent("TEST", dt.date(2026, 11, 25), Timing.BMO)
    one = (FRONT,), (_chain(FRONT, 8.0, 0.90),)
    a = analyze(_inputs(upcoming=event, expirations=one[0], chains=one[1]), PARAMS, CAL)
    out = analysis_to_json(a)
    assert out["tier_basis"] == "straddle"
    assert out["recommendation"] == "SELL"
    assert not any(r.startswith("horizon not matched") for r in out["reasons"])


def test_watch_cap_not_applied_on_the_reaction_basis() -> None:
    # Two sessions after the reaction, but the tier is horizon-matched: no cap (SELL).
    out = analysis_to_json(analyze(_inputs(), PARAMS, CAL))
    assert out["tier_basis"] == "reaction"
    assert out["recommendation"] == "SELL"
    assert not any(r.startswith("horizon not matched") for r in out["reasons"])


def test_no_event_premium_keeps_the_decomposition_and_a_low_ratio() -> None:
    # Front 50 % below back 60 %: V_E <= 0, the event move is n/a ("no event premium"), but the
    # decomposition is there with σ_o² = σ1² (trading clock), V_R = one ordinary session.
    chains = (_chain(FRONT, 8.0, 0.50), _chain(BACK, 9.0, 0.60))
    a = analyze(_inputs(chains=chains), PARAMS, CAL)
    assert isinstance(a.event_move, Unavailable)
    assert "no event premium" in a.event_move.reason
    split = a.variance_split
    assert isinstance(split, VarianceSplit)
    assert split.event_variance <= 0
    assert split.ordinary_variance == pytest.approx(_trd_var(FRONT, 0.50))
    expected = 100 * math.sqrt(2 / math.pi) * math.sqrt(_trd_var(FRONT, 0.50) / 252)
    out = analysis_to_json(a)
    assert out["tier_basis"] == "reaction"
    assert out["reaction_implied_move_pct"] == pytest.approx(expected, abs=1e-4)
    assert out["vrp_reaction_ratio"] == pytest.approx(expected / 4.0, abs=1e-4)
    assert out["vrp_reaction_ratio"] < 1.0  # one ordinary session is far below 4 %
    assert out["tier"] == "skip"
    assert out["recommendation"] == "SKIP"
    assert any("no event premium" in r for r in out["reasons"])


def test_negative_ordinary_variance_falls_back_to_the_straddle() -> None:
    # Back 30 % a week later: total variance falls (σ2²T2 < σ1²T1): σ_o² < 0, no decomposition.
    chains = (_chain(FRONT, 8.0, 0.90), _chain(BACK, 9.0, 0.30))
    a = analyze(_inputs(chains=chains), PARAMS, CAL)
    assert isinstance(a.variance_split, Unavailable)
    assert "negative diffusive variance" in a.variance_split.reason
    out = analysis_to_json(a)
    assert out["tier_basis"] == "straddle"
    assert out["vrp_reaction_ratio"] is None
    assert out["recommendation"] == "WATCH"  # 2 sessions after the reaction: capped


WED = dt.date(2026, 11, 25)
TUE = dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    ("timing", "pre_event_dates", "method", "pre"),
    [
        # UNKNOWN on Wed: reaction (as AMC) is Fri, but an expiration ON D may hold a pre-market
        # report: not pre-event. Tuesday is.
        (Timing.UNKNOWN, (WED,), "two_expiry", None),
        (Timing.UNKNOWN, (TUE, WED), "pre_event", TUE),
        # BMO on Wed: the reaction session is D itself, so an expiration on D is not strictly
        # before it (it is the event expiration).
        (Timing.BMO, (WED,), "two_expiry", None),
        (Timing.BMO, (TUE, WED), "pre_event", TUE),
        # AMC on Wed: the reaction is Fri; an expiration on D closes before the report.
        (Timing.AMC, (TUE, WED), "pre_event", WED),
        # An expiration that expires today (Mon 11-23, before the close) never counts.
        (Timing.AMC, (dt.date(2026, 11, 23),), "two_expiry", None),
    ],
)
def test_pre_event_expiration_rule(
    timing: Timing, pre_event_dates: tuple[dt.date, ...], method: str, pre: dt.date | None
) -> None:
    event = EarningsEvent("TEST", WED, timing)
    # Each earlier expiration has its own IV, so the one chosen shows in V_E.
    ivs = {TUE: 0.40, WED: 0.45, dt.date(2026, 11, 23): 0.35, FRONT: 0.90, BACK: 0.60}
    extra = tuple(_chain(d, 3.0, ivs[d]) for d in pre_event_dates)
    a = analyze(
        _inputs(
            upcoming=event,
            expirations=(*pre_event_dates, FRONT, BACK),
            chains=(*extra, _chain(FRONT, 8.0, 0.90), _chain(BACK, 9.0, 0.60)),
        ),
        PARAMS,
        CAL,
    )
    assert a.schedule is not None
    assert a.schedule.expiration is not None
    front = a.schedule.expiration  # WED for BMO (the reaction session), else FRONT
    assert front == (WED if timing is Timing.BMO else FRONT)
    split = a.variance_split
    assert isinstance(split, VarianceSplit)
    assert split.method == method
    t1 = CAL.trading_time_years(NOW, front)
    if pre is not None:
        # V_E = (σ1² − σ0²)·T1 on the trading clock, σ0 from the chosen expiration.
        expected = (_trd_var(front, ivs[front]) - _trd_var(pre, ivs[pre])) * t1
    else:
        # The next expiration after the event one: V_E = (σ1² − σ2²)/(1/T1 − 1/T2).
        back = BACK if front == FRONT else FRONT
        t2 = CAL.trading_time_years(NOW, back)
        expected = (_trd_var(front, ivs[front]) - _trd_var(back, ivs[back])) / (1 / t1 - 1 / t2)
    assert split.event_variance == pytest.approx(expected)


def test_json_lists_each_past_move_signed_and_why_events_were_skipped() -> None:
    """Per-event moves in percent, signed, most recent first; skipped events with their reason
    (a bar missing, a duplicate listing), but not the ones merely beyond the 12 most recent."""
    bars, events = _bars_with_moves([0.04, -0.03, 0.05, -0.02])
    too_old = EarningsEvent("TEST", dt.date(2024, 6, 3), Timing.AMC)  # before the bars start
    dup = EarningsEvent("TEST", events[0].date, Timing.UNKNOWN)
    a = analyze(_inputs(bars=bars, past_events=(*events, too_old, dup)), PARAMS, CAL)
    out = analysis_to_json(a)
    closes = [m["close_pct"] for m in out["past_moves"]]
    assert closes == pytest.approx([4.0, -3.0, 5.0, -2.0])
    assert out["hist_mean_abs_move_pct"] == pytest.approx(3.5)
    first = out["past_moves"][0]
    assert first["timing"] == "AMC"
    assert first["timing_inferred"] is False
    assert first["reference_date"] == events[0].date.isoformat()
    reasons = {s["earnings_date"]: s["reason"] for s in out["skipped_events"]}
    assert reasons["2024-06-03"].startswith("bar_missing: no bar for the reference session")
    assert reasons[events[0].date.isoformat()].startswith("duplicate listing merged")
    few = analyze(_inputs(bars=bars, past_events=events), PARAMS.__class__(max_events=3), CAL)
    beyond = [why for _, why in few.history.skipped]  # type: ignore[union-attr]
    assert any(why.startswith("older than the 3") for why in beyond)
    assert analysis_to_json(few)["skipped_events"] == []


def test_the_analysis_carries_the_time_of_its_quote() -> None:
    trade, book = NOW - dt.timedelta(minutes=3), NOW - dt.timedelta(seconds=20)
    quote = StockQuote("TEST", SPOT, 99.99, 100.01, 99.5, timestamp=trade, quote_timestamp=book)
    a = analyze(_inputs(quote=quote), AnalysisParams(), CAL)
    assert a.ok
    assert a.quote_time == book
    no_event = analyze(_inputs(quote=quote, upcoming=None), AnalysisParams(), CAL)
    assert no_event.quote_time == book  # every outcome with a quote says how old it is
    assert analyze(_inputs(), AnalysisParams(), CAL).quote_time is None  # none given
