"""Configuration: defaults, validation (every problem at once), environment, secrets, files."""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import stat
from pathlib import Path

import platformdirs
import pytest

from ivcrush_tui import config as cfg
from ivcrush_tui.analytics.params import TIER_PROFILES, AnalysisParams, TierThresholds
from ivcrush_tui.config import (
    ConfigError,
    Secret,
    Settings,
    load_settings,
    render_default_config,
    schema,
    write_default_config,
)
from ivcrush_tui.domain import ErrorCode, IvCrushError

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_TOKEN = "tok_FAKE_7Qz9xWv3Lp"  # distinctive: grepped for in every output
FAKE_KEY = "avk_FAKE_M4nb8Rt2Ys"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never read the developer's real config file.
    real = cfg.default_config_path
    monkeypatch.setattr(platformdirs, "user_config_path", lambda app: tmp_path / "absent")
    assert real({}) == tmp_path / "absent" / "config.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env or {})
    assert info.value.code == ErrorCode.CONFIG
    return {p.key_path: p.why for p in info.value.problems}


# -- defaults and values -------------------------------------------------------------------------


def test_streaming_is_on_by_default() -> None:
    assert Settings().tradier.streaming is True


def test_missing_default_file_gives_defaults_in_demo_mode() -> None:
    s = load_settings(None, {})
    assert s.config_path is None
    assert s.demo is True
    assert s.live_missing_keys() == ("tradier.token", "alphavantage.api_key")
    assert s.tradier.base_url == "https://api.tradier.com/v1"
    assert s.tradier.timeout_s == 10.0
    assert s.alphavantage.base_url == "https://www.alphavantage.co/query"
    assert (s.alphavantage.daily_quota, s.alphavantage.max_per_second) == (25, 1.0)
    assert (s.engine.concurrency, s.engine.history_quarters, s.engine.scan_timeout_s) == (
        10,
        12,
        120.0,
    )
    assert (s.cache.l1_ttl_s, s.cache.l2_ttl_s) == (30.0, 300.0)
    assert s.resilience == cfg.ResilienceSettings(4, 0.5, 8.0, 5, 60.0)
    assert s.storage.path.name == "ivcrush.sqlite3"
    assert (s.ui.theme, s.ui.refresh_s, s.ui.entry_window_refresh_s) == ("ivcrush-dark", 60, 15)
    assert s.analysis_params() == AnalysisParams()


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        [tradier]
        token = "{FAKE_TOKEN}"
        base_url = "https://sandbox.tradier.com/v1/"
        timeout_s = 5
        streaming = false
        [alphavantage]
        daily_quota = 75
        max_per_second = 0.5
        [engine]
        concurrency = 64
        [analysis]
        profile = "conservative"
        risk_free_rate = 0.05
        min_events = 6
        max_events = 10
        [storage]
        path = "data/store.sqlite3"
        log_dir = "/var/tmp/ivlogs"
        [ui]
        theme = "nord"
        [ui.keymap]
        "app.quit" = "ctrl+q, f10"
        app.rescan = "f5"
        """,
    )
    s = load_settings(path, {})
    assert s.config_path == path
    assert s.tradier.token == Secret(FAKE_TOKEN)
    assert s.tradier.base_url == "https://sandbox.tradier.com/v1"  # trailing slash dropped
    assert s.tradier.timeout_s == 5.0
    assert isinstance(s.tradier.timeout_s, float)
    assert s.tradier.streaming is False  # the default is true (streaming on)
    assert (s.alphavantage.daily_quota, s.alphavantage.max_per_second) == (75, 0.5)
    assert s.engine.concurrency == 64
    assert s.storage.path == tmp_path / "data" / "store.sqlite3"  # relative to the file
    assert s.storage.log_dir == Path("/var/tmp/ivlogs")
    # A dotted TOML key (app.rescan) is a nested table to TOML; it reads as the same id.
    assert s.ui.keymap_dict() == {"app.quit": "ctrl+q,f10", "app.rescan": "f5"}
    assert s.demo is False  # one credential is enough to leave demo mode
    assert s.live_missing_keys() == ("alphavantage.api_key",)
    params = s.analysis_params()
    assert params.tiers == TIER_PROFILES["conservative"]
    assert (params.risk_free_rate, params.min_events, params.max_events) == (0.05, 6, 10)


def test_custom_thresholds_override_the_profile(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "[analysis]\nprofile = 'aggressive'\nexcellent = 3\n"), {})
    assert s.analysis_params().tiers == TierThresholds(3.0, 1.3, 1.1)


def test_demo_forced_by_flag_or_file(tmp_path: Path) -> None:
    env = {"TRADIER_TOKEN": FAKE_TOKEN, "ALPHAVANTAGE_API_KEY": FAKE_KEY}
    assert load_settings(None, env).demo is False
    assert load_settings(None, env, force_demo=True).demo is True
    assert load_settings(write(tmp_path, "demo = true\n"), env).demo is True
    assert load_settings(None, env).live_missing_keys() == ()


# -- environment ---------------------------------------------------------------------------------


def test_environment_secrets_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[tradier]\ntoken = "from-file"\n[alphavantage]\napi_key = "file-k"\n')
    s = load_settings(path, {"TRADIER_TOKEN": FAKE_TOKEN, "ALPHAVANTAGE_API_KEY": " "})
    assert s.tradier.token is not None
    assert s.tradier.token.reveal() == FAKE_TOKEN
    # A blank variable counts as unset: the file's key stays.
    assert s.alphavantage.api_key is not None
    assert s.alphavantage.api_key.reveal() == "file-k"


def test_config_path_from_argument_then_environment(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text("[engine]\nconcurrency = 3\n")
    b = tmp_path / "b.toml"
    b.write_text("[engine]\nconcurrency = 7\n")
    assert load_settings(None, {"IVCRUSH_CONFIG": str(b)}).engine.concurrency == 7
    assert load_settings(a, {"IVCRUSH_CONFIG": str(b)}).engine.concurrency == 3


def test_default_config_path_honours_the_environment(tmp_path: Path) -> None:
    assert cfg.default_config_path({"IVCRUSH_CONFIG": "~/x.toml"}) == Path.home() / "x.toml"
    assert cfg.default_config_path({"IVCRUSH_CONFIG": " "}) == tmp_path / "absent" / "config.toml"
    assert cfg.default_config_path() == tmp_path / "absent" / "config.toml"


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    cases: list[tuple[Path | None, dict[str, str]]] = [
        (tmp_path / "nope.toml", {}),
        (None, {"IVCRUSH_CONFIG": str(tmp_path / "x")}),
    ]
    for path, env in cases:
        with pytest.raises(ConfigError) as info:
            load_settings(path, env)
        assert info.value.problems[0].why == "config file not found"


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key_path", "why"),
    [
        ("[engine]\nconcurrency = 0", "engine.concurrency", "must be >= 1 and <= 64"),
        ("[engine]\nconcurrency = 65", "engine.concurrency", "must be >= 1 and <= 64"),
        ("[engine]\nconcurrency = '10'", "engine.concurrency", "must be an integer"),
        ("[engine]\nconcurrency = 2.5", "engine.concurrency", "must be an integer"),
        ("[engine]\nconcurrency = true", "engine.concurrency", "must be an integer"),
        ("[engine]\nscan_timeout_s = 0", "engine.scan_timeout_s", "must be > 0"),
        ("[tradier]\ntimeout_s = -1", "tradier.timeout_s", "must be > 0"),
        ("[tradier]\ntimeout_s = nan", "tradier.timeout_s", "must be a finite number"),
        ("[tradier]\ntimeout_s = 'fast'", "tradier.timeout_s", "must be a number"),
        ("[tradier]\nbase_url = 'https://api.tradier.com'", "tradier.base_url", "end with /v1"),
        ("[tradier]\nbase_url = 'ftp://x.com/v1'", "tradier.base_url", "http(s) URL"),
        ("[tradier]\nbase_url = 'https:///v1'", "tradier.base_url", "http(s) URL"),
        ("[alphavantage]\nbase_url = 'https://x.co/'", "alphavantage.base_url", "/query"),
        ("[alphavantage]\nbase_url = 'https://x.co/query?f=1'", "alphavantage.base_url", "query"),
        ("[alphavantage]\ndaily_quota = 0", "alphavantage.daily_quota", "must be >= 1"),
        ("[alphavantage]\nmax_per_second = 0", "alphavantage.max_per_second", "must be > 0"),
        ("[analysis]\nprofile = 'yolo'", "analysis.profile", "balanced, conservative"),
        ("[analysis]\nrisk_free_rate = 4", "analysis.risk_free_rate", "0.04 means 4 %"),
        ("[analysis]\nexcellent = 0", "analysis.excellent", "must be > 0"),
        ("[analysis]\nmin_events = 1", "analysis.min_events", "must be >= 2"),
        ("[resilience]\nretry_attempts = 0", "resilience.retry_attempts", "must be >= 1"),
        ("[resilience]\nbreaker_failures = 0", "resilience.breaker_failures", ">= 1"),
        ("[cache]\nl1_ttl_s = -5", "cache.l1_ttl_s", "must be >= 0"),
        ("[storage]\npath = ''", "storage.path", "must not be empty"),
        ("[storage]\npath = 5", "storage.path", "must be a string"),
        ("[ui]\nrefresh_s = 0.5", "ui.refresh_s", "must be >= 1"),
        ("[ui]\ntheme = ''", "ui.theme", "must not be empty"),
        ("[ui]\nkeymap = 'x'", "ui.keymap", "must be a table"),
        ("[ui.keymap]\n'app.quit' = 3", "ui.keymap.app.quit", "non-empty string"),
        ("[ui.keymap]\n'bad id!' = 'f1'", "ui.keymap.bad id!", "unknown binding id"),
        ("[ui.keymap]\nquit = 'f1'", "ui.keymap.quit", "did you mean 'app.quit'?"),
        ("[ui.keymap]\n'app.quit' = 'ctlr+q'", "ui.keymap.app.quit", "modifiers are"),
        ("[ui.keymap]\n'app.quit' = 'f1,,f2'", "ui.keymap.app.quit", "is not a key"),
        ("demo = 'yes'", "demo", "true or false"),
        ("[engine]\nconcurency = 3", "engine.concurency", "did you mean 'concurrency'?"),
        ("[engien]\nconcurrency = 3", "engien", "unknown section (did you mean 'engine'?)"),
        ("concurrency = 3", "concurrency", "did you mean 'engine.concurrency'?"),
        ("engine = 3", "engine", "must be a table"),
        (
            "[analysis]\nexcellent = 1.6\ngood = 1.7",
            "analysis.excellent",
            "excellent >= good >= marginal",
        ),
        ("[analysis]\nmin_events = 13", "analysis.min_events", "<= analysis.max_events"),
        (
            "[engine]\nhistory_quarters = 3",
            "engine.history_quarters",
            ">= analysis.min_events",
        ),
        (
            "[resilience]\nbackoff_base_s = 10.0\nbackoff_max_s = 2.0",
            "resilience.backoff_base_s",
            "<= resilience.backoff_max_s",
        ),
    ],
)
def test_each_invalid_value_is_reported_with_its_key_path(
    tmp_path: Path, toml: str, key_path: str, why: str
) -> None:
    found = problems_of(tmp_path, toml)
    assert key_path in found, found
    assert why in found[key_path]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
    [engine]
    concurrency = 0
    scan_timeout_s = -3
    [tradier]
    base_url = "https://api.tradier.com"
    [alphavantage]
    daily_quota = 0
    [cache]
    l2_tll_s = 5
    [uii]
    theme = "x"
    """
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), {})
    keys = [p.key_path for p in info.value.problems]
    assert keys == [
        "engine.concurrency",
        "engine.scan_timeout_s",
        "tradier.base_url",
        "alphavantage.daily_quota",
        "cache.l2_tll_s",
        "uii",
    ]
    message = str(info.value)
    assert message.startswith("[config] invalid configuration in")
    assert "6 problems" in message
    assert "engine.concurrency: must be >= 1 and <= 64 (got 0)" in message


