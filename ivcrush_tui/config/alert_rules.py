"""The `[alerts]` config section: how alerts are delivered, and the rules in `[[alerts.rules]]`.

The issue asked for rules in `[[alerts]]`, but TOML cannot hold both a table `[alerts]` (bell,
command) and an array of tables `[[alerts]]` under one name: the rules are therefore an array of
tables one level down, `[[alerts.rules]]`. A top-level `[[alerts]]` is a configuration error that
says so.

    [alerts]
    bell = true
    command = ["notify-send", "ivcrush"]   # an argv list, never a shell string
    command_timeout_s = 5.0

    [[alerts.rules]]
    kind = "tier"          # tier | vrp | sell | entry_window | breaker
    tier = "excellent"     # kind tier: good | excellent
    symbols = ["AAPL"]     # else the watchlist

With no `rules` key the DEFAULT_RULES apply; `rules = []` turns every rule off.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from ivcrush_tui.symbols import validate_symbol


class RuleKind(StrEnum):
    TIER = "tier"  # the tiering ratio crosses into a tier (good or excellent)
    VRP = "vrp"  # the tiering ratio crosses up through a plain ratio
    SELL = "sell"  # the recommendation becomes SELL
    ENTRY_WINDOW = "entry_window"  # the entry window of a name's event opens
    BREAKER = "breaker"  # a provider's circuit breaker opens


ALERT_TIERS: Final = ("good", "excellent")  # the tiers a `tier` rule may name
PROVIDERS: Final = ("tradier", "alphavantage")  # the breakers a `breaker` rule may name


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One rule. `symbols` empty: the rule applies to the watchlist (for `breaker` rules:
    `providers` empty means every provider)."""

    kind: RuleKind
    tier: str | None = None  # kind tier: "good" | "excellent"
    vrp: float | None = None  # kind vrp: the tiering ratio threshold (plain ratio, 2.0 = 2x)
    symbols: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()

    @property
    def rule_id(self) -> str:
        """Stable id, part of the de-duplication key (rule, symbol, window): "tier:excellent",
        "vrp>=2", "sell", "entry_window", "breaker"."""
        if self.kind is RuleKind.TIER:
            return f"tier:{self.tier}"
        if self.kind is RuleKind.VRP:
            return f"vrp>={self.vrp:g}"
        return self.kind.value


# Used when the config has no `rules` key: what the console alerted on before rules existed
# (a tier rising into good or excellent), plus the recommendation turning SELL; watchlist only.
DEFAULT_RULES: Final = (
    AlertRule(RuleKind.TIER, tier="good"),
    AlertRule(RuleKind.TIER, tier="excellent"),
    AlertRule(RuleKind.SELL),
)
MAX_COMMAND_TIMEOUT_S: Final = 300.0


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """`[alerts]`: delivery (bell, command) and the rules."""

    bell: bool = True  # ring the terminal bell with each console notification
    command: tuple[str, ...] = ()  # argv run per alert, the alert as JSON on stdin; () none
    command_timeout_s: float = 5.0  # seconds before a command still running is killed
    rules: tuple[AlertRule, ...] = field(default=DEFAULT_RULES)


AddProblem = Callable[[str, str, str], None]  # (key path, shown value, why)

_DELIVERY_KEYS: Final = ("bell", "command", "command_timeout_s", "rules")
_RULE_KEYS: Final = ("kind", "tier", "vrp", "symbols", "providers")
_ARRAY_HINT: Final = (
    "rules go in [[alerts.rules]] tables (TOML cannot hold both [alerts] and [[alerts]]);"
    ' e.g. [[alerts.rules]] kind = "tier" tier = "excellent"'
)


