"""`[alerts]` and `[[alerts.rules]]` in the config file (config/alert_rules.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivcrush_tui.config import AlertRule, ConfigError, RuleKind, load_settings
from ivcrush_tui.config.alert_rules import DEFAULT_RULES


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return load_settings(path, {})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_defaults_without_an_alerts_section(tmp_path: Path) -> None:
    s = load_settings(None, {})
    assert s.alerts.bell is True
    assert s.alerts.command == ()
    assert s.alerts.command_timeout_s == 5.0
    assert s.alerts.rules == DEFAULT_RULES
    assert {r.rule_id for r in DEFAULT_RULES} == {"tier:good", "tier:excellent", "sell"}


def test_rules_and_delivery_are_read(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        """
[alerts]
bell = false
command = ["notify-send", "ivcrush"]
command_timeout_s = 2

[[alerts.rules]]
kind = "vrp"
vrp = 1.8
symbols = ["aapl", "BRK.B"]

[[alerts.rules]]
kind = "entry_window"

[[alerts.rules]]
kind = "breaker"
providers = ["tradier"]
""",
    )
    a = s.alerts  # type: ignore[attr-defined]
    assert a.bell is False
    assert a.command == ("notify-send", "ivcrush")
    assert a.command_timeout_s == 2.0
    assert a.rules == (
        AlertRule(RuleKind.VRP, vrp=1.8, symbols=("AAPL", "BRK.B")),
        AlertRule(RuleKind.ENTRY_WINDOW),
        AlertRule(RuleKind.BREAKER, providers=("tradier",)),
    )
    assert [r.rule_id for r in a.rules] == ["vrp>=1.8", "entry_window", "breaker"]


def test_an_empty_rules_list_turns_every_rule_off(tmp_path: Path) -> None:
    s = load(tmp_path, "[alerts]\nrules = []\n")
    assert s.alerts.rules == ()  # type: ignore[attr-defined]


def test_a_top_level_array_of_alerts_points_at_alerts_rules(tmp_path: Path) -> None:
    got = problems(tmp_path, '[[alerts]]\nkind = "sell"\n')
    assert len(got) == 1
    assert got[0].startswith("alerts: must be the table [alerts]")
    assert "[[alerts.rules]]" in got[0]


def test_a_shell_string_command_is_refused_with_the_argv_form(tmp_path: Path) -> None:
    got = problems(tmp_path, '[alerts]\ncommand = "notify-send ivcrush"\n')
    assert got == [
        "alerts.command: must be a list of arguments, never a shell string (no shell runs it):"
        ' command = ["notify-send", "ivcrush"] (got \'notify-send ivcrush\')'
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[alerts]\ncommand = []\n", "alerts.command: must be a non-empty list"),
        ("[alerts]\ncommand = [1]\n", "alerts.command: must be a list of strings"),
        ("[alerts]\ncommand_timeout_s = 0\n", "alerts.command_timeout_s: must be > 0 and <= 300"),
        ("[alerts]\nbel = true\n", "alerts.bel: unknown key (did you mean 'bell'?)"),
        ("[alerts]\nbell = 1\n", "alerts.bell: must be true or false"),
        ('[[alerts.rules]]\nkind = "tiers"\n', "alerts.rules[1].kind: must be one of tier, vrp"),
        ('[[alerts.rules]]\nkind = "tier"\n', "alerts.rules[1].tier: a tier rule needs tier"),
        (
            '[[alerts.rules]]\nkind = "tier"\ntier = "marginal"\n',
            "alerts.rules[1].tier: a tier rule needs tier = good or excellent",
        ),
        ('[[alerts.rules]]\nkind = "vrp"\n', "alerts.rules[1].vrp: a vrp rule needs vrp"),
        ('[[alerts.rules]]\nkind = "vrp"\nvrp = -1\n', "must be > 0"),
        ('[[alerts.rules]]\nkind = "sell"\nvrp = 2\n', "alerts.rules[1].vrp: only a vrp rule"),
        (
            '[[alerts.rules]]\nkind = "sell"\nsymbols = ["$$$"]\n',
            "alerts.rules[1].symbols: ",
        ),
        (
            '[[alerts.rules]]\nkind = "breaker"\nproviders = ["ibkr"]\n',
            "alerts.rules[1].providers: unknown provider",
        ),
        (
            '[[alerts.rules]]\nkind = "sell"\nproviders = ["tradier"]\n',
            "alerts.rules[1].providers: only a breaker rule takes providers",
        ),
        ('[[alerts.rules]]\nkind = "sell"\nsymbol = ["A"]\n', "did you mean 'symbols'?"),
    ],
)
def test_bad_alert_settings_are_clear_config_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    got = problems(tmp_path, text)
    assert any(expected in p for p in got), got


def test_alert_problems_are_reported_with_the_others(tmp_path: Path) -> None:
    got = problems(tmp_path, '[engine]\nconcurrency = 0\n[alerts]\ncommand = "x"\n')
    assert {p.split(":")[0] for p in got} == {"engine.concurrency", "alerts.command"}