def test_toml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "[engine]\nconcurrency = \n")
    assert found["<file>"].startswith("TOML syntax error at line 2, column 15")


def test_unreadable_files(tmp_path: Path) -> None:
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_settings(folder, {})
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(binary, {})


# -- secrets -------------------------------------------------------------------------------------


def test_secret_is_redacted_everywhere() -> None:
    secret = Secret(FAKE_TOKEN)
    assert repr(secret) == str(secret) == f"{secret}" == f"{secret:>20}" == "***"
    assert secret.reveal() == FAKE_TOKEN
    assert secret == Secret(FAKE_TOKEN)
    assert secret != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    s = load_settings(None, {"TRADIER_TOKEN": FAKE_TOKEN, "ALPHAVANTAGE_API_KEY": FAKE_KEY})
    for text in (repr(s), str(s), repr(s.tradier), repr(s.alphavantage)):
        assert FAKE_TOKEN not in text
        assert FAKE_KEY not in text
        assert "***" in text


@pytest.mark.parametrize(
    "text",
    [
        # a valid token next to invalid keys
        f'[tradier]\ntoken = "{FAKE_TOKEN}"\ntimeout_s = 0\n[engine]\nconcurrency = 0\n',
        # an invalid token (whitespace), and a wrongly-typed one
        f'[tradier]\ntoken = "{FAKE_TOKEN} x"\n',
        "[alphavantage]\napi_key = 7395028461\n",
        # a mistyped key holding the secret
        f'[tradier]\ntokn = "{FAKE_TOKEN}"\n',
        f'tradier_token = "{FAKE_TOKEN}"\n',
        # a syntax error on the secret's line
        f'[tradier]\ntoken = "{FAKE_TOKEN}" trailing\n',
        f"[tradier]\ntoken = {FAKE_TOKEN}\n",
    ],
)
def test_secrets_never_appear_in_errors_or_problems(tmp_path: Path, text: str) -> None:
    env = {"ALPHAVANTAGE_API_KEY": FAKE_KEY}
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env)
    err = info.value
    dumps = [str(err), repr(err), err.message, repr(err.problems), *map(str, err.problems)]
    for blob in dumps:
        assert FAKE_TOKEN not in blob
        assert FAKE_KEY not in blob
        assert "7395028461" not in blob


