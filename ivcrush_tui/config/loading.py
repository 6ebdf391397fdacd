"""Reading the config: the TOML file + the environment -> `Settings`, or a `ConfigError` listing
every problem at once (secrets never shown).
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivcrush_tui.analytics.params import TIER_PROFILES
from ivcrush_tui.config.alert_rules import parse_alerts
from ivcrush_tui.config.schema import DEFAULTS, SECTIONS, TOP_LEVEL, KeySpec, key_paths
from ivcrush_tui.config.settings import (
    ENV_CONFIG,
    LIVE_KEYS,
    AlphaVantageSettings,
    Secret,
    Settings,
    TradierSettings,
    default_config_path,
)
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.keymap import BINDING_IDS, key_problem

# -- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    key_path: str  # e.g. "engine.concurrency"; "<file>" for file-level problems
    value: str  # repr of the offending value, secrets shown as ***
    why: str

    def __str__(self) -> str:
        got = f" (got {self.value})" if self.value else ""
        return f"{self.key_path}: {self.why}{got}"


class ConfigError(IvCrushError):
    """Every problem found in the configuration (code CONFIG)."""

    def __init__(self, problems: tuple[ConfigProblem, ...], *, source: str) -> None:
        self.problems = problems
        n = len(problems)
        head = f"invalid configuration in {source}: {n} problem{'s' if n != 1 else ''}"
        super().__init__(ErrorCode.CONFIG, "\n  - ".join([head, *map(str, problems)]))


# -- validation ----------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, key_path: str, value: str, why: str) -> None:
        self.items.append(ConfigProblem(key_path, value, why))


def _show(spec: KeySpec | None, value: object) -> str:
    if spec is None:  # an unknown key might be a mistyped secret: show only its type
        return f"<{type(value).__name__}>"
    if spec.kind == "secret":
        return "***"
    if spec.kind == "url" and isinstance(value, str):
        value = _without_userinfo(value)  # a password in a URL is a secret too
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _range_why(spec: KeySpec) -> str | None:
    lo, hi = spec.lo, spec.hi
    if lo is not None and hi is not None:
        left = f"> {lo:g}" if spec.lo_exclusive else f">= {lo:g}"
        return f"must be {left} and <= {hi:g}"
    return None


def _check_number(spec: KeySpec, value: float) -> str | None:
    lo, hi = spec.lo, spec.hi
    too_low = lo is not None and (value <= lo if spec.lo_exclusive else value < lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        why = _range_why(spec) or "out of range"
        if spec.name == "risk_free_rate" and value > 0.5:
            why += " (a fraction: 0.04 means 4 %)"
        return why
    return None


def _convert(spec: KeySpec, value: object, base_dir: Path | None) -> tuple[Any, str | None]:
    """(converted value, None) or (None, why it is invalid)."""
    kind = spec.kind
    if kind == "bool":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "must be an integer"
        return value, _check_number(spec, value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        if not math.isfinite(value):
            return None, "must be a finite number"
        return float(value), _check_number(spec, float(value))
    if not isinstance(value, str):
        return None, "must be a string"
    if kind == "secret":
        text = value.strip()
        if not text:
            return None, "must not be empty (remove the key to leave it unset)"
        if any(c.isspace() for c in text):
            return None, "must not contain whitespace"
        return Secret(text), None
    if kind == "url":
        return _check_url(spec, value)
    if kind == "path":
        if not value.strip():
            return None, "must not be empty"
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return path, None
    # str
    if not value.strip():
        return None, "must not be empty"
    if spec.choices and value not in spec.choices:
        return None, "must be one of " + ", ".join(spec.choices)
    return value, None


def _without_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{tail}"


def _check_url(spec: KeySpec, value: str) -> tuple[Any, str | None]:
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, "must be an http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None, "must be an http(s) URL"
    if "@" in parts.netloc:
        # httpx would send these as Basic auth instead of the token, and log them with the URL.
        return None, "must not contain a user name or password (credentials go in token/api_key)"
    if parts.query or parts.fragment:
        return None, "must not contain a query or fragment"
    if spec.url_suffix and not parts.path.endswith(spec.url_suffix):
        return None, f"must end with {spec.url_suffix}"
    return url, None


def _flatten_keymap(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, object]]:
    """(binding id, value) pairs; a dotted TOML key (`app.quit = "f10"`) arrives as a nested table,
    so nested tables are joined back into dotted ids."""
    out: list[tuple[str, object]] = []
    for name, value in table.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            out += _flatten_keymap(value, full + ".")
        else:
            out.append((full, value))
    return out


def _check_keymap(value: object, problems: _Problems) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        problems.add("ui.keymap", _show(None, value), 'must be a table of binding id = "keys"')
        return ()
    pairs: list[tuple[str, str]] = []
    for name, keys in _flatten_keymap(value):
        path = f"ui.keymap.{name}"
        if name not in BINDING_IDS:
            problems.add(
                path,
                "",
                "unknown binding id"
                + _suggest(name, list(BINDING_IDS))
                + "; valid ids: "
                + ", ".join(BINDING_IDS),
            )
        elif not isinstance(keys, str) or not keys.strip():
            problems.add(path, _show(None, keys), 'must be a non-empty string of keys, e.g. "f5"')
        else:
            key_list = [k.strip() for k in keys.split(",")]
            why = next(filter(None, map(key_problem, key_list)), None)
            if why:
                problems.add(path, repr(keys), why)
            else:
                pairs.append((name, ",".join(key_list)))
    return tuple(pairs)


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _validate(
    doc: Mapping[str, Any], base_dir: Path | None, problems: _Problems
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Checked values of the keys present in `doc`, per section; and the top-level `demo`."""
    out: dict[str, dict[str, Any]] = {sec: {} for sec in SECTIONS}
    force_demo = False
    top_specs = {s.name: s for s in TOP_LEVEL}
    for name, value in doc.items():
        if name in SECTIONS:
            if not isinstance(value, dict):
                problems.add(name, _show(None, value), "must be a table ([" + name + "])")
                continue
            _validate_section(name, value, base_dir, out[name], problems)
        elif name in top_specs:
            converted, why = _convert(top_specs[name], value, base_dir)
            if why:
                problems.add(name, _show(top_specs[name], value), why)
            else:
                force_demo = bool(converted)
        else:
            what = "unknown section" if isinstance(value, dict) else "unknown key"
            options = list(SECTIONS) + list(top_specs) + list(key_paths())
            problems.add(name, _show(None, value), what + _suggest(name, options))
    return out, force_demo