def _suggest(name: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_alerts(value: object, add: AddProblem) -> AlertSettings:
    """The `alerts` value of the TOML document (None when absent) -> AlertSettings; each problem
    is reported through `add(key_path, shown_value, why)` and the defaults stand in for it."""
    if value is None:
        return AlertSettings()
    if isinstance(value, list):
        add("alerts", "<array of tables>", "must be the table [alerts]; " + _ARRAY_HINT)
        return AlertSettings()
    if not isinstance(value, dict):
        add("alerts", f"<{type(value).__name__}>", "must be a table ([alerts])")
        return AlertSettings()
    out: dict[str, Any] = {}
    for name, item in value.items():
        path = f"alerts.{name}"
        if name not in _DELIVERY_KEYS:
            add(path, f"<{type(item).__name__}>", "unknown key" + _suggest(name, _DELIVERY_KEYS))
        elif name == "bell":
            if isinstance(item, bool):
                out["bell"] = item
            else:
                add(path, _short(item), "must be true or false")
        elif name == "command":
            command = _parse_command(item, path, add)
            if command is not None:
                out["command"] = command
        elif name == "command_timeout_s":
            timeout = _positive(item, MAX_COMMAND_TIMEOUT_S)
            if isinstance(timeout, str):
                add(path, _short(item), timeout)
            else:
                out["command_timeout_s"] = timeout
        else:
            out["rules"] = _parse_rules(item, add)
    return AlertSettings(**out)


def _parse_command(item: object, path: str, add: AddProblem) -> tuple[str, ...] | None:
    if isinstance(item, str):
        example = ", ".join(f'"{w}"' for w in item.split()) or '"notify-send", "ivcrush"'
        add(
            path,
            _short(item),
            "must be a list of arguments, never a shell string (no shell runs it):"
            f" command = [{example}]",
        )
        return None
    if not isinstance(item, list) or not item:
        add(path, _short(item), 'must be a non-empty list of strings, e.g. ["notify-send", "x"]')
        return None
    if not all(isinstance(w, str) for w in item) or not item[0].strip():
        add(path, _short(item), "must be a list of strings whose first names the program")
        return None
    if any("\0" in w for w in item):
        add(path, "<list>", "must not contain NUL characters")
        return None
    return tuple(item)


def _positive(item: object, hi: float) -> float | str:
    """The number, or why it is invalid."""
    if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
        return "must be a number"
    if not 0 < item <= hi:
        return f"must be > 0 and <= {hi:g}"
    return float(item)


def _parse_rules(item: object, add: AddProblem) -> tuple[AlertRule, ...]:
    if not isinstance(item, list):
        add("alerts.rules", _short(item), "must be an array of tables ([[alerts.rules]])")
        return DEFAULT_RULES
    rules: list[AlertRule] = []
    for i, table in enumerate(item, start=1):
        path = f"alerts.rules[{i}]"
        if not isinstance(table, dict):
            add(path, _short(table), "must be a table ([[alerts.rules]])")
            continue
        rule = _parse_rule(table, path, add)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _names(
    item: object, path: str, add: AddProblem, check: Callable[[str], str]
) -> tuple[str, ...]:
    if not isinstance(item, list) or not all(isinstance(s, str) for s in item):
        add(path, _short(item), "must be a list of strings")
        return ()
    out: list[str] = []
    for raw in item:
        try:
            out.append(check(raw))
        except ValueError as exc:
            add(path, _short(raw), str(exc))
    return tuple(dict.fromkeys(out))


def _symbol(raw: str) -> str:
    try:
        return validate_symbol(raw)
    except Exception as exc:  # IvCrushError (invalid_symbol) or ValueError
        raise ValueError(getattr(exc, "message", str(exc))) from None


def _provider(raw: str) -> str:
    if raw not in PROVIDERS:
        raise ValueError("unknown provider; one of " + ", ".join(PROVIDERS))
    return raw


def _parse_rule(table: Mapping[str, Any], path: str, add: AddProblem) -> AlertRule | None:
    ok = True
    for name in table:
        if name not in _RULE_KEYS:
            add(f"{path}.{name}", "", "unknown key" + _suggest(name, _RULE_KEYS))
            ok = False
    raw_kind = table.get("kind")
    kinds = tuple(k.value for k in RuleKind)
    if raw_kind not in kinds:
        add(f"{path}.kind", _short(raw_kind), "must be one of " + ", ".join(kinds))
        return None
    kind = RuleKind(raw_kind)
    tier = table.get("tier")
    vrp: object = table.get("vrp")
    if kind is RuleKind.TIER and tier not in ALERT_TIERS:
        add(f"{path}.tier", _short(tier), "a tier rule needs tier = " + " or ".join(ALERT_TIERS))
        ok = False
    if kind is RuleKind.VRP:
        vrp = _positive(vrp, 100.0)
        if isinstance(vrp, str):
            add(f"{path}.vrp", _short(table.get("vrp")), "a vrp rule needs vrp = a ratio; " + vrp)
            ok = False
    for key, needs in (("tier", RuleKind.TIER), ("vrp", RuleKind.VRP)):
        if key in table and kind is not needs:
            add(f"{path}.{key}", "", f"only a {needs.value} rule takes {key}")
            ok = False
    symbols: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    if "symbols" in table:
        if kind is RuleKind.BREAKER:
            add(f"{path}.symbols", "", "a breaker rule names providers, not symbols")
            ok = False
        symbols = _names(table["symbols"], f"{path}.symbols", add, _symbol)
    if "providers" in table:
        if kind is not RuleKind.BREAKER:
            add(f"{path}.providers", "", "only a breaker rule takes providers")
            ok = False
        providers = _names(table["providers"], f"{path}.providers", add, _provider)
    if not ok:
        return None
    return AlertRule(
        kind,
        tier=tier if kind is RuleKind.TIER else None,
        vrp=vrp if kind is RuleKind.VRP else None,  # type: ignore[arg-type]
        symbols=symbols,
        providers=providers,
    )


ALERTS_TEMPLATE: Final = """\

[alerts]
# Alerts: a console notification, the terminal bell and, optionally, a command per alert. Each
# alert fires once per rule, symbol and entry window, and is stored (`ivcrush alerts` lists them).
# Ring the terminal bell with each console notification.
bell = true
# A program run per alert with the alert as one JSON object on its standard input: a list of
# arguments, never a shell string (no shell runs it). Unset: no command.
# command = ["notify-send", "ivcrush"]
# Seconds a command may run before it is killed.
command_timeout_s = 5.0
# The rules are [[alerts.rules]] tables (not [[alerts]]: TOML cannot hold both a table and an
# array of tables under one name). Without any, these defaults apply to the watchlist; write
# `rules = []` under [alerts] to turn every rule off. Keys: kind = "tier" (tier = "good" or
# "excellent": the tiering ratio crosses into that tier), "vrp" (vrp = 2.0: the tiering ratio
# crosses up through that plain ratio), "sell" (the recommendation becomes SELL), "entry_window"
# (a name's entry window opens) or "breaker" (a provider's circuit breaker opens; providers =
# ["tradier"], default both). symbols = ["AAPL", "MSFT"] limits a rule to those names; without it
# a rule applies to the watchlist.
# [[alerts.rules]]
# kind = "tier"
# tier = "good"
# [[alerts.rules]]
# kind = "tier"
# tier = "excellent"
# [[alerts.rules]]
# kind = "sell"
"""
