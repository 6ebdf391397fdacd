"""Configuration: a TOML file + the environment -> validated, frozen `Settings`.

File: `--config PATH` (the `config_path` argument), else `$IVCRUSH_CONFIG`, else
`<platform config dir>/ivcrush/config.toml` (a missing default file means "all defaults").
Secrets: `TRADIER_TOKEN` and `ALPHAVANTAGE_API_KEY` override the file. Secret values never appear in
a repr, a message or a problem report. Every problem of a file is reported at once (`ConfigError`).
Relative paths in the file are relative to the file's folder; `~` is expanded.
"""

from __future__ import annotations

import dataclasses
import difflib
import hmac
import math
import os
import re
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import platformdirs
import tomli_w

from ivcrush_tui.analytics.params import TIER_PROFILES, AnalysisParams, TierThresholds
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.files import replace_atomically, write_fd
from ivcrush_tui.keymap import BINDING_IDS, key_problem

APP_NAME: Final = "ivcrush"
ENV_CONFIG: Final = "IVCRUSH_CONFIG"
ENV_TRADIER_TOKEN: Final = "TRADIER_TOKEN"
ENV_AV_KEY: Final = "ALPHAVANTAGE_API_KEY"
# Live mode needs these keys; each can also come from the environment variable shown.
LIVE_KEYS: Final[Mapping[str, str]] = {
    "tradier.token": ENV_TRADIER_TOKEN,
    "alphavantage.api_key": ENV_AV_KEY,
}


