"""The config file's schema: one row per key (type, range, comment), in file order. It drives
both the validation and the commented default file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final, Literal

from ivcrush_tui.analytics.params import TIER_PROFILES
from ivcrush_tui.config.settings import (
    AlphaVantageSettings,
    AnalysisSettings,
    CacheSettings,
    EngineSettings,
    ResilienceSettings,
    ServeSettings,
    StorageSettings,
    TradierSettings,
    UiSettings,
)
from ivcrush_tui.keymap import BINDING_IDS

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
_INSECURE_HTTP: Final = KeySpec(
    "allow_insecure_http",
    "bool",
    "Allow a plain http:// base_url on a host other than this machine (loopback). The credential"
    " then crosses the network in clear: refused unless true, and warned about at every start.",
)

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
            _INSECURE_HTTP,
            _k(
                "streaming",
                "bool",
                "Stream live quotes over Tradier market streaming (one market session per"
                " account); false, or when streaming is unavailable, polls over REST instead.",
            ),
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
            _INSECURE_HTTP,
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
                "The SQLite file of live mode. Default: the platform data folder, e.g."
                " ~/.local/share/ivcrush/ivcrush.sqlite3 on Linux. The demo market uses its own"
                " file beside it, with -demo before the extension (ivcrush-demo.sqlite3): demo"
                " data never reaches live mode.",
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
                "Colour theme: a theme shipped with ivcrush, one of your theme files (the"
                " themes folder beside this file's default location, or $IVCRUSH_THEMES_DIR) or"
                " a built-in Textual theme. An unknown name is a configuration error.",
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
    "serve": (
        ServeSettings,
        (
            _k(
                "scan_interval_s",
                "float",
                "ivcrush serve: seconds between scans inside the 15:00-16:00 ET entry window.",
                lo=5.0,
                hi=3600.0,
            ),
            _k(
                "idle_interval_s",
                "float",
                "ivcrush serve: seconds between scans outside the entry window (the first scan"
                " of a window runs at its start whatever this is).",
                lo=60.0,
                hi=86400.0,
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


def _field_defaults(cls: type[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    sec: _field_defaults(cls) for sec, (cls, _) in SECTIONS.items() if sec != "storage"
} | {"storage": {}}  # storage defaults depend on the platform: computed when loading