def test_environment_secret_with_whitespace_is_reported_redacted() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"TRADIER_TOKEN": f"{FAKE_TOKEN} junk"})
    (problem,) = info.value.problems
    assert problem.key_path == "tradier.token ($TRADIER_TOKEN)"
    assert problem.value == "***"
    assert FAKE_TOKEN not in str(info.value)


# -- the default file ----------------------------------------------------------------------------


def test_write_default_config_mode_0600_and_loads(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even with a permissive umask the file is private
    try:
        path = write_default_config(tmp_path / "sub" / "config.toml")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s = load_settings(path, {})
    defaults = load_settings(None, {})
    assert dataclasses.replace(s, config_path=None) == defaults


def test_write_default_config_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n")
    path.chmod(0o644)
    with pytest.raises(IvCrushError) as info:
        write_default_config(path)
    assert info.value.code == ErrorCode.CONFIG
    assert "already exists" in info.value.message
    assert "--force" in info.value.message
    assert path.read_text() == "# mine\n"
    write_default_config(path, force=True)
    assert path.read_text() == render_default_config()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left


def _section_blocks(text: str) -> dict[str, str]:
    blocks: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        m = re.match(r"^\[([\w.]+)\]\s*$", line)
        if m:
            current = m.group(1)
            blocks.setdefault(current, "")
        else:
            blocks[current] = blocks.get(current, "") + line + "\n"
    return blocks


def test_example_file_parses_documents_every_key_and_matches_the_generator() -> None:
    example = REPO_ROOT / "config.example.toml"
    text = example.read_text()
    assert text == render_default_config(), (
        "config.example.toml is stale: regenerate it with python -c 'from ivcrush_tui.config"
        ' import render_default_config as r; open("config.example.toml","w").write(r())\''
    )
    s = load_settings(example, {})
    assert dataclasses.replace(s, config_path=None) == load_settings(None, {})

    blocks = _section_blocks(text)
    meta = {"config_path", "warnings"}  # where the settings came from, not keys
    for f in dataclasses.fields(Settings):
        if f.name in meta:
            continue
        if f.name == "alerts":  # parsed apart (config/alert_rules.py): its own template text
            for word in ("bell", "command", "command_timeout_s", "[[alerts.rules]]"):
                assert re.search(rf"^(# )?{re.escape(word)}", blocks["alerts"], re.M), word
            continue
        section_cls = f.type if isinstance(f.type, type) else None
        if f.name == "demo":
            assert re.search(r"^demo = false$", blocks[""], re.M)
            continue
        assert f.name in blocks, f"section [{f.name}] missing from config.example.toml"
        cls = schema.SECTIONS[f.name][0]
        assert section_cls is None or section_cls is cls
        for key in dataclasses.fields(cls):
            if key.name == "keymap":
                assert f"{f.name}.keymap" in blocks
                continue
            pattern = rf"^(# )?{key.name} = "
            assert re.search(pattern, blocks[f.name], re.M), f"{f.name}.{key.name} undocumented"
            # and it carries a comment
            assert "# " in blocks[f.name]


def test_schema_and_dataclasses_agree() -> None:
    for section, (cls, specs) in schema.SECTIONS.items():
        assert [s.name for s in specs] == [f.name for f in dataclasses.fields(cls)], section
    assert {f.name for f in dataclasses.fields(Settings)} == {
        *schema.SECTIONS,
        *(s.name for s in schema.TOP_LEVEL),
        "alerts",  # parsed apart: config/alert_rules.py
        "config_path",
        "warnings",
    }


# -- hostile files and insecure set-ups (issue 16) -----------------------------------------------


def test_special_files_are_refused_without_reading(tmp_path: Path) -> None:
    # /dev/zero never ends (it used to read 3.8 GB, then a MemoryError) and a FIFO blocks forever.
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(ConfigError) as info:
            load_settings(path, {})
        assert [p.why for p in info.value.problems] == [
            "is not a regular file (a device, FIFO or socket)"
        ]


def test_a_config_over_one_megabyte_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("# padding\n" * 110_000)  # 1.1 MB of valid TOML comments
    with pytest.raises(ConfigError, match="larger than 1024 kB"):
        load_settings(path, {})
    path.write_text("# padding\n" * 100_000)  # 1.0 MB: still a config
    assert load_settings(path, {}).config_path == path


def test_a_world_writable_config_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\nconcurrency = 4\n")
    path.chmod(0o666)
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    (problem,) = info.value.problems
    assert "writable by every user (mode 0666)" in problem.why
    assert f"chmod 600 {path}" in problem.why


def test_a_readable_config_with_a_secret_warns_and_a_private_one_does_not(tmp_path: Path) -> None:
    path = write(tmp_path, f'[tradier]\ntoken = "{FAKE_TOKEN}"\n')
    path.chmod(0o644)
    (warning,) = load_settings(path, {}).warnings
    assert "readable by other users (mode 0644)" in warning
    assert FAKE_TOKEN not in warning
    path.chmod(0o600)
    assert load_settings(path, {}).warnings == ()
    # Readable, but no secret in the file (the token comes from the environment): nothing to hide.
    plain = write(tmp_path, "[engine]\nconcurrency = 4\n")
    plain.chmod(0o644)
    assert load_settings(plain, {"TRADIER_TOKEN": FAKE_TOKEN}).warnings == ()


@pytest.mark.parametrize("provider", ["tradier", "alphavantage"])
def test_plain_http_off_loopback_is_refused_unless_allowed_then_warned(
    tmp_path: Path, provider: str
) -> None:
    suffix = "/v1" if provider == "tradier" else "/query"
    text = f'[{provider}]\nbase_url = "http://10.1.2.3:8080{suffix}"\n'
    problems = problems_of(tmp_path, text)
    assert "would send the" in problems[f"{provider}.base_url"]
    assert f"{provider}.allow_insecure_http = true" in problems[f"{provider}.base_url"]
    allowed = load_settings(write(tmp_path, text + "allow_insecure_http = true\n"), {})
    (warning,) = allowed.warnings
    assert f"{provider}.base_url is plain http to 10.1.2.3" in warning


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_plain_http_on_loopback_is_fine(tmp_path: Path, host: str) -> None:
    s = load_settings(write(tmp_path, f'[tradier]\nbase_url = "http://{host}:9/v1"\n'), {})
    assert s.tradier.base_url == f"http://{host}:9/v1"
    assert s.warnings == ()


def test_userinfo_in_a_base_url_is_refused_and_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            write(tmp_path, '[tradier]\nbase_url = "https://user:hunter2pw@api.example.com/v1"\n'),
            {},
        )
    (problem,) = info.value.problems
    assert problem.key_path == "tradier.base_url"
    assert "must not contain a user name or password" in problem.why
    assert "hunter2pw" not in str(info.value)
    assert "***@api.example.com" in problem.value


