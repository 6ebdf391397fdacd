"""Public API and cold start: `IvCrushApp()` with no arguments runs under run_test() on the default
backend, and nothing heavy is imported or opened before the first frame."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivcrush_tui.app import IvCrushApp

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No API keys, no user config: the default backend is the demo market in `tmp_path`."""
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG", "IVCRUSH_THEMES_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    return dict(os.environ)


def test_building_the_app_imports_and_opens_nothing_heavy(isolated: dict[str, str]) -> None:
    code = (
        "import sys, json\n"
        "from ivcrush_tui.app import IvCrushApp\n"
        "app = IvCrushApp()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('httpx', 'aiosqlite', 'plotext', 'textual_plotext', 'orjson')"
        " or m.startswith(('ivcrush_tui.engine.runtime', 'ivcrush_tui.engine.service',"
        " 'ivcrush_tui.providers', 'ivcrush_tui.store', 'ivcrush_tui.app.screens.ticker')))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=isolated,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    # ... and no database was created yet: the store is opened by the startup worker.
    assert not list(Path(isolated["XDG_DATA_HOME"]).rglob("*.sqlite3"))


async def test_the_app_with_no_arguments_runs_on_the_demo_market(isolated: dict[str, str]) -> None:
    app = IvCrushApp()
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        assert type(app.screen).__name__ == "WatchlistScreen"
        await app.wait_ready()
        for _ in range(50):  # the first demo session seeds the watchlist
            if app.watchlist_loaded:
                break
            await pilot.pause(0.1)
        assert app.backend.demo
        assert app.watchlist_loaded
        assert app.watchlist_symbols
        assert app.theme == "ivcrush-dark"
        assert app.backend.status().demo
    assert app.return_code in (None, 0)


def test_sigterm_quits_the_console_cleanly_with_143(isolated: dict[str, str]) -> None:
    """A real terminal (pty): SIGTERM quits like `q` (backend stopped, terminal restored), 143."""
    import pty
    import select
    import signal
    import time

    env = {**isolated, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console on the demo market
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "ivcrush_tui", "--demo"], env)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"DEMO" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                seen += os.read(fd, 65536)
        assert b"DEMO" in seen, "the console never drew its status bar"
        os.kill(pid, signal.SIGTERM)
        tail = b""
        end = time.monotonic() + 15
        status = None
        while status is None and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):  # OSError: the child closed the terminal
                    tail += os.read(fd, 65536)
            done, code = os.waitpid(pid, os.WNOHANG)
            status = code if done else None
        assert status is not None, "the console did not quit after SIGTERM"
        assert os.waitstatus_to_exitcode(status) == 143
        assert b"Traceback" not in tail
        assert b"\x1b[?1049l" in tail  # the alternate screen was left: the terminal is restored
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
