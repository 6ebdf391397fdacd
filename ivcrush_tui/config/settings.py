"""The validated, frozen settings (one dataclass per config section), their defaults and the
default locations of the config file, the database and the logs.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import platformdirs

from ivcrush_tui.analytics.params import TIER_PROFILES, AnalysisParams, TierThresholds
from ivcrush_tui.config.alert_rules import AlertSettings

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
    allow_insecure_http: bool = (
        False  # plain http to a non-loopback host (sends the token in clear)
    )
    streaming: bool = True  # live quotes over Tradier market streaming (else polling only)


@dataclass(frozen=True, slots=True)
class AlphaVantageSettings:
    api_key: Secret | None = None
    base_url: str = "https://www.alphavantage.co/query"
    daily_quota: int = 25  # requests per calendar day (free tier)
    max_per_second: float = 1.0  # requests per second
    timeout_s: float = 15.0  # seconds per request
    allow_insecure_http: bool = False  # plain http to a non-loopback host (sends the key in clear)


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


DEMO_SUFFIX: Final = "-demo"


def demo_storage_path(live_path: Path) -> Path:
    """The demo market's database: beside the live one, its name with `-demo` before the
    extension (`ivcrush.sqlite3` -> `ivcrush-demo.sqlite3`, `store` -> `store-demo`).

    Why a file of its own: nothing the demo stored (cache, prices, events, quota, ledger,
    watchlist) can then be read by a live run; see docs/DEPLOYMENT.md "Files"."""
    return live_path.with_name(f"{live_path.stem}{DEMO_SUFFIX}{live_path.suffix}")


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
class ServeSettings:
    """`ivcrush serve`: how often the unattended engine scans."""

    scan_interval_s: float = 60.0  # seconds between scans inside the entry window
    idle_interval_s: float = 3600.0  # seconds between scans outside it (hourly)


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
    serve: ServeSettings = dataclasses.field(default_factory=ServeSettings)
    alerts: AlertSettings = dataclasses.field(default_factory=AlertSettings)  # config/alert_rules
    demo: bool = True  # effective: forced, or no credential configured at all
    # Not config keys: where the settings came from.
    config_path: Path | None = None  # the file read; None when only defaults + environment
    warnings: tuple[str, ...] = ()  # said on stderr at every start (insecure but allowed set-ups)

    @property
    def database_path(self) -> Path:
        """The SQLite file this run uses: `storage.path` live, `demo_storage_path` of it in demo
        mode. Every opener of the store goes through here, so the two modes never share a file."""
        path = self.storage.path
        return demo_storage_path(path) if self.demo else path

    @property
    def mode(self) -> Literal["live", "demo"]:
        """The market of this run, as the database file is stamped with it (store/mode.py)."""
        return "demo" if self.demo else "live"

    @property
    def uses_tls(self) -> bool:
        """A provider is reached over https (live mode, not a loopback server over http): its
        connections need a TLS context with the CA bundle."""
        if self.demo:  # the demo market is served in-process
            return False
        urls = (self.tradier.base_url, self.alphavantage.base_url)
        return any(u.strip().lower().startswith("https:") for u in urls)

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
