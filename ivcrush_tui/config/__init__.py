"""Configuration: a TOML file + the environment -> validated, frozen `Settings`.

File: `--config PATH` (the `config_path` argument), else `$IVCRUSH_CONFIG`, else
`<platform config dir>/ivcrush/config.toml` (a missing default file means "all defaults").
Secrets: `TRADIER_TOKEN` and `ALPHAVANTAGE_API_KEY` override the file. Secret values never appear in
a repr, a message or a problem report. Every problem of a file is reported at once (`ConfigError`).
Relative paths in the file are relative to the file's folder; `~` is expanded.
"""

from ivcrush_tui.config.alert_rules import AlertRule, AlertSettings, RuleKind
from ivcrush_tui.config.loading import (
    ConfigError,
    ConfigProblem,
    load_settings,
    resolve_config_path,
)
from ivcrush_tui.config.settings import (
    APP_NAME,
    ENV_AV_KEY,
    ENV_CONFIG,
    ENV_TRADIER_TOKEN,
    LIVE_KEYS,
    AlphaVantageSettings,
    AnalysisSettings,
    CacheSettings,
    EngineSettings,
    ResilienceSettings,
    Secret,
    ServeSettings,
    Settings,
    StorageSettings,
    TradierSettings,
    UiSettings,
    default_config_path,
    default_log_dir,
    default_settings,
    default_storage_path,
    demo_storage_path,
)
from ivcrush_tui.config.template import render_default_config, write_default_config

__all__ = [
    "APP_NAME",
    "ENV_AV_KEY",
    "ENV_CONFIG",
    "ENV_TRADIER_TOKEN",
    "LIVE_KEYS",
    "AlertRule",
    "AlertSettings",
    "AlphaVantageSettings",
    "AnalysisSettings",
    "CacheSettings",
    "ConfigError",
    "ConfigProblem",
    "EngineSettings",
    "ResilienceSettings",
    "RuleKind",
    "Secret",
    "ServeSettings",
    "Settings",
    "StorageSettings",
    "TradierSettings",
    "UiSettings",
    "default_config_path",
    "default_log_dir",
    "default_settings",
    "default_storage_path",
    "demo_storage_path",
    "load_settings",
    "render_default_config",
    "resolve_config_path",
    "write_default_config",
]
