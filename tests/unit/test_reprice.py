"""The streamed re-price (analytics/reprice.py): on the same quotes its numbers are the full
analysis's, and it asks for a REST re-pick when the subscribed strikes no longer cover spot."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from ivcrush_tui.analytics.analysis import Analysis, AnalysisInputs, Status, analyze
from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.reprice import (
    LiveBase,
    Repick,
    build_plan,
    patch_inputs,
    quoted,
    reprice,
)
from ivcrush_tui.calendar import NY, default_calendar
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    OptionChain,
    OptionQuote,
    OptionType,
    StockQuote,
    Timing,
)
from ivcrush_tui.symbols import occ_symbol

CAL = default_calendar()
PARAMS = AnalysisParams()
NOW = dt.datetime(2026, 12, 2, 15, 10, tzinfo=NY).astimezone(dt.UTC)  # Wed, entry window
EVENT = EarningsEvent("LIVE", dt.date(2026, 12, 2), Timing.AMC)  # reaction Thu 12-03
EXPIRATIONS = (
    dt.date(2026, 11, 27),  # expired
    dt.date(2026, 12, 4),  # the event expiration
    dt.date(2026, 12, 11),
    dt.date(2026, 12, 18),
    dt.date(2027, 1, 15),
)
SPOT = 101.3
LATER = NOW + dt.timedelta(seconds=90)


def _chain(exp: dt.date, strikes: np.ndarray) -> OptionChain:
    T = max(CAL.pricing_time_years(NOW, exp), 1e-4)
    opts = []
    for strike in strikes.tolist():
        k = np.log(strike / SPOT)
        iv = float(np.sqrt((0.30 - 0.2 * k + 0.5 * k * k) ** 2 + 0.004 / T))
        for kind in (OptionType.CALL, OptionType.PUT):
            px = float(bsm_price(SPOT, strike, T, iv, kind is OptionType.CALL, 0.04))
            half = max(0.01, px * 0.02)
            opts.append(
                OptionQuote(
                    symbol=occ_symbol("LIVE", exp, kind, strike),
                    underlying="LIVE",
                    expiration=exp,
                    strike=strike,
                    option_type=kind,
                    bid=round(max(px - half, 0.01), 2),
                    ask=round(px + half, 2),
                    open_interest=800,
                    mid_iv=iv,
                )
            )
    return OptionChain("LIVE", exp, tuple(opts))


def _inputs() -> AnalysisInputs:
    rng = np.random.default_rng(3)
    chains = [_chain(EXPIRATIONS[1], np.arange(80.0, 122.5, 2.5))]
    # The other expirations carry only the two strikes bracketing spot (as the engine fetches).
    chains += [_chain(e, np.array([100.0, 102.5])) for e in EXPIRATIONS[2:]]
    sessions = CAL.sessions_between(dt.date(2023, 6, 1), dt.date(2026, 12, 1))
    closes = 90.0 * np.exp(np.cumsum(rng.normal(0, 0.02, len(sessions))))
    bars = tuple(
        Bar(d, c * 0.99, c * 1.02, c * 0.98, float(c), 1_000_000)
        for d, c in zip(sessions, closes, strict=True)
    )
    past = tuple(EarningsEvent("LIVE", sessions[-40 - 63 * i], Timing.AMC) for i in range(12))
    return AnalysisInputs(
        symbol="LIVE",
        now=NOW,
        quote=StockQuote("LIVE", SPOT, SPOT - 0.02, SPOT + 0.02, 100.0),
        upcoming=EVENT,
        expirations=EXPIRATIONS,
        chains=tuple(chains),
        bars=bars,
        past_events=past,
    )


@pytest.fixture(scope="module")
def base() -> LiveBase:
    inputs = _inputs()
    analysis = analyze(inputs, PARAMS, CAL)
    assert analysis.status is Status.OK, analysis.error
    plan = build_plan(inputs, analysis)
    assert plan is not None
    return LiveBase(inputs, analysis, plan)


def _stock(last: float) -> StockQuote:
    return StockQuote("LIVE", last, last - 0.02, last + 0.02, 100.0)


def _legs(base: LiveBase, scale: float) -> dict[str, OptionQuote]:
    """Every subscribed contract re-quoted: bid and ask scaled (cents)."""
    return {
        occ: quoted(o, round(o.bid * scale, 2), round(o.ask * scale, 2))  # type: ignore[operator]
        for occ, o in base.plan.contracts.items()
    }


def _same_figures(live: Analysis, full: Analysis) -> None:
    """Every figure the stream moves is the full analysis's, exactly."""
    for name in (
        "status",
        "spot",
        "implied",
        "variance_split",
        "event_move",
        "vrp",
        "consistency",
        "liquidity",
        "greeks",
        "call_iv",
        "put_iv",
        "recommendation",
        "notes",
        "schedule",
        "history",
    ):
        assert getattr(live, name) == getattr(full, name), name
    assert live.tier == full.tier
    assert live.term is not None
    assert full.term is not None
    assert live.term.front_iv == full.term.front_iv
    assert live.term.back_iv == full.term.back_iv


