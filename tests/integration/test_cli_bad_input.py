"""The CLI given bad input, in process: usage errors, help and version exit codes, a broken or
missing configuration, insecure http allowed but warned about, private database and log folders.
One clear line, the right exit code, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from ivcrush_tui.cli import main
from tests.integration.cli_support import (
    demo,
    run,
)
from tests.integration.cli_support import demo_cfg as demo_cfg  # fixtures
from tests.integration.cli_support import home as home
from tests.integration.cli_support import market as market
from tests.integration.cli_support import server as server

# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "A$B"], "is not valid"),
        (["scan", "AAPL", "BAD TICKER"], "is not valid"),
        (["watchlist", "add"], "required: SYMBOL"),
        (["watchlist", "add", "AAPL", "-X"], "unrecognized arguments"),
        (["scan", "--date", "2026-13-01"], "is not YYYY-MM-DD"),
        (["scan", "--date", "tomorrow"], "is not YYYY-MM-DD"),
        (["scan", "--as-of", "yesterday"], "is not ISO-8601"),
        (["analyze", "AAPL", "--as-of", "2026-11-23T25:00"], "is not ISO-8601"),
        # Empty values are errors, never "absent" (which would silently mean now / today).
        (["analyze", "AAPL", "--as-of", ""], "--as-of is empty"),
        (["scan", "--date", ""], "--date is empty"),
        # Out-of-range years: one line, no OverflowError traceback.
        (["scan", "--date", "9999-12-31"], "outside the years 1990-2100"),
        (["scan", "--date", "0001-01-01"], "outside the years 1990-2100"),
        (["analyze", "AAPL", "--as-of", "9999-12-31T23:59:59Z"], "outside the years 1990-2100"),
        (["analyze", "AAPL", "--as-of", "1989-12-31"], "outside the years 1990-2100"),
        # --date picks the names; with names given it would be silently dropped.
        (["scan", "ALFA", "--date", "2026-11-30"], "TICKER arguments or --date, not both"),
        (["backfill", "--quarters", "0"], "between 1 and 40"),
        (["backfill", "--quarters", "x"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        (["analyze"], "required"),
        (["watchlist"], "required"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_message(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--demo", "--config", str(demo_cfg), *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "ivcrush" in err


def test_usage_errors_help_and_version_return_codes_in_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--no-such-flag"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("analyze", "scan", "backfill", "health", "watchlist", "config"):
        assert command in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ivcrush ")


@pytest.mark.parametrize(
    ("env", "config", "message"),
    [
        ({"TRADIER_TOKEN": "abc123"}, None, "live mode needs alphavantage.api_key"),
        ({"ALPHAVANTAGE_API_KEY": "abc123"}, None, "live mode needs tradier.token"),
        ({}, "[engine]\nconcurrency = 'many'\n", "engine.concurrency: must be an integer"),
        ({}, "[bogus]\nx = 1\n", "bogus: unknown section"),
        ({}, "this is [not toml", "TOML syntax error"),
        ({}, "[tradier]\nbase_url = 'ftp://x'\n", "tradier.base_url"),
        ({}, "[ui]\ntheme = 'nrod'\n", "ui.theme: unknown theme (did you mean 'nord'?)"),
    ],
)
def test_broken_configuration_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    config: str | None,
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = ["health"]
    if config is not None:
        path = home / "broken.toml"
        path.write_text(config, encoding="utf-8")
        args = ["--config", str(path), "health"]
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "abc123" not in err  # secrets never echoed


def test_allowed_insecure_http_is_warned_about_at_every_start(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path
) -> None:
    # --demo: nothing is sent anywhere; the warning comes from the configuration alone.
    text = demo_cfg.read_text() + (
        '[tradier]\nbase_url = "http://10.1.2.3/v1"\nallow_insecure_http = true\n'
    )
    demo_cfg.write_text(text)
    for _ in range(2):
        code, _, err = demo(capsys, demo_cfg, "watchlist", "list")
        assert code == 0
        assert "ivcrush: warning: tradier.base_url is plain http to 10.1.2.3" in err


def test_database_logs_and_their_folders_are_private(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    cfg = home / "private.toml"
    data, logs = home / "data" / "ivcrush", home / "logs" / "ivcrush"
    cfg.write_text(f'[storage]\npath = "{data / "db.sqlite3"}"\nlog_dir = "{logs}"\n')
    old_umask = os.umask(0o022)  # the common default, which would make files 0644
    try:
        code, _, _ = demo(capsys, cfg, "analyze", "AAPL", "--json")
    finally:
        os.umask(old_umask)
    assert code == 0

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(data) == 0o700
    assert mode(logs) == 0o700
    assert mode(data / "db-demo.sqlite3") == 0o600  # --demo: the demo file (issue 12)
    assert mode(logs / "ivcrush.log") == 0o600
    with sqlite3.connect(
        data / "db-demo.sqlite3"
    ) as conn:  # WAL mode: a reader makes -wal and -shm
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        assert mode(data / "db-demo.sqlite3-wal") == 0o600
        assert mode(data / "db-demo.sqlite3-shm") == 0o600


def test_missing_config_file_exits_2(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, _, err = run(capsys, "--config", str(home / "nope.toml"), "scan")
    assert code == 2
    assert "config file not found" in err