def _validate_section(
    section: str,
    table: Mapping[str, Any],
    base_dir: Path | None,
    out: dict[str, Any],
    problems: _Problems,
) -> None:
    specs = {s.name: s for s in SECTIONS[section][1]}
    for name, value in table.items():
        path = f"{section}.{name}"
        spec = specs.get(name)
        if spec is None:
            problems.add(path, _show(None, value), "unknown key" + _suggest(name, list(specs)))
            continue
        if spec.kind == "keymap":
            out[name] = _check_keymap(value, problems)
            continue
        converted, why = _convert(spec, value, base_dir)
        if why:
            problems.add(path, _show(spec, value), why)
        else:
            out[name] = converted


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and addresses in 127.0.0.0/8 or ::1 (traffic that never leaves the
    machine, where plain http exposes nothing)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cross_checks(
    values: Mapping[str, Mapping[str, Any]], problems: _Problems, warnings: list[str]
) -> None:
    """Constraints between keys (only when each key involved is valid on its own)."""

    def get(section: str, name: str) -> Any:
        section_values = values[section]
        if name in section_values:
            return section_values[name]
        return DEFAULTS[section][name]

    for provider, what in (("tradier", "token"), ("alphavantage", "API key")):
        parts = urlsplit(get(provider, "base_url"))
        if parts.scheme != "http" or is_loopback_host(parts.hostname or ""):
            continue
        if get(provider, "allow_insecure_http"):
            warnings.append(
                f"{provider}.base_url is plain http to {parts.hostname}: the {what} crosses the"
                " network in clear (allow_insecure_http = true)"
            )
        else:
            problems.add(
                f"{provider}.base_url",
                repr(f"http://{parts.netloc}"),
                f"plain http to a host other than this machine would send the {what} in clear;"
                f" use https (or set {provider}.allow_insecure_http = true)",
            )

    a = "analysis"
    profile = get(a, "profile")
    base = TIER_PROFILES.get(profile, TIER_PROFILES["balanced"])
    exc = get(a, "excellent") or base.excellent
    good = get(a, "good") or base.good
    marg = get(a, "marginal") or base.marginal
    if any(values[a].get(k) is not None for k in ("excellent", "good", "marginal")) and not (
        exc >= good >= marg
    ):
        problems.add(
            "analysis.excellent",
            f"{exc!r}/{good!r}/{marg!r}",
            "tier thresholds must satisfy excellent >= good >= marginal"
            f" (missing ones come from the {profile!r} profile)",
        )
    if get(a, "min_events") > get(a, "max_events"):
        problems.add(
            "analysis.min_events", repr(get(a, "min_events")), "must be <= analysis.max_events"
        )
    if get("engine", "history_quarters") < get(a, "min_events"):
        problems.add(
            "engine.history_quarters",
            repr(get("engine", "history_quarters")),
            "must be >= analysis.min_events (else no ticker ever has enough history)",
        )
    if get("serve", "scan_interval_s") > get("serve", "idle_interval_s"):
        problems.add(
            "serve.scan_interval_s",
            repr(get("serve", "scan_interval_s")),
            "must be <= serve.idle_interval_s (the entry window is scanned more often)",
        )
    r = "resilience"
    if get(r, "backoff_base_s") > get(r, "backoff_max_s"):
        problems.add(
            "resilience.backoff_base_s",
            repr(get(r, "backoff_base_s")),
            "must be <= resilience.backoff_max_s",
        )


