"""`ivcrush web`: the console served by textual-serve, checked in a real headless browser.

The server runs as a real subprocess (`python -m ivcrush_tui --demo web`) on a free loopback port,
in its own session so that it and every console it starts can be stopped even when a check fails.
How the browser reads the terminal's text: tests/integration/browser.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.integration.browser import chromium, chromium_path, open_console, wait_for_screen

ROOT = Path(__file__).resolve().parents[2]
# In the server's environment: it must reach neither the page nor the terminal's text.
FAKE_TOKEN = "tok-never-shown-4f1c"
START_TIMEOUT_S = 20.0
SCREEN_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(home: Path) -> dict[str, str]:
    """Isolated platform folders under `home`, and only a fake secret."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    }
    env["TRADIER_TOKEN"] = FAKE_TOKEN
    env["HOME"] = str(home)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(home / var.lower())
    return env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def served(home: Path) -> Iterator[Served]:
    """`ivcrush --demo web` on a free loopback port, up and accepting connections; on exit
    every process of its session is killed, whatever happened."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ivcrush_tui", "--demo", "web", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env(home),
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"ivcrush web exited with {process.returncode}:\n{out}\n{err}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"ivcrush web did not listen within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.1)
        yield Served(f"http://127.0.0.1:{port}/", port, process)
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=STOP_TIMEOUT_S)


def _stop(server: Served) -> tuple[str, str]:
    """SIGTERM, as a service manager stops it: exit 0 promptly, and no console left behind."""
    server.process.send_signal(signal.SIGTERM)
    out, err = server.process.communicate(timeout=STOP_TIMEOUT_S)
    assert server.process.returncode == 0, err
    deadline = time.monotonic() + 2.0
    while _group_alive(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_alive(server.process.pid), "a console process outlived the server"
    return out, err


def _title_is(prefix: str) -> Callable[[list[str]], bool]:
    def check(rows: list[str]) -> bool:
        return bool(rows) and rows[0].strip().startswith(prefix)

    return check


def test_the_console_in_a_real_browser(tmp_path: Path) -> None:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: `make test` installs it (scripts/ensure-chromium.sh)")
    t0 = time.monotonic()
    with served(tmp_path) as server, chromium(executable) as browser:
        page = open_console(browser, server.url, timeout_ms=int(SCREEN_TIMEOUT_S * 1000))
        try:
            rows = wait_for_screen(
                page,
                lambda r: any("DEMO" in row for row in r) and any("VRP" in row for row in r),
                "watchlist with the DEMO status bar",
                timeout_s=SCREEN_TIMEOUT_S,
            )
            assert rows[0].strip().startswith("Watchlist")
            assert any("Sym" in row and "Report" in row for row in rows)  # the column header

            page.locator(".xterm-helper-textarea").focus()
            screens = []
            for key, title in (("2", "Earnings"), ("3", "Health"), ("1", "Watchlist")):
                page.keyboard.press(key)
                screens += wait_for_screen(
                    page, _title_is(title), f"{title} after {key}", timeout_s=10
                )
            # No token on the page or the screen; no command line or path in the page itself
            # (the health screen shows the database path, as it does in a terminal).
            html = page.content()
            assert FAKE_TOKEN not in html
            assert FAKE_TOKEN not in "\n".join(rows + screens)
            assert "ivcrush_tui" not in html
            assert str(tmp_path) not in html
        finally:
            page.close()
        out, err = _stop(server)
    assert "Traceback" not in out + err
    assert "ivcrush web: stopped" in err
    # A budget for CI: the whole browser round, start to stop, in well under a minute.
    assert time.monotonic() - t0 < 60


async def _websocket_status(url: str, origin: str) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        try:
            ws = await session.ws_connect(url, headers={"Origin": origin})
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


def test_foreign_pages_cannot_reach_the_console(tmp_path: Path) -> None:
    """No login: so no other web site may open the console's websocket (cross-site websocket
    hijacking) or serve the page under its own name (DNS rebinding)."""
    with served(tmp_path) as server:
        ws_url = f"ws://127.0.0.1:{server.port}/ws"
        assert asyncio.run(_websocket_status(ws_url, "http://evil.example")) == 403
        page = httpx.get(server.url, headers={"Host": f"evil.example:{server.port}"}, timeout=5)
        assert page.status_code == 403
        ok = httpx.get(server.url, timeout=5)
        assert ok.status_code == 200
        assert f"ws://127.0.0.1:{server.port}/ws" in ok.text
        assert "ivcrush_tui" not in ok.text  # the title is the name, not the command
        forwarded = httpx.get(server.url, headers={"Host": "localhost:9000"}, timeout=5)
        assert "ws://localhost:9000/ws" in forwarded.text  # an SSH forward to another port
        _stop(server)
