"""VRP ratio, tiers, cost and the bootstrap interval (METHODS.md §5). Hand-checked arithmetic."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.history import EarningsMove, earnings_moves
from ivcrush_tui.analytics.params import TIER_PROFILES, AnalysisParams, TierThresholds
from ivcrush_tui.analytics.vrp import (
    Tier,
    TierBasis,
    VrpResult,
    bootstrap_interval,
    cost_pct,
    tier_for,
    vrp,
)
from ivcrush_tui.domain import Bar, EarningsEvent, Timing, Unavailable

PARAMS = AnalysisParams()
BALANCED = TIER_PROFILES["balanced"]
RANK = {Tier.SKIP: 0, Tier.MARGINAL: 1, Tier.GOOD: 2, Tier.EXCELLENT: 3}


def make_moves(closes: Sequence[float], gaps: Sequence[float] | None = None) -> list[EarningsMove]:
    """Moves (signed fractions), most recent first, one quarter apart."""
    gaps = list(gaps) if gaps is not None else [0.0] * len(closes)
    out = []
    for i, (c, g) in enumerate(zip(closes, gaps, strict=True)):
        day = dt.date(2025, 10, 28) - dt.timedelta(days=91 * i)
        out.append(
            EarningsMove(
                event=EarningsEvent("TEST", day, Timing.BMO),
                timing_used=Timing.BMO,
                timing_inferred=False,
                ref_day=day - dt.timedelta(days=1),
                reaction_day=day,
                ref_close=100.0,
                gap=g,
                close=c,
                range=abs(c),
                max_excursion=c,
                volume_ratio=None,
            )
        )
    return out


def weekday_bars(closes: dict[dt.date, float], k: float = 1.0) -> list[Bar]:
    """2025 weekday bars at 100 (× k), with the given closes on the given days."""
    bars, d = [], dt.date(2025, 1, 2)
    while d <= dt.date(2025, 12, 31):
        if d.weekday() < 5:
            c = closes.get(d, 100.0)
            bars.append(Bar(d, 100.0 * k, max(c, 100.0) * k, min(c, 100.0) * k, c * k, 1000))
        d += dt.timedelta(days=1)
    return bars


# --- tiers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "tier"),
    [
        (2.5, Tier.EXCELLENT),
        (2.0, Tier.EXCELLENT),  # a boundary belongs to the higher tier (≥)
        (1.999, Tier.GOOD),
        (1.5, Tier.GOOD),
        (1.499, Tier.MARGINAL),
        (1.2, Tier.MARGINAL),
        (1.199, Tier.SKIP),
        (0.0, Tier.SKIP),
        (math.nan, Tier.SKIP),
    ],
)
def test_balanced_tiers(ratio: float, tier: Tier) -> None:
    assert tier_for(ratio, BALANCED) is tier


def test_float_noise_below_a_threshold_still_reaches_it() -> None:
    # Moves measured from prices 105, 97, 104, 92 on a reference close of 100: the mean |move| is
    # 5 % but 10 % / mean computes as 1.9999999999999993 in binary floating point (shown as 2.00).
    moves = [abs(105 / 100 - 1), abs(97 / 100 - 1), abs(104 / 100 - 1), abs(92 / 100 - 1)]
    ratio = 10.0 / (100.0 * sum(moves) / 4)
    assert ratio < 2.0
    assert tier_for(ratio, BALANCED) is Tier.EXCELLENT


def test_profiles_shift_the_tiers() -> None:
    # 1.75: conservative (2.5/1.8/1.4) -> marginal; balanced (2.0/1.5) -> good; aggressive (1.7)
    # -> excellent.
    assert tier_for(1.75, TIER_PROFILES["conservative"]) is Tier.MARGINAL
    assert tier_for(1.75, BALANCED) is Tier.GOOD
    assert tier_for(1.75, TIER_PROFILES["aggressive"]) is Tier.EXCELLENT


_ratio = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(_ratio, _ratio, st.sampled_from(sorted(TIER_PROFILES)))
def test_tiers_monotone_in_vrp(a: float, b: float, profile: str) -> None:
    lo, hi = sorted((a, b))
    th = TIER_PROFILES[profile]
    assert RANK[tier_for(lo, th)] <= RANK[tier_for(hi, th)]


@settings(max_examples=200, deadline=None)
@given(_ratio, _ratio, st.floats(0.1, 3.0), st.floats(0.0, 2.0), st.floats(0.0, 2.0))
def test_tiers_monotone_for_custom_thresholds(
    a: float, b: float, m: float, dg: float, de: float
) -> None:
    th = TierThresholds(excellent=m + dg + de, good=m + dg, marginal=m)
    lo, hi = sorted((a, b))
    assert RANK[tier_for(lo, th)] <= RANK[tier_for(hi, th)]


# --- cost ---------------------------------------------------------------------------------------


def test_cost_pct_is_both_spreads_over_spot() -> None:
    # call 4.90/5.10 (spread 0.20) + put 4.80/5.00 (0.20) = 0.40 $ on S = 100 -> 0.40 %.
    assert cost_pct(4.90, 5.10, 4.80, 5.00, 100.0) == pytest.approx(0.40)
    # On S = 50 the same dollars are twice the percentage.
    assert cost_pct(4.90, 5.10, 4.80, 5.00, 50.0) == pytest.approx(0.80)
    assert cost_pct(5.0, 5.0, 5.0, 5.0, 100.0) == 0.0  # locked legs


@pytest.mark.parametrize(
    "args",
    [
        (0.0, 5.10, 4.80, 5.00, 100.0),  # zero-bid call
        (4.90, 5.10, 5.00, 4.80, 100.0),  # crossed put
        (4.90, 5.10, None, 5.00, 100.0),  # missing quote
        (4.90, 5.10, 4.80, 5.00, 0.0),  # no spot
        (4.90, 5.10, 4.80, 5.00, math.nan),
        (4.90, 5.10, 4.80, 5.00, None),
    ],
)
def test_cost_pct_none_for_invalid_input(args: tuple[float | None, ...]) -> None:
    assert cost_pct(*args) is None


# --- bootstrap ----------------------------------------------------------------------------------


def test_bootstrap_is_deterministic_per_seed() -> None:
    x = [5.0, 3.0, 4.0, 8.0, 6.5, 2.0]
    one = bootstrap_interval(x, 10.0, resamples=2000, confidence=0.9, seed=7)
    two = bootstrap_interval(x, 10.0, resamples=2000, confidence=0.9, seed=7)
    other = bootstrap_interval(x, 10.0, resamples=2000, confidence=0.9, seed=8)
    assert one is not None
    assert one == two
    assert one != other


def test_bootstrap_contains_the_point_estimate() -> None:
    x = [5.0, 3.0, 4.0, 8.0, 6.5, 2.0, 4.5, 7.0]  # mean 40/8 = 5.0 -> point VRP 12/5 = 2.4
    ci = bootstrap_interval(x, 12.0, resamples=2000, confidence=0.9, seed=PARAMS.bootstrap_seed)
    assert ci is not None
    lo, hi = ci
    assert lo < 2.4 < hi
    # Rough width check: SE(mean) ≈ 1.97/√8 ≈ 0.70, so the mean's 90 % band is about 5 ± 1.15
    # and the ratio's about 12/6.15 .. 12/3.85 = 1.95 .. 3.12.
    assert 1.8 < lo < 2.2
    assert 2.8 < hi < 3.4


def test_bootstrap_two_events_by_hand() -> None:
    # |moves| 2 % and 6 %, implied 8 %. A resample of two events has mean 2 (p 1/4), 4 (p 1/2)
    # or 6 (p 1/4): ratios 4.0, 2.0, 1.333... The 5th percentile lies in the 1.333 mass and the
    # 95th in the 4.0 mass (each holds ~25 % of the 2,000 resamples).
    ci = bootstrap_interval([2.0, 6.0], 8.0, resamples=2000, confidence=0.9, seed=1)
    assert ci == pytest.approx((8.0 / 6.0, 4.0))


def test_bootstrap_drops_zero_mean_resamples() -> None:
    # Three of four moves are 0: about (3/4)^4 ≈ 32 % of resamples have mean 0 and are dropped.
    # The rest have mean 2.5, 5, 7.5 or 10 -> ratio within [1, 4] for implied 10.
    ci = bootstrap_interval([0.0, 0.0, 0.0, 10.0], 10.0, resamples=2000, confidence=0.9, seed=3)
    assert ci is not None
    assert 1.0 <= ci[0] <= ci[1] <= 4.0
    assert ci[1] == pytest.approx(4.0)  # mean 2.5 (one 10 among four) is the commonest outcome


def test_bootstrap_degenerate_cases() -> None:
    assert bootstrap_interval([4.0], 8.0, resamples=100, confidence=0.9, seed=1) == (2.0, 2.0)
    assert bootstrap_interval([-4.0], 8.0, resamples=100, confidence=0.9, seed=1) == (2.0, 2.0)
    assert bootstrap_interval([], 8.0, resamples=100, confidence=0.9, seed=1) is None
    assert bootstrap_interval([0.0, 0.0], 8.0, resamples=100, confidence=0.9, seed=1) is None
    assert bootstrap_interval([1.0], 8.0, resamples=0, confidence=0.9, seed=1) is None
    assert bootstrap_interval([1.0], 8.0, resamples=10, confidence=1.0, seed=1) is None
    assert bootstrap_interval([1.0], 0.0, resamples=10, confidence=0.9, seed=1) is None
    assert bootstrap_interval([1.0, math.nan], 8.0, resamples=10, confidence=0.9, seed=1) is None


def test_bootstrap_is_vectorised_enough_for_many_resamples() -> None:
    # 200,000 resamples of 12 events: a Python loop would take seconds; numpy takes milliseconds.
    x = [float(i) for i in range(1, 13)]
    ci = bootstrap_interval(x, 13.0, resamples=200_000, confidence=0.9, seed=5)
    assert ci is not None
    assert ci[0] < 2.0 < ci[1]  # point estimate 13/6.5 = 2.0


# --- vrp ----------------------------------------------------------------------------------------


def test_vrp_worked_example() -> None:
    # closes +5 %, −3 %, +4 %, −8 %: mean |close| = (5 + 3 + 4 + 8)/4 = 5 %.
    # gaps   +3 %, −1 %, +2 %, −6 %: mean |gap|   = (3 + 1 + 2 + 6)/4 = 3 %.
    # implied 10 % -> VRP 10/5 = 2.0 (excellent, at the boundary); gap VRP 10/3 = 3.33.
    # cost 0.4 % -> net VRP (10 − 0.4)/5 = 1.92.
    moves = make_moves([0.05, -0.03, 0.04, -0.08], [0.03, -0.01, 0.02, -0.06])
    r = vrp(10.0, moves, PARAMS, cost_pct=0.4)
    assert isinstance(r, VrpResult)
    assert r.n_events == 4
    assert r.hist_mean_abs_move_pct == pytest.approx(5.0)
    assert r.hist_mean_abs_gap_pct == pytest.approx(3.0)
    assert r.vrp_ratio == pytest.approx(2.0)
    assert r.tier is Tier.EXCELLENT
    assert r.vrp_gap_ratio == pytest.approx(10.0 / 3.0)
    assert r.cost_pct == 0.4
    assert r.net_vrp == pytest.approx(1.92)
    assert r.interval is not None
    assert r.interval[0] <= r.vrp_ratio <= r.interval[1]


def test_vrp_from_bars_at_the_boundary() -> None:
    # The same closes measured from bars (BMO, reference close 100): 92, 104, 97, 105 ->
    # −8 %, +4 %, −3 %, +5 %; mean 5 %, implied 10 % -> 2.0, excellent despite float noise.
    days = [dt.date(2025, 1, 28), dt.date(2025, 4, 29), dt.date(2025, 7, 29), dt.date(2025, 10, 28)]
    bars = weekday_bars(dict(zip(days, [92.0, 104.0, 97.0, 105.0], strict=True)))
    events = [EarningsEvent("T", day, Timing.BMO) for day in days]
    hist = earnings_moves(bars, events, as_of=dt.date(2026, 1, 5))
    r = vrp(10.0, hist.moves, PARAMS)
    assert isinstance(r, VrpResult)
    assert r.n_events == 4
    assert r.vrp_ratio == pytest.approx(2.0)
    assert r.tier is Tier.EXCELLENT
    assert r.net_vrp is None  # cost unknown


def test_vrp_uses_absolute_moves_never_signed() -> None:
    # +5, −5, +5, −5: the signed mean is 0 (ratio infinite); |mean| 5 -> VRP 8/5 = 1.6 (good).
    r = vrp(8.0, make_moves([0.05, -0.05, 0.05, -0.05]), PARAMS)
    assert isinstance(r, VrpResult)
    assert r.hist_mean_abs_move_pct == pytest.approx(5.0)
    assert r.vrp_ratio == pytest.approx(1.6)
    assert r.tier is Tier.GOOD


def test_vrp_single_event_still_computes() -> None:
    # Insufficient history is the caller's call: one |4 %| move vs implied 5 % -> 1.25, marginal.
    r = vrp(5.0, make_moves([-0.04]), PARAMS)
    assert isinstance(r, VrpResult)
    assert (r.n_events, r.tier) == (1, Tier.MARGINAL)
    assert r.vrp_ratio == pytest.approx(1.25)
    assert r.interval == pytest.approx((1.25, 1.25))


def test_vrp_uses_only_the_most_recent_max_events() -> None:
    # 12 recent moves of 4 % and an older 40 % one: only the 12 count -> mean 4, VRP 8/4 = 2.
    moves = make_moves([0.04] * 12 + [0.40])
    r = vrp(8.0, list(reversed(moves)), PARAMS)
    assert isinstance(r, VrpResult)
    assert r.n_events == 12
    assert r.vrp_ratio == pytest.approx(2.0)


def test_vrp_zero_gaps_give_no_gap_ratio() -> None:
    r = vrp(8.0, make_moves([0.04, 0.04]), PARAMS)
    assert isinstance(r, VrpResult)
    assert r.hist_mean_abs_gap_pct == 0.0
    assert r.vrp_gap_ratio is None


@pytest.mark.parametrize("cost", [None, math.nan, -0.5, math.inf])
def test_vrp_unknown_cost_gives_no_net(cost: float | None) -> None:
    r = vrp(8.0, make_moves([0.04]), PARAMS, cost_pct=cost)
    assert isinstance(r, VrpResult)
    assert r.cost_pct is None
    assert r.net_vrp is None


def test_vrp_cost_above_implied_gives_negative_net() -> None:
    # (2 − 3)/4 = −0.25: the spread eats the whole premium.
    r = vrp(2.0, make_moves([0.04]), PARAMS, cost_pct=3.0)
    assert isinstance(r, VrpResult)
    assert r.net_vrp == pytest.approx(-0.25)


@pytest.mark.parametrize(
    ("implied", "closes"),
    [(8.0, []), (8.0, [0.0, 0.0, 0.0]), (0.0, [0.04]), (-1.0, [0.04]), (math.nan, [0.04])],
)
def test_vrp_unavailable(implied: float, closes: list[float]) -> None:
    r = vrp(implied, make_moves(closes), PARAMS)
    assert isinstance(r, Unavailable)
    assert r.reason


# --- properties ---------------------------------------------------------------------------------

_EVENT_DAYS = [
    dt.date(2025, 1, 29),
    dt.date(2025, 4, 30),
    dt.date(2025, 7, 30),
    dt.date(2025, 10, 29),
]
_px = st.floats(min_value=1.0, max_value=1000.0)
_ohlc = st.tuples(_px, _px, _px, _px)


def _random_bars(ohlc: Sequence[tuple[float, float, float, float]], k: float) -> list[Bar]:
    """Flat weekday bars at 100, with random bars on the Tue/Wed/Thu around each (Wednesday)
    event (3 per event, in order); every price multiplied by k."""
    custom = {
        d + dt.timedelta(days=off): ohlc[3 * i + j]
        for i, d in enumerate(_EVENT_DAYS)
        for j, off in enumerate((-1, 0, 1))
    }
    out, d = [], dt.date(2025, 1, 2)
    while d <= dt.date(2025, 12, 31):
        if d.weekday() < 5:
            o, h, lo, c = custom.get(d, (100.0, 100.0, 100.0, 100.0))
            out.append(Bar(d, o * k, max(o, h, lo, c) * k, min(o, h, lo, c) * k, c * k, 1000))
        d += dt.timedelta(days=1)
    return out


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_ohlc, min_size=12, max_size=12),
    st.floats(min_value=1e-3, max_value=1e3),
    st.floats(min_value=0.5, max_value=30.0),
    st.lists(st.sampled_from([Timing.BMO, Timing.AMC, Timing.DMH]), min_size=4, max_size=4),
)
def test_vrp_is_scale_invariant(
    ohlc: list[tuple[float, float, float, float]], k: float, implied: float, timings: list[Timing]
) -> None:
    # Scaling every price by k > 0 leaves every move (a price ratio) and so the VRP unchanged.
    events = [EarningsEvent("T", d, t) for d, t in zip(_EVENT_DAYS, timings, strict=True)]
    as_of = dt.date(2026, 1, 5)
    base_moves = earnings_moves(_random_bars(ohlc, 1.0), events, as_of=as_of).moves
    assert len(base_moves) == 4
    # A move within float noise of 0 has no stable relative value; exact zeros stay exact.
    assume(all(x == 0 or abs(x) > 1e-4 for m in base_moves for x in (m.close, m.gap)))
    base = vrp(implied, base_moves, PARAMS)
    scaled = vrp(implied, earnings_moves(_random_bars(ohlc, k), events, as_of=as_of).moves, PARAMS)
    if isinstance(base, Unavailable):  # every move exactly 0: then also after scaling
        assert isinstance(scaled, Unavailable)
        return
    assert isinstance(scaled, VrpResult)
    assert scaled.n_events == base.n_events == 4
    assert scaled.vrp_ratio == pytest.approx(base.vrp_ratio, rel=1e-9)
    assert scaled.hist_mean_abs_move_pct == pytest.approx(base.hist_mean_abs_move_pct, rel=1e-9)
    assert scaled.vrp_gap_ratio == pytest.approx(base.vrp_gap_ratio, rel=1e-9)
    assert scaled.tier is base.tier
    assert base.interval is not None
    assert scaled.interval == pytest.approx(base.interval, rel=1e-9)


_any = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_any, _any), max_size=14), _any, st.one_of(st.none(), _any))
def test_vrp_never_nan(
    pairs: list[tuple[float, float]], implied: float, cost: float | None
) -> None:
    moves = make_moves([c for c, _ in pairs], [g for _, g in pairs])
    r = vrp(implied, moves, PARAMS, cost_pct=cost)
    if isinstance(r, Unavailable):
        assert r.reason
        return
    numbers = [r.hist_mean_abs_move_pct, r.hist_mean_abs_gap_pct, r.vrp_ratio, r.vrp_gap_ratio]
    numbers += [r.cost_pct, r.net_vrp, *(r.interval or ())]
    assert all(x is None or math.isfinite(x) for x in numbers)
    assert r.vrp_ratio >= 0


# -- tier basis (METHODS §5) ----------------------------------------------------------------------


def test_reaction_ratio_tiers_when_available() -> None:
    # Mean |move| 4 %; straddle implied 8 % (vrp 2.0, excellent); reaction implied 3 % (0.75).
    moves = make_moves([0.04, -0.04, 0.04, -0.04])
    r = vrp(8.0, moves, PARAMS, reaction_move_pct=3.0)
    assert isinstance(r, VrpResult)
    assert r.vrp_ratio == pytest.approx(2.0)
    assert r.reaction_implied_move_pct == 3.0
    assert r.vrp_reaction_ratio == pytest.approx(0.75)
    assert r.tier_basis is TierBasis.REACTION
    assert r.tiering_ratio == pytest.approx(0.75)
    assert r.tier is Tier.SKIP
    assert r.reaction_note is None
    assert r.interval is not None  # the bootstrap stays on vrp_ratio
    assert r.interval[0] <= 2.0 <= r.interval[1]


@pytest.mark.parametrize(
    "reaction",
    [None, Unavailable("event move: no second expiration"), math.nan, 0.0, -1.0],
)
def test_straddle_ratio_tiers_without_a_reaction_move(reaction: float | Unavailable | None) -> None:
    moves = make_moves([0.04, -0.04, 0.04, -0.04])
    r = vrp(8.0, moves, PARAMS, reaction_move_pct=reaction)
    assert isinstance(r, VrpResult)
    assert r.tier_basis is TierBasis.STRADDLE
    assert r.reaction_implied_move_pct is None
    assert r.vrp_reaction_ratio is None
    assert r.tiering_ratio == pytest.approx(2.0)
    assert r.tier is Tier.EXCELLENT
    assert r.reaction_note
    if isinstance(reaction, Unavailable):
        assert r.reaction_note == reaction.reason


def test_reaction_ratio_at_the_good_threshold() -> None:
    moves = make_moves([0.04, -0.04, 0.04, -0.04])
    good = vrp(8.0, moves, PARAMS, reaction_move_pct=6.0)  # 6/4 = 1.5: good exactly
    below = vrp(8.0, moves, PARAMS, reaction_move_pct=5.99)  # 1.4975: marginal
    assert isinstance(good, VrpResult)
    assert isinstance(below, VrpResult)
    assert good.tier is Tier.GOOD
    assert below.tier is Tier.MARGINAL


def test_the_tiering_interval_is_the_bootstrap_interval_of_the_tiering_ratio() -> None:
    moves = make_moves([0.04, -0.03, 0.05, -0.04, 0.06, 0.02])
    r = vrp(8.0, moves, PARAMS, reaction_move_pct=3.0)
    assert isinstance(r, VrpResult)
    assert r.tier_basis is TierBasis.REACTION
    closes = [100.0 * abs(m.close) for m in moves]
    direct = bootstrap_interval(
        closes, 3.0, resamples=PARAMS.bootstrap_resamples,
        confidence=PARAMS.bootstrap_confidence, seed=PARAMS.bootstrap_seed,
    )  # fmt: skip
    assert direct is not None
    assert r.tiering_interval == pytest.approx(direct, rel=1e-12)
    assert r.interval is not None
    assert r.tiering_interval is not None
    assert r.interval[0] > r.tiering_interval[1]  # the straddle interval sits far above it
    straddle = vrp(8.0, moves, PARAMS)
    assert isinstance(straddle, VrpResult)
    assert straddle.tiering_interval == straddle.interval