def _check_theme(theme: object, env: Mapping[str, str], problems: _Problems) -> None:
    """`ui.theme`, when given, must name a theme that exists (a shipped or user theme file, or a
    Textual theme the console offers): a typo used to fall back to the default theme in silence.
    Checked only when set, and without Textual (theme_names), so a command's start stays cheap."""
    if not isinstance(theme, str):
        return
    from ivcrush_tui.theme_names import THEMES_ENV, known_theme_names

    known = known_theme_names(env)
    if theme in known:
        return
    problems.add(
        "ui.theme",
        repr(theme),
        "unknown theme" + _suggest(theme, sorted(known)) + f"; themes: {', '.join(sorted(known))}"
        f" (theme files go in the user themes folder or ${THEMES_ENV})",
    )


def _toml_problem(exc: tomllib.TOMLDecodeError) -> ConfigProblem:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    where = f" at line {m.group(1)}, column {m.group(2)}" if m else ""
    detail = msg[: m.start()].strip() if m else msg
    return ConfigProblem("<file>", "", f"TOML syntax error{where}: {detail}")


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
    problems = _Problems()
    doc: dict[str, Any] = {}
    found = False
    warnings: list[str] = []
    try:
        raw, file_mode = _read_config_file(path)
        found = True
    except FileNotFoundError:
        if explicit:
            problems.add("<file>", str(path), "config file not found")
    except _NotAConfigFile as exc:
        problems.add("<file>", str(path), str(exc))
    except OSError as exc:
        problems.add("<file>", str(path), f"cannot read the config file: {exc.strerror}")
    if found:
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.add("<file>", "", "not UTF-8 text")
        except tomllib.TOMLDecodeError as exc:
            problems.items.append(_toml_problem(exc))

    alerts = parse_alerts(doc.pop("alerts", None), problems.add)  # config/alert_rules.py
    values, file_demo = _validate(doc, path.parent if found else None, problems)
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

    _cross_checks(values, problems, warnings)
    _check_theme(values["ui"].get("theme"), env, problems)
    if found:
        _check_file_mode(path, file_mode, file_holds_secret, problems, warnings)
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


# A config is a few kB; the cap keeps `--config /dev/zero` or a huge file from eating memory.
MAX_CONFIG_BYTES = 1024 * 1024


class _NotAConfigFile(Exception):
    """The path exists but is not something to read as a config (its text says why)."""


def _read_config_file(path: Path) -> tuple[bytes, int]:
    """The file's bytes and its mode. Only a regular file of at most MAX_CONFIG_BYTES is read: a
    FIFO would block forever and a device (/dev/zero) never ends, so both are refused unopened."""
    st = path.stat()  # FileNotFoundError / OSError propagate
    if stat.S_ISDIR(st.st_mode):
        raise _NotAConfigFile("is a folder, not a config file")
    if not stat.S_ISREG(st.st_mode):
        raise _NotAConfigFile("is not a regular file (a device, FIFO or socket)")
    if st.st_size > MAX_CONFIG_BYTES:
        raise _NotAConfigFile(f"is larger than {MAX_CONFIG_BYTES // 1024} kB: not a config file")
    with path.open("rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)  # the file may have grown since the stat
    if len(raw) > MAX_CONFIG_BYTES:
        raise _NotAConfigFile(f"is larger than {MAX_CONFIG_BYTES // 1024} kB: not a config file")
    return raw, st.st_mode


def _check_file_mode(
    path: Path, mode: int, holds_secret: bool, problems: _Problems, warnings: list[str]
) -> None:
    """Anyone who can write the config can point base_url at their own server and receive the
    token: a world-writable file is refused. One that others can read is only warned about when
    it holds a secret (a file with no secret reveals nothing)."""
    if os.name != "posix":
        return
    octal = f"{stat.S_IMODE(mode):04o}"
    if mode & stat.S_IWOTH:
        problems.add(
            "<file>",
            str(path),
            f"is writable by every user (mode {octal}): anyone could redirect base_url and"
            f" receive your token; run: chmod 600 {path}",
        )
        return
    if holds_secret and mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(
            f"{path} holds a secret and is readable by other users (mode {octal});"
            f" run: chmod 600 {path}"
        )
