"""Alert rules (pure): crossing semantics, scope, the entry window and the breakers."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ivcrush_tui.alerts.rules import Observation, evaluate, evaluate_breakers, observation_of
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.config.alert_rules import DEFAULT_RULES, AlertRule, RuleKind
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, build_analysis, error_analysis

CAL = TradingCalendar()
ENTRY = dt.date(2026, 11, 23)  # Monday; its entry window is 20:00-21:00 UTC (15:00-16:00 ET)
BEFORE = dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)
INSIDE = dt.datetime(2026, 11, 23, 20, 5, tzinfo=dt.UTC)
WL = frozenset({"MSFT", "AAPL"})


def obs(
    tier: str | None = "marginal",
    ratio: float | None = 1.3,
    action: str | None = "WATCH",
    *,
    symbol: str = "MSFT",
    at: dt.datetime = BEFORE,
    scored: bool = True,
) -> Observation:
    return Observation(
        symbol=symbol,
        as_of=at,
        scored=scored,
        tier=tier,
        ratio=ratio,
        basis="reaction",
        action=action,
        entry_date=ENTRY,
        event_date=dt.date(2026, 11, 24),
        timing="BMO",
    )


def fire(rules: tuple[AlertRule, ...], prev: Observation | None, cur: Observation) -> list[str]:
    found = evaluate(rules, prev, cur, watchlist=WL, calendar=CAL, fired_at=cur.as_of)
    return [f"{a.rule} {a.symbol} {a.window}" for a in found]


TIER_GOOD = AlertRule(RuleKind.TIER, tier="good")
TIER_EXC = AlertRule(RuleKind.TIER, tier="excellent")


def test_a_tier_rule_fires_on_the_crossing_into_it_only() -> None:
    assert fire((TIER_GOOD,), obs("marginal"), obs("good", 1.6)) == ["tier:good MSFT 2026-11-23"]
    assert fire((TIER_GOOD,), obs("good", 1.6), obs("good", 1.7)) == []  # already there
    assert fire((TIER_GOOD,), obs("excellent", 2.2), obs("good", 1.6)) == []  # a fall
    assert fire((TIER_EXC,), obs("marginal"), obs("good", 1.6)) == []  # not reached


def test_the_first_observation_is_a_baseline_not_a_crossing() -> None:
    assert fire(DEFAULT_RULES, None, obs("excellent", 2.5, "SELL")) == []


def test_a_jump_over_two_tiers_fires_the_highest_tier_rule_only() -> None:
    got = fire(DEFAULT_RULES, obs("skip", 0.9, "SKIP"), obs("excellent", 2.4, "SELL"))
    assert got == ["tier:excellent MSFT 2026-11-23", "sell MSFT 2026-11-23"]


def test_an_unscored_analysis_fires_nothing() -> None:
    broken = obs(None, None, None, scored=False)
    assert fire(DEFAULT_RULES, obs("marginal"), broken) == []


def test_vrp_rule_fires_when_the_ratio_crosses_up_through_x() -> None:
    rule = AlertRule(RuleKind.VRP, vrp=1.8)
    assert fire((rule,), obs(ratio=1.79), obs("good", 1.8)) == ["vrp>=1.8 MSFT 2026-11-23"]
    assert fire((rule,), obs(ratio=1.9), obs("good", 2.0)) == []  # already above
    assert fire((rule,), obs(ratio=1.2), obs("good", 1.7)) == []  # below still


def test_sell_rule_fires_when_the_recommendation_becomes_sell() -> None:
    rule = AlertRule(RuleKind.SELL)
    assert fire((rule,), obs(action="WATCH"), obs(action="SELL")) == ["sell MSFT 2026-11-23"]
    assert fire((rule,), obs(action="SELL"), obs(action="SELL")) == []
    assert fire((rule,), obs(action="SELL"), obs(action="WATCH")) == []


def test_entry_window_rule_fires_inside_the_window_even_at_first_sight() -> None:
    rule = AlertRule(RuleKind.ENTRY_WINDOW)
    assert fire((rule,), None, obs(at=INSIDE)) == ["entry_window MSFT 2026-11-23"]
    assert fire((rule,), None, obs(at=BEFORE)) == []
    after = dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC)  # the close ends it
    assert fire((rule,), None, obs(at=after)) == []
    # An error analysis that still knows its event counts too (the window is a matter of time).
    assert fire((rule,), None, obs(None, None, None, at=INSIDE, scored=False)) != []
    message = evaluate((rule,), None, obs(at=INSIDE), watchlist=WL, calendar=CAL,
                       fired_at=INSIDE)[0].message  # fmt: skip
    assert message == "MSFT entry window open until 16:00 ET (earnings 2026-11-24 BMO)"


def test_rules_apply_to_the_watchlist_unless_they_name_symbols() -> None:
    up = (obs("marginal", symbol="NVDA"), obs("good", 1.6, symbol="NVDA"))
    assert fire((TIER_GOOD,), *up) == []  # NVDA is not on the watchlist
    named = AlertRule(RuleKind.TIER, tier="good", symbols=("NVDA",))
    assert fire((named,), *up) == ["tier:good NVDA 2026-11-23"]
    assert fire((named,), obs("marginal"), obs("good", 1.6)) == []  # MSFT not named


def test_observation_of_a_real_analysis() -> None:
    a = build_analysis(SCRIPTS["MSFT"], FIXED_NOW, CAL)
    o = observation_of(a)
    assert o.scored
    assert o.tier == a.tier.value  # type: ignore[union-attr]
    assert o.action == a.recommendation.action.value  # type: ignore[union-attr]
    assert o.entry_date == a.schedule.entry_date  # type: ignore[union-attr]
    err = observation_of(error_analysis("MSFT", FIXED_NOW, "timeout", "slow", "c1"))
    assert not err.scored
    assert err.tier is None
    assert err.ratio is None


def test_breaker_rule_fires_when_a_breaker_opens() -> None:
    rule = AlertRule(RuleKind.BREAKER)
    at = INSIDE
    opened = evaluate_breakers((rule,), {"tradier": "closed"}, {"tradier": "open"}, fired_at=at)
    assert [(a.rule, a.symbol, a.window) for a in opened] == [("breaker", "tradier", ENTRY)]
    assert evaluate_breakers((rule,), {"tradier": "open"}, {"tradier": "open"}, fired_at=at) == []
    assert evaluate_breakers((rule,), {}, {"tradier": "half_open"}, fired_at=at) == []
    only_av = dataclasses.replace(rule, providers=("alphavantage",))
    assert evaluate_breakers((only_av,), {}, {"tradier": "open"}, fired_at=at) == []
    # Breaker rules never fire on analyses, analysis rules never on breakers.
    assert fire((rule,), obs("marginal"), obs("excellent", 2.5)) == []
    assert evaluate_breakers(DEFAULT_RULES, {}, {"tradier": "open"}, fired_at=at) == []