class Secret:
    """A credential. `repr`, `str` and formatting show `***`; `reveal()` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # pickling would write the value out in clear
        raise TypeError("Secret values cannot be pickled")


# -- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradierSettings:
    token: Secret | None = None
    base_url: str = "https://api.tradier.com/v1"
    timeout_s: float = 10.0  # seconds per request


@dataclass(frozen=True, slots=True)
class AlphaVantageSettings:
    api_key: Secret | None = None
    base_url: str = "https://www.alphavantage.co/query"
    daily_quota: int = 25  # requests per calendar day (free tier)
    max_per_second: float = 1.0  # requests per second
    timeout_s: float = 15.0  # seconds per request


@dataclass(frozen=True, slots=True)
class EngineSettings:
    concurrency: int = 10  # provider requests in flight at once
    history_quarters: int = 12  # past earnings events fetched per ticker
    scan_timeout_s: float = 120.0  # seconds for a whole scan


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    profile: str = "balanced"
    excellent: float | None = None  # custom VRP tier thresholds (plain ratios); None: profile's
    good: float | None = None
    marginal: float | None = None
    risk_free_rate: float = 0.04  # fraction per year, continuously compounded
    min_events: int = 4
    max_events: int = 12

    def tiers(self) -> TierThresholds:
        """The profile's thresholds, with any custom threshold replacing the profile's one."""
        base = TIER_PROFILES[self.profile]
        return TierThresholds(
            excellent=base.excellent if self.excellent is None else self.excellent,
            good=base.good if self.good is None else self.good,
            marginal=base.marginal if self.marginal is None else self.marginal,
        )


@dataclass(frozen=True, slots=True)
class ResilienceSettings:
    retry_attempts: int = 4  # total attempts per request, the first included
    backoff_base_s: float = 0.5  # seconds; doubles per retry, with jitter
    backoff_max_s: float = 8.0  # seconds; the cap of one back-off
    breaker_failures: int = 5  # consecutive failures that open the circuit
    breaker_reset_s: float = 60.0  # seconds before an open circuit lets one probe through


@dataclass(frozen=True, slots=True)
class CacheSettings:
    l1_ttl_s: float = 30.0  # seconds in memory (0 disables L1)
    l2_ttl_s: float = 300.0  # seconds, the cap for quotes/chains in SQLite


def default_storage_path() -> Path:
    return platformdirs.user_data_path(APP_NAME) / "ivcrush.sqlite3"


def default_log_dir() -> Path:
    return platformdirs.user_log_path(APP_NAME)


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the config is read (and `config init` writes) without --config: `$IVCRUSH_CONFIG`
    when set in `env`, else `<platform config dir>/config.toml`."""
    from_env = (env or {}).get(ENV_CONFIG, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


@dataclass(frozen=True, slots=True)
class StorageSettings:
    path: Path = dataclasses.field(default_factory=default_storage_path)
    log_dir: Path = dataclasses.field(default_factory=default_log_dir)


@dataclass(frozen=True, slots=True)
class UiSettings:
    theme: str = "ivcrush-dark"
    refresh_s: float = 60.0  # seconds between refreshes of the watchlist
    entry_window_refresh_s: float = 15.0  # seconds between refreshes during 15:00-16:00 ET
    keymap: tuple[tuple[str, str], ...] = ()  # (binding id, keys) pairs, file order

    def keymap_dict(self) -> dict[str, str]:
        """For `App.set_keymap`: binding id -> comma-separated keys."""
        return dict(self.keymap)


@dataclass(frozen=True, slots=True)
class Settings:
    tradier: TradierSettings = dataclasses.field(default_factory=TradierSettings)
    alphavantage: AlphaVantageSettings = dataclasses.field(default_factory=AlphaVantageSettings)
    engine: EngineSettings = dataclasses.field(default_factory=EngineSettings)
    analysis: AnalysisSettings = dataclasses.field(default_factory=AnalysisSettings)
    resilience: ResilienceSettings = dataclasses.field(default_factory=ResilienceSettings)
    cache: CacheSettings = dataclasses.field(default_factory=CacheSettings)
    storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
    ui: UiSettings = dataclasses.field(default_factory=UiSettings)
    demo: bool = True  # effective: forced, or no credential configured at all
    # Not config keys: where the settings came from.
    config_path: Path | None = None  # the file read; None when only defaults + environment

    def analysis_params(self) -> AnalysisParams:
        a = self.analysis
        return AnalysisParams(
            risk_free_rate=a.risk_free_rate,
            tiers=a.tiers(),
            max_events=a.max_events,
            min_events=a.min_events,
        )

    def live_missing_keys(self) -> tuple[str, ...]:
        """Key paths live mode still lacks (see LIVE_KEYS for the environment variables)."""
        missing: list[str] = []
        if self.tradier.token is None:
            missing.append("tradier.token")
        if self.alphavantage.api_key is None:
            missing.append("alphavantage.api_key")
        return tuple(missing)


def default_settings(storage_path: Path | None = None, *, demo: bool = True) -> Settings:
    """All defaults (no file, no environment); for tests and tools."""
    storage = StorageSettings() if storage_path is None else StorageSettings(path=storage_path)
    return Settings(storage=storage, demo=demo)


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


# -- the schema: one row per key, in file order --------------------------------------------------

Kind = Literal["int", "float", "bool", "str", "secret", "url", "path", "keymap"]


@dataclass(frozen=True, slots=True)
class KeySpec:
    name: str
    kind: Kind
    comment: str
    lo: float | None = None
    hi: float | None = None
    lo_exclusive: bool = False
    choices: tuple[str, ...] = ()
    url_suffix: str = ""
    example: str | None = None  # TOML value shown (commented out) when the key has no default


def _k(name: str, kind: Kind, comment: str, **kw: Any) -> KeySpec:
    return KeySpec(name, kind, comment, **kw)


_POS: Final = {"lo": 0.0, "lo_exclusive": True}

SECTIONS: Final[dict[str, tuple[type[Any], tuple[KeySpec, ...]]]] = {
    "tradier": (
        TradierSettings,
        (
            _k(
                "token",
                "secret",
                "API access token (market data). Prefer the TRADIER_TOKEN environment variable,"
                " which overrides this.",
                example='"your-tradier-token"',
            ),
            _k(
                "base_url",
                "url",
                "REST base URL, ending in /v1 (sandbox: https://sandbox.tradier.com/v1).",
                url_suffix="/v1",
            ),
            _k("timeout_s", "float", "Seconds per request.", hi=300.0, **_POS),
        ),
    ),
    "alphavantage": (
        AlphaVantageSettings,
        (
            _k(
                "api_key",
                "secret",
                "API key (earnings dates). Prefer the ALPHAVANTAGE_API_KEY environment"
                " variable, which overrides this.",
                example='"your-alphavantage-key"',
            ),
            _k("base_url", "url", "The full query URL.", url_suffix="/query"),
            _k("daily_quota", "int", "Requests allowed per day (free tier: 25).", lo=1, hi=10**6),
            _k("max_per_second", "float", "Requests per second at most.", hi=100.0, **_POS),
            _k("timeout_s", "float", "Seconds per request.", hi=300.0, **_POS),
        ),
    ),
    "engine": (
        EngineSettings,
        (
            _k("concurrency", "int", "Provider requests in flight at once (1-64).", lo=1, hi=64),
            _k(
                "history_quarters",
                "int",
                "Past earnings events fetched per ticker.",
                lo=1,
                hi=80,
            ),
            _k("scan_timeout_s", "float", "Seconds a whole scan may take.", hi=86400.0, **_POS),
        ),
    ),
    "analysis": (
        AnalysisSettings,
        (
            _k(
                "profile",
                "str",
                "VRP tier profile: balanced (2.0/1.5/1.2), conservative (2.5/1.8/1.4) or"
                " aggressive (1.7/1.3/1.1).",
                choices=tuple(TIER_PROFILES),
            ),
            _k(
                "excellent",
                "float",
                "Custom tier thresholds (VRP ratios) override the profile's;"
                " excellent >= good >= marginal > 0.",
                hi=100.0,
                example="2.0",
                **_POS,
            ),
            _k("good", "float", "", hi=100.0, example="1.5", **_POS),
            _k("marginal", "float", "", hi=100.0, example="1.2", **_POS),
            _k(
                "risk_free_rate",
                "float",
                "Fraction per year, continuously compounded (0.04 = 4 %).",
                lo=-0.1,
                hi=0.5,
            ),
            _k(
                "min_events",
                "int",
                "Fewer past events than this -> insufficient history (not scored).",
                lo=2,
                hi=100,
            ),
            _k("max_events", "int", "Most recent past events used.", lo=2, hi=100),
        ),
    ),
    "resilience": (
        ResilienceSettings,
        (
            _k(
                "retry_attempts",
                "int",
                "Attempts per request, the first included.",
                lo=1,
                hi=10,
            ),
            _k(
                "backoff_base_s",
                "float",
                "First back-off in seconds (doubles per retry, with jitter).",
                hi=60.0,
                **_POS,
            ),
            _k("backoff_max_s", "float", "Longest back-off in seconds.", hi=600.0, **_POS),
            _k(
                "breaker_failures",
                "int",
                "Consecutive failures that open a provider's circuit.",
                lo=1,
                hi=1000,
            ),
            _k(
                "breaker_reset_s",
                "float",
                "Seconds an open circuit waits before one probe request.",
                hi=3600.0,
                **_POS,
            ),
        ),
    ),
    "cache": (
        CacheSettings,
        (
            _k(
                "l1_ttl_s",
                "float",
                "Seconds a response stays in memory (0 disables).",
                lo=0.0,
                hi=3600.0,
            ),
            _k(
                "l2_ttl_s",
                "float",
                "Longest time, in seconds, quotes and option chains stay in the SQLite cache"
                " (0: never stored there); other responses keep their own lifetimes.",
                lo=0.0,
                hi=86400.0,
            ),
        ),
    ),
    "storage": (
        StorageSettings,
        (
            _k(
                "path",
                "path",
                "The SQLite file. Default: the platform data folder, e.g."
                " ~/.local/share/ivcrush/ivcrush.sqlite3 on Linux.",
                example='"~/.local/share/ivcrush/ivcrush.sqlite3"',
            ),
            _k(
                "log_dir",
                "path",
                "Log folder. Default: the platform log folder, e.g. ~/.local/state/ivcrush/log"
                " on Linux.",
                example='"~/.local/state/ivcrush/log"',
            ),
        ),
    ),
    "ui": (
        UiSettings,
        (
            _k(
                "theme",
                "str",
                "Colour theme: a theme shipped with ivcrush or any built-in Textual theme.",
            ),
            _k("refresh_s", "float", "Seconds between watchlist refreshes.", lo=1.0, hi=3600.0),
            _k(
                "entry_window_refresh_s",
                "float",
                "Seconds between refreshes inside the 15:00-16:00 ET entry window.",
                lo=1.0,
                hi=3600.0,
            ),
            _k(
                "keymap",
                "keymap",
                'Remapped keys: "binding id" = "keys". Several keys are comma-separated; they'
                " replace the binding's default keys (list the default too to keep it). An"
                " unknown id or key is a configuration error. The help screen (?) and the"
                " footer show the keys in effect. Ids: " + ", ".join(BINDING_IDS) + ".",
            ),
        ),
    ),
}
TOP_LEVEL: Final = (
    _k("demo", "bool", "Force the built-in demo market even when API keys are configured."),
)


def key_paths() -> tuple[str, ...]:
    """Every config key path, e.g. "engine.concurrency" (top-level keys have no dot)."""
    tops = tuple(s.name for s in TOP_LEVEL)
    return tops + tuple(f"{sec}.{s.name}" for sec, (_, specs) in SECTIONS.items() for s in specs)


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


def _check_url(spec: KeySpec, value: str) -> tuple[Any, str | None]:
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, "must be an http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None, "must be an http(s) URL"
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


def _cross_checks(values: Mapping[str, Mapping[str, Any]], problems: _Problems) -> None:
    """Constraints between keys (only when each key involved is valid on its own)."""

    def get(section: str, name: str) -> Any:
        section_values = values[section]
        if name in section_values:
            return section_values[name]
        return _DEFAULTS[section][name]

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
    r = "resilience"
    if get(r, "backoff_base_s") > get(r, "backoff_max_s"):
        problems.add(
            "resilience.backoff_base_s",
            repr(get(r, "backoff_base_s")),
            "must be <= resilience.backoff_max_s",
        )


def _field_defaults(cls: type[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    sec: _field_defaults(cls) for sec, (cls, _) in SECTIONS.items() if sec != "storage"
} | {"storage": {}}  # storage defaults depend on the platform: computed when loading


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
    try:
        raw = path.read_bytes()
        found = True
    except FileNotFoundError:
        if explicit:
            problems.add("<file>", str(path), "config file not found")
    except IsADirectoryError:
        problems.add("<file>", str(path), "is a folder, not a config file")
    except OSError as exc:
        problems.add("<file>", str(path), f"cannot read the config file: {exc.strerror}")
    if found:
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problems.add("<file>", "", "not UTF-8 text")
        except tomllib.TOMLDecodeError as exc:
            problems.items.append(_toml_problem(exc))

    values, file_demo = _validate(doc, path.parent if found else None, problems)

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

    _cross_checks(values, problems)
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
        demo=force_demo or file_demo or no_credentials,
        config_path=path if found else None,
    )


# -- the commented default file ------------------------------------------------------------------

_HEADER = """\
# ivcrush configuration (TOML). Every key is optional: a missing key takes the default shown.
# Written by `ivcrush config init`; config.example.toml in the repository is the same file.
# Where it is read from: --config PATH, else $IVCRUSH_CONFIG, else the platform config folder
# (e.g. ~/.config/ivcrush/config.toml on Linux).
# Secrets: prefer the environment variables TRADIER_TOKEN and ALPHAVANTAGE_API_KEY; they override
# this file. If you put them here, keep the file private (mode 0600).
# With neither a Tradier token nor an Alpha Vantage key, ivcrush runs on its built-in demo market.
# Relative paths are relative to this file's folder; ~ is expanded.
"""


def _value_line(name: str, value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    return tomli_w.dumps({name: value}).strip()


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, 96)]