# -- demo and live never share a database file ----------------------------------------------------


@pytest.mark.parametrize(
    ("live", "demo"),
    [
        ("ivcrush.sqlite3", "ivcrush-demo.sqlite3"),
        ("data/store.db", "data/store-demo.db"),
        ("store", "store-demo"),
        ("/var/lib/ivcrush/a.b.sqlite3", "/var/lib/ivcrush/a.b-demo.sqlite3"),
    ],
)
def test_the_demo_database_sits_beside_the_live_one(live: str, demo: str) -> None:
    assert cfg.demo_storage_path(Path(live)) == Path(demo)


def test_database_path_follows_the_mode(tmp_path: Path) -> None:
    live_path = tmp_path / "data" / "ivcrush.sqlite3"
    demo = cfg.default_settings(live_path, demo=True)
    live = dataclasses.replace(demo, demo=False)
    assert live.database_path == live_path
    assert demo.database_path == tmp_path / "data" / "ivcrush-demo.sqlite3"
    assert demo.storage.path == live.storage.path  # the configured key itself is untouched
    # The default location follows the same rule.
    default = cfg.default_settings()
    assert default.database_path.name == "ivcrush-demo.sqlite3"
    assert default.database_path.parent == default.storage.path.parent


def test_forcing_the_demo_moves_a_configured_path_to_its_demo_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\npath = "db/mine.sqlite3"\n')
    keys = {"TRADIER_TOKEN": FAKE_TOKEN, "ALPHAVANTAGE_API_KEY": FAKE_KEY}
    assert load_settings(path, keys).database_path == tmp_path / "db" / "mine.sqlite3"
    forced = load_settings(path, keys, force_demo=True)
    assert forced.database_path == tmp_path / "db" / "mine-demo.sqlite3"
    assert load_settings(path, {}).database_path == tmp_path / "db" / "mine-demo.sqlite3"


