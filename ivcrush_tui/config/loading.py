"""Reading the config: the TOML file + the environment -> `Settings`, or a `ConfigError` listing
every problem at once (secrets never shown).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivcrush_tui.config.alert_rules import parse_alerts
from ivcrush_tui.config.config_file import (
    MAX_CONFIG_BYTES,
    NotAConfigFileError,
    check_file_mode,
    read_config_file,
    toml_problem,
)
from ivcrush_tui.config.cross_checks import check_theme, cross_checks
from ivcrush_tui.config.problems import ConfigError, ConfigProblem, Problems
from ivcrush_tui.config.schema import SECTIONS
from ivcrush_tui.config.settings import (
    ENV_CONFIG,
    LIVE_KEYS,
    AlphaVantageSettings,
    Secret,
    Settings,
    TradierSettings,
    default_config_path,
)
from ivcrush_tui.config.values import validate

# The parts live in problems.py, values.py (each key), cross_checks.py (between keys) and
# config_file.py (reading the file); the names callers import from here are re-exported.
__all__ = [
    "MAX_CONFIG_BYTES",
    "ConfigError",
    "ConfigProblem",
    "load_settings",
    "resolve_config_path",
]


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if len(s) >= 4:
            text = text.replace(s, "***")
    return text


def resolve_config_path(config_path: Path | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """The file to read and whether it was named explicitly (then it must exist)."""
    if config_path is not None:
        return Path(config_path).expanduser(), True
    return default_config_path(env), bool(env.get(ENV_CONFIG, "").strip())


def load_settings(
    config_path: Path | None, env: Mapping[str, str], *, force_demo: bool = False
) -> Settings:
    """Read, validate and freeze the settings; raise ConfigError listing every problem."""
    path, explicit = resolve_config_path(config_path, env)
    problems = Problems()
    doc: dict[str, Any] = {}
    found = False
    warnings: list[str] = []
    try:
        raw, file_mode = read_config_file(path)
        found = True
    except FileNotFoundError:
        if explicit:
            problems.add("<file>", str(path), "config file not found")
    except NotAConfigFileError as exc:
        problems.add("<file>", str(path), str(exc))
    except OSError as exc:
        problems.add("<file>", str(path), f"cannot read the config file: {exc.strerror}")
    if found:
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.add("<file>", "", "not UTF-8 text")
        except tomllib.TOMLDecodeError as exc:
            problems.items.append(toml_problem(exc))

    alerts = parse_alerts(doc.pop("alerts", None), problems.add)  # config/alert_rules.py
    values, file_demo = validate(doc, path.parent if found else None, problems)
    file_holds_secret = any(isinstance(v, Secret) for sec in values.values() for v in sec.values())

    env_secrets: list[str] = []
    for key_path, var in LIVE_KEYS.items():
        raw_env = env.get(var, "").strip()
        if not raw_env:
            continue
        env_secrets.append(raw_env)
        section, name = key_path.split(".")
        if any(c.isspace() for c in raw_env):
            problems.add(f"{key_path} (${var})", "***", "must not contain whitespace")
        else:
            values[section][name] = Secret(raw_env)

    cross_checks(values, problems, warnings)
    check_theme(values["ui"].get("theme"), env, problems)
    if found:
        check_file_mode(path, file_mode, file_holds_secret, problems, warnings)
    if problems.items:
        known = env_secrets + [
            s.reveal() for sec in values.values() for s in sec.values() if isinstance(s, Secret)
        ]
        scrubbed = tuple(
            ConfigProblem(p.key_path, _scrub(p.value, known), _scrub(p.why, known))
            for p in problems.items
        )
        raise ConfigError(scrubbed, source=str(path) if found or explicit else "the environment")

    sections = {sec: cls(**values[sec]) for sec, (cls, _) in SECTIONS.items()}
    tradier: TradierSettings = sections["tradier"]
    av: AlphaVantageSettings = sections["alphavantage"]
    no_credentials = tradier.token is None and av.api_key is None
    return Settings(
        tradier=tradier,
        alphavantage=av,
        engine=sections["engine"],
        analysis=sections["analysis"],
        resilience=sections["resilience"],
        cache=sections["cache"],
        storage=sections["storage"],
        ui=sections["ui"],
        serve=sections["serve"],
        alerts=alerts,
        demo=force_demo or file_demo or no_credentials,
        config_path=path if found else None,
        warnings=tuple(warnings),
    )
