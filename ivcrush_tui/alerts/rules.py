"""Pure rule evaluation: (rules, the previous observation, the new one) -> the alerts that fire.

Crossing semantics (docs/RUNBOOK.md "Alerts"): the `tier`, `vrp` and `sell` rules fire on a
change seen between two scored (status ok) analyses of the same name, never on the first one a
process sees (a console opening on an excellent name shows it in the table, it does not alert).
An analysis that is not ok (an outage, missing data) leaves the baseline where it was. A jump
over several tiers fires the highest `tier` rule crossed only. `entry_window` fires on any
analysis made inside the name's entry window, the first one included. `breaker` fires when a
provider's breaker state becomes open. The de-duplication (once per rule, symbol and window)
happens in the store (center.py), not here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.analytics.vrp import TIER_RANK, Tier, VrpResult
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.config.alert_rules import AlertRule, RuleKind

BREAKER_OPEN: Final = "open"  # the breaker state the engine reports (app/backend.py)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the rules read of one analysis. `ratio` is the tiering ratio (plain ratio); `tier`,
    `ratio` and `action` are None unless the analysis is scored (status ok)."""

    symbol: str
    as_of: dt.datetime  # aware UTC
    scored: bool
    tier: str | None = None
    ratio: float | None = None
    basis: str | None = None
    action: str | None = None
    entry_date: dt.date | None = None
    event_date: dt.date | None = None
    timing: str | None = None


def observation_of(a: Analysis) -> Observation:
    """The rules' view of `a` (cheap: attribute reads only)."""
    vrp = a.vrp if isinstance(a.vrp, VrpResult) else None
    scored = a.status is Status.OK and vrp is not None
    sched = a.schedule
    rec = a.recommendation
    return Observation(
        symbol=a.symbol,
        as_of=a.as_of,
        scored=scored,
        tier=vrp.tier.value if scored and vrp is not None else None,
        ratio=vrp.tiering_ratio if scored and vrp is not None else None,
        basis=vrp.tier_basis.value if scored and vrp is not None else None,
        action=rec.action.value if scored and rec is not None else None,
        entry_date=sched.entry_date if sched is not None else None,
        event_date=sched.event.date if sched is not None else None,
        timing=sched.event.timing.value if sched is not None else None,
    )


def applies(rule: AlertRule, symbol: str, watchlist: Collection[str]) -> bool:
    """Whether `rule` watches `symbol`: its own symbols, else the watchlist."""
    return symbol in rule.symbols if rule.symbols else symbol in watchlist


def _vrp_text(o: Observation) -> str:
    if o.ratio is None:
        return ""
    return f" (VRP {o.ratio:.2f} {o.basis})" if o.basis else f" (VRP {o.ratio:.2f})"


def _alert(rule: AlertRule, o: Observation, fired_at: dt.datetime, title: str, text: str) -> Alert:
    assert o.entry_date is not None
    return Alert(
        rule=rule.rule_id,
        kind=rule.kind.value,
        symbol=o.symbol,
        window=o.entry_date,
        fired_at=fired_at,
        title=title,
        message=text,
        tier=o.tier,
        tiering_ratio=o.ratio,
        recommendation=o.action,
    )


_RANK_OF_NAME: Final = {t.value: rank for t, rank in TIER_RANK.items()}


def _rank(tier: str | None) -> int:
    return _RANK_OF_NAME[tier or Tier.EXCELLENT.value]


def _crossed(rule: AlertRule, prev: Observation | None, cur: Observation) -> bool:
    if rule.kind is RuleKind.TIER:
        need = _rank(rule.tier)
        if prev is None or prev.tier is None or cur.tier is None:
            return False
        return _rank(prev.tier) < need <= _rank(cur.tier)
    if rule.kind is RuleKind.VRP:
        x = rule.vrp
        if x is None or prev is None or prev.ratio is None or cur.ratio is None:
            return False
        return prev.ratio < x <= cur.ratio
    if rule.kind is RuleKind.SELL:
        return (
            prev is not None
            and prev.action is not None
            and prev.action != "SELL"
            and (cur.action == "SELL")
        )
    return False


def _in_entry_window(
    o: Observation, calendar: TradingCalendar
) -> tuple[dt.datetime, dt.datetime] | None:
    if o.entry_date is None:
        return None
    window = calendar.entry_window(o.entry_date)
    if window is None or not window[0] <= o.as_of < window[1]:
        return None
    return window


def evaluate(
    rules: Sequence[AlertRule],
    prev: Observation | None,
    cur: Observation,
    *,
    watchlist: Collection[str],
    calendar: TradingCalendar,
    fired_at: dt.datetime,
) -> list[Alert]:
    """The alerts `cur` fires, given `prev`, the last scored observation of the same name (None
    when there is none yet). See the module docstring for the semantics."""
    if cur.entry_date is None:
        return []  # no event: no window to alert about (and no de-duplication key)
    out: list[Alert] = []
    best_tier: tuple[int, Alert] | None = None
    for rule in rules:
        if rule.kind is RuleKind.BREAKER or not applies(rule, cur.symbol, watchlist):
            continue
        if rule.kind is RuleKind.ENTRY_WINDOW:
            window = _in_entry_window(cur, calendar)
            if window is not None:
                end = window[1].astimezone(NY).strftime("%H:%M")
                text = (
                    f"{cur.symbol} entry window open until {end} ET"
                    f" (earnings {cur.event_date} {cur.timing})"
                )
                out.append(_alert(rule, cur, fired_at, "Entry window", text))
            continue
        if not cur.scored or not _crossed(rule, prev, cur):
            continue
        if rule.kind is RuleKind.TIER:
            alert = _alert(rule, cur, fired_at, "Tier up", f"{cur.symbol} rose to {rule.tier}"
                           + _vrp_text(cur))  # fmt: skip
            rank = _rank(rule.tier)
            if best_tier is None or rank > best_tier[0]:
                best_tier = (rank, alert)
        elif rule.kind is RuleKind.VRP:
            text = f"{cur.symbol} VRP {cur.ratio:.2f} reached {rule.vrp:.2f} ({cur.tier})"
            out.append(_alert(rule, cur, fired_at, "VRP", text))
        else:
            text = f"{cur.symbol} is now SELL{_vrp_text(cur)}"
            out.append(_alert(rule, cur, fired_at, "SELL", text))
    if best_tier is not None:
        out.insert(0, best_tier[1])
    return out


def evaluate_breakers(
    rules: Sequence[AlertRule],
    prev: Mapping[str, str],
    cur: Mapping[str, str],
    *,
    fired_at: dt.datetime,
) -> list[Alert]:
    """Alerts for the providers whose breaker state (`cur`: provider -> "closed" | "open" |
    "half_open") became open since `prev` (a provider missing from `prev` counts as closed).
    The window is the exchange date of `fired_at`."""
    window = fired_at.astimezone(NY).date()
    out: list[Alert] = []
    for rule in rules:
        if rule.kind is not RuleKind.BREAKER:
            continue
        for provider, state in cur.items():
            if rule.providers and provider not in rule.providers:
                continue
            if state != BREAKER_OPEN or prev.get(provider) == BREAKER_OPEN:
                continue
            out.append(
                Alert(
                    rule=rule.rule_id,
                    kind=rule.kind.value,
                    symbol=provider,
                    window=window,
                    fired_at=fired_at,
                    title="Provider down",
                    message=f"{provider} breaker opened: requests refused until it resets",
                )
            )
    return out