# -- ui.theme ---------------------------------------------------------------------------------


@pytest.fixture
def theme_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("IVCRUSH_THEMES_DIR", raising=False)
    return tmp_path  # the platform config folder is tmp_path / "absent" (_no_user_config)


def _theme_problems(path: Path, theme: str, env: dict[str, str] | None = None) -> list[str]:
    path.write_text(f'[ui]\ntheme = "{theme}"\n', encoding="utf-8")
    try:
        load_settings(path, env or {})
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize("theme", ["ivcrush-dark", "ivcrush-light", "nord", "textual-light"])
def test_shipped_and_textual_themes_are_accepted(theme_home: Path, theme: str) -> None:
    assert _theme_problems(theme_home / "c.toml", theme) == []


@pytest.mark.parametrize("theme", ["nrod", "ansi-dark", "IVCRUSH-DARK"])
def test_an_unknown_theme_is_a_configuration_error(theme_home: Path, theme: str) -> None:
    (problem,) = _theme_problems(theme_home / "c.toml", theme)
    assert problem.startswith("ui.theme: unknown theme")
    assert "ivcrush-dark" in problem  # the names that would do are listed
    if theme == "nrod":
        assert "did you mean 'nord'?" in problem


def test_user_theme_files_are_themes_too(theme_home: Path) -> None:
    user = theme_home / "absent" / "themes"
    user.mkdir(parents=True)
    (user / "mine.toml").write_text('primary = "#112233"\n', encoding="utf-8")
    (user / "other.toml").write_text('name = "Night Owl"\nprimary = "#112233"\n')
    (user / "broken.toml").write_text("this is [not toml", encoding="utf-8")
    cfg_path = theme_home / "c.toml"
    assert _theme_problems(cfg_path, "mine") == []
    assert _theme_problems(cfg_path, "Night Owl") == []
    assert _theme_problems(cfg_path, "broken") != []
    extra = theme_home / "extra"
    extra.mkdir()
    (extra / "deep.toml").write_text('primary = "#000000"\n', encoding="utf-8")
    assert _theme_problems(cfg_path, "deep") != []
    assert _theme_problems(cfg_path, "deep", {"IVCRUSH_THEMES_DIR": str(extra)}) == []