def test_plan_subscribes_the_underlying_the_event_bracket_and_the_decomposition(
    base: LiveBase,
) -> None:
    plan = base.plan
    assert plan.symbols[0] == "LIVE"
    # Two valid strikes on each side of 101.3 at the event expiration: 97.5-105.
    assert (plan.low, plan.high) == (97.5, 105.0)
    event = {o.strike for o in plan.contracts.values() if o.expiration == EXPIRATIONS[1]}
    assert event == {97.5, 100.0, 102.5, 105.0}
    # The next expiration (no pre-event one is alive: 11-27 has expired) is streamed too.
    assert plan.expirations == (EXPIRATIONS[1], EXPIRATIONS[2])
    assert len(plan.contracts) == 8 + 4
    assert plan.covers(SPOT)
    assert not plan.covers(96.0)


@pytest.mark.parametrize(("last", "scale"), [(SPOT, 1.0), (101.9, 1.07), (99.2, 0.93)])
def test_reprice_equals_the_full_analysis_on_the_same_quotes(
    base: LiveBase, last: float, scale: float
) -> None:
    legs = _legs(base, scale)
    live = reprice(base, _stock(last), legs, LATER, PARAMS, CAL, quote_time=LATER)
    full = analyze(patch_inputs(base.inputs, _stock(last), legs, LATER), PARAMS, CAL)
    assert isinstance(live, Analysis)
    _same_figures(live, full)
    assert live.as_of == LATER
    assert live.quote_time == LATER
    assert live.spot == last
    assert live.skew == base.analysis.skew  # the whole-chain skew is kept from the base


def test_richer_quotes_raise_the_implied_move_and_vrp(base: LiveBase) -> None:
    before = base.analysis
    live = reprice(base, _stock(SPOT), _legs(base, 1.2), LATER, PARAMS, CAL)
    assert isinstance(live, Analysis)
    assert isinstance(live.implied, ImpliedMove)
    assert isinstance(before.implied, ImpliedMove)
    assert live.implied.implied_move_pct > before.implied.implied_move_pct * 1.15
    assert live.vrp.vrp_ratio > before.vrp.vrp_ratio  # type: ignore[union-attr]


def test_a_bracket_leg_going_invalid_uses_the_next_subscribed_strike(base: LiveBase) -> None:
    legs = _legs(base, 1.0)
    put_100 = occ_symbol("LIVE", EXPIRATIONS[1], OptionType.PUT, 100.0)
    legs[put_100] = quoted(legs[put_100], 0.0, 0.05)  # zero bid: never priced
    live = reprice(base, _stock(SPOT), legs, LATER, PARAMS, CAL)
    full = analyze(patch_inputs(base.inputs, _stock(SPOT), legs, LATER), PARAMS, CAL)
    assert isinstance(live, Analysis)
    assert isinstance(live.implied, ImpliedMove)
    assert live.implied.bracket == (97.5, 102.5)
    _same_figures(live, full)


def test_spot_leaving_the_subscribed_strikes_asks_for_a_repick(base: LiveBase) -> None:
    out = reprice(base, _stock(106.0), {}, LATER, PARAMS, CAL)
    assert isinstance(out, Repick)
    assert "left the subscribed strikes" in out.reason


def test_no_valid_strike_below_spot_asks_for_a_repick(base: LiveBase) -> None:
    legs = _legs(base, 1.0)
    for k in (97.5, 100.0):
        occ = occ_symbol("LIVE", EXPIRATIONS[1], OptionType.CALL, k)
        legs[occ] = quoted(legs[occ], None, None)
    assert isinstance(reprice(base, _stock(SPOT), legs, LATER, PARAMS, CAL), Repick)


def test_no_plan_for_failures_or_an_extrapolated_move() -> None:
    inputs = _inputs()
    failed = analyze(dataclasses.replace(inputs, upcoming=None), PARAMS, CAL)
    assert build_plan(inputs, failed) is None
    far = dataclasses.replace(inputs, quote=_stock(150.0))
    outside = analyze(far, PARAMS, CAL)
    assert isinstance(outside.implied, ImpliedMove)
    assert outside.implied.extrapolated
    assert build_plan(far, outside) is None
