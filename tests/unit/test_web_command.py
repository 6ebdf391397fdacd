"""`ivcrush web`: the console command it serves, the no-authentication warning, and the host
checks of its server (the server itself runs in tests/integration/test_web.py)."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ivcrush_tui.cli import build_parser
from ivcrush_tui.commands.children import child_pids, is_running
from ivcrush_tui.commands.web import console_command, no_auth_warning
from ivcrush_tui.commands.web_server import host_name, url_host
from ivcrush_tui.loopback import is_loopback


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_defaults_are_loopback_port_8000() -> None:
    args = _args("web")
    assert (args.host, args.port) == ("127.0.0.1", 8000)


def test_the_served_command_is_the_console_with_the_global_options(tmp_path: Path) -> None:
    cfg = tmp_path / "my config.toml"  # a space: the shell command must quote it
    args = _args("--demo", "web", "--config", str(cfg), "--as-of", "2026-11-23T15:30-05:00")
    parts = shlex.split(console_command(args, python="/opt/py thon"))
    assert parts == [
        "exec", "/opt/py thon", "-m", "ivcrush_tui", "--demo", "--config", str(cfg.resolve()),
        "--as-of", "2026-11-23T15:30-05:00",
    ]  # fmt: skip
    assert "web" not in parts  # the console, not another server


def test_the_plain_command_passes_nothing_extra() -> None:
    command = shlex.split(console_command(_args("web"), python="py"))
    assert command == ["exec", "py", "-m", "ivcrush_tui"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_binds_need_no_warning(host: str) -> None:
    assert no_auth_warning(host, 8000) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.org"])
def test_other_binds_warn_that_there_is_no_authentication(host: str) -> None:
    warning = no_auth_warning(host, 8000)
    assert warning is not None
    assert "no authentication" in warning


def test_host_helpers() -> None:
    assert host_name("LOCALHOST:9000") == "localhost"
    assert host_name("[::1]:8000") == "::1"
    assert is_loopback("[::1]")
    assert not is_loopback("evil.example")
    assert url_host("::1") == "[::1]"
    assert url_host("127.0.0.1") == "127.0.0.1"


def test_child_processes_are_found_and_seen_to_exit() -> None:
    if not Path("/proc/self/task").is_dir():
        pytest.skip("no /proc on this system")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in child_pids()
        assert is_running(child.pid)
        child.kill()
        deadline = time.monotonic() + 5
        while is_running(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not is_running(child.pid)  # a zombie counts as exited
    finally:
        child.kill()
        child.wait(timeout=5)
    assert child.pid not in child_pids()


def test_a_process_name_with_parentheses_is_parsed(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text("42 (a) b) Z 1 2 3\n", encoding="utf-8")
    assert not is_running(42, proc=tmp_path)
    (tmp_path / "42" / "stat").write_text("42 (a) b) S 1 2 3\n", encoding="utf-8")
    assert is_running(42, proc=tmp_path)
    assert not is_running(43, proc=tmp_path)
