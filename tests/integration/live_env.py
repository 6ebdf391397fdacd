"""Shared set-up for the "live over loopback" tests: a DemoServer with fake keys and a config file
pointing at it, storage and logs in a temporary folder, and a frozen clock in the entry window.

Used by test_resilience, test_operations, test_security and tests/performance/test_load.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.calendar import NY
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import Runtime, open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer

# Monday 2026-11-23 15:30 ET: inside the entry window, Thanksgiving week (half day on Friday).
NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY)
AS_OF = "2026-11-23T15:30:00-05:00"
CLOCK = FixedClock(NOW)
TOKEN = "TRDRtok-7f3a9c21e5"  # distinctive fake credentials: grep-able anywhere they leak
AV_KEY = "AVkey-Q8W2E6R4T0"
REPO = Path(__file__).resolve().parents[2]

_market: DemoMarket | None = None


def collect_garbage() -> None:
    """Run finalizers at a harmless moment. A failed future left unretrieved logs from its
    __del__; if that finalizer runs inside a later `ast.parse` (pytest's assertion rewriting),
    CPython 3.11.7 raises "AST constructor recursion depth mismatch" (cpython gh-106905)."""
    gc.collect()


def market() -> DemoMarket:
    """The demo market of NOW's day (built once per process: it caches its histories)."""
    global _market
    if _market is None:
        _market = DemoMarket(NOW.date())
    return _market


def server_clock() -> dt.datetime:
    return NOW.astimezone(dt.UTC)


# A Tradier window that never binds, so only the injected faults matter.
WIDE_WINDOW = 100_000


@contextlib.contextmanager
def serving(faults: FaultConfig | None = None) -> Iterator[DemoServer]:
    """The demo market of NOW's day on a loopback server (default: no fault, a wide window)."""
    config = FaultConfig(tradier_limit_per_min=WIDE_WINDOW) if faults is None else faults
    with DemoServer(market(), config, server_clock) as srv:
        yield srv


def write_config(
    folder: Path,
    server: DemoServer,
    *,
    token: str = TOKEN,
    av_key: str = AV_KEY,
    tradier: Mapping[str, Any] | None = None,
    alphavantage: Mapping[str, Any] | None = None,
    resilience: Mapping[str, Any] | None = None,
    engine: Mapping[str, Any] | None = None,
    db_name: str = "ivcrush.sqlite3",
) -> Path:
    """A config file in `folder` for live mode against `server` (fast settings by default:
    short back-off, no Alpha Vantage pacing to speak of)."""
    doc: dict[str, Any] = {
        "tradier": {"token": token, "base_url": server.tradier_base, "timeout_s": 5.0}
        | dict(tradier or {}),
        "alphavantage": {
            "api_key": av_key,
            "base_url": server.av_base,
            "max_per_second": 100.0,
            "daily_quota": 100_000,
            "timeout_s": 5.0,
        }
        | dict(alphavantage or {}),
        "resilience": {"backoff_base_s": 0.02, "backoff_max_s": 0.1} | dict(resilience or {}),
        "engine": dict(engine or {}),
        "storage": {"path": str(folder / db_name), "log_dir": str(folder / "log")},
    }
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def settings_for(config: Path) -> Settings:
    settings = load_settings(config, {})
    assert not settings.demo, "the test config must run live (against the loopback server)"
    return settings


async def scan(rt: Runtime, symbols: Sequence[str]) -> list[Analysis]:
    """One scan with a fresh Engine on `rt` (all outcomes, completion order)."""
    engine = Engine(rt)
    try:
        return [a async for a in engine.scan(list(symbols), rt.clock.now())]
    finally:
        await engine.aclose()


async def scan_once(settings: Settings, symbols: Sequence[str]) -> list[Analysis]:
    async with open_runtime(settings, CLOCK) as rt:
        return await scan(rt, symbols)


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI subprocess: no inherited keys or config path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    }
    env["PYTHONPATH"] = str(REPO)
    env["COLUMNS"] = "200"
    return env | dict(extra or {})


def cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run `python -m ivcrush_tui ARGS` to completion (text output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "ivcrush_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
        cwd=REPO,
        check=False,
    )


def cli_popen(*args: str) -> subprocess.Popen[str]:
    """Start `python -m ivcrush_tui ARGS` (stdout/stderr piped, line-buffered text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ivcrush_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=cli_env(),
        cwd=REPO,
    )