def _spec_lines(spec: KeySpec, default: Any) -> list[str]:
    lines = _comment(spec.comment)
    if default is None or spec.kind in ("path", "secret"):
        lines.append(f"# {spec.name} = {spec.example}")
    else:
        lines.append(_value_line(spec.name, default))
    return lines


def render_default_config() -> str:
    """The commented default config file (platform independent text)."""
    lines = _HEADER.splitlines()
    lines.append("")
    for spec in TOP_LEVEL:
        lines += _spec_lines(spec, False)
    for section, (_, specs) in SECTIONS.items():
        defaults = _DEFAULTS[section]
        lines += ["", f"[{section}]"]
        for spec in specs:
            if spec.kind == "keymap":
                continue  # a sub-table: written after the section's plain keys
            lines += _spec_lines(spec, defaults.get(spec.name))
        for spec in specs:
            if spec.kind == "keymap":
                lines += ["", f"[{section}.{spec.name}]", *_comment(spec.comment)]
                lines += ['# "app.quit" = "ctrl+q"', '# "app.rescan" = "r,f5"']
    return "\n".join(lines) + "\n"


def write_default_config(path: Path, *, force: bool = False) -> Path:
    """Write the commented default config to `path` with mode 0600; returns the path.

    Refuses to replace an existing file unless `force` (IvCrushError CONFIG). With `force` the old
    file is replaced atomically (a crash leaves the old or the new file, never half of one).
    """
    path = Path(path).expanduser()
    text = render_default_config().encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not force:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                raise IvCrushError(
                    ErrorCode.CONFIG,
                    f"{path} already exists; not overwriting it (use --force to replace it)",
                ) from None
            write_fd(fd, text, cleanup=lambda: path.unlink(missing_ok=True))
            return path
        replace_atomically(path, text)
    except OSError as exc:
        raise IvCrushError(
            ErrorCode.CONFIG, f"cannot write the config file {path}: {exc.strerror or exc}"
        ) from exc
    return path
