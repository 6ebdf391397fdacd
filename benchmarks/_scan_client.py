"""bench_scan's client side, apart from its runs and report: the config and store copies, the
engine scan, backfill and health measurements, and the CLI runs with their peak memory. Imported
by bench_scan.py from beside it, after it has put the project root on sys.path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _scan_server import SCAN_AT, Server

from ivcrush_tui.calendar import NY
from ivcrush_tui.holiday_cache import FILE_NAME as HOLIDAYS_FILE

ROOT = Path(__file__).resolve().parents[1]

BACKFILL_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=NY)
SECOND_SCAN_AT = dt.datetime(2026, 11, 23, 15, 45, tzinfo=NY)
CONCURRENCY = 10


# -- client side -----------------------------------------------------------------------------------


def write_config(path: Path, srv: Server, db: Path) -> Path:
    path.write_text(
        f"""[tradier]
token = "bench-token"
base_url = "{srv.tradier_base}"
[alphavantage]
api_key = "bench-key"
base_url = "{srv.av_base}"
max_per_second = 100.0
daily_quota = 1000000
[engine]
concurrency = {CONCURRENCY}
scan_timeout_s = 600.0
[storage]
path = "{db}"
log_dir = "{db.parent / "log"}"
""",
        encoding="utf-8",
    )
    return path


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy (WAL included) through SQLite's backup API, with the files the runtime
    keeps beside the database (the holiday years), as in a user's data folder."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    beside = src.with_name(HOLIDAYS_FILE)
    if beside.exists():
        shutil.copyfile(beside, dst.with_name(HOLIDAYS_FILE))
    return dst


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADIER", "ALPHAVANTAGE"))}
    env.pop("IVCRUSH_CONFIG", None)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(home)
    env["HOME"] = str(home)
    return env


async def backfill(cfg: Path, symbols: Sequence[str]) -> float:
    from rich.console import Console

    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.backfill import run_backfill
    from ivcrush_tui.engine.clock import FixedClock
    from ivcrush_tui.engine.runtime import open_runtime

    settings = load_settings(cfg, {})
    t0 = time.perf_counter()
    async with open_runtime(settings, FixedClock(BACKFILL_AT)) as rt:
        report = await run_backfill(rt, symbols, quarters=12, out=Console(file=io.StringIO()))
    if not report.complete or report.failed:
        raise RuntimeError(f"backfill incomplete: {report}")
    return time.perf_counter() - t0


@dataclasses.dataclass
class ScanRun:
    elapsed_s: float
    first_s: float
    statuses: dict[str, int]
    cpu_s: float  # CPU time of this (client) process during the scan, all threads


async def engine_scan(
    cfg: Path, symbols: Sequence[str], at: dt.datetime, profile: Path | None = None
) -> ScanRun:
    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.clock import FixedClock
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.engine.service import Engine
    from ivcrush_tui.engine.warm_up import warm_up_analytics

    settings = load_settings(cfg, {})
    clock = FixedClock(at)
    # The engine's throughput, not a fresh process's one-time imports (the holidays
    # calendar: the CLI rows measure those): load them before the clock starts.
    warm = warm_up_analytics(clock.now())
    if warm is not None:
        warm.join()
    async with open_runtime(settings, clock) as rt:
        engine = Engine(rt)
        statuses: dict[str, int] = {}
        first = None
        prof = None
        if profile is not None:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        c0 = time.process_time()
        t0 = time.perf_counter()
        try:
            async for result in engine.scan(symbols, clock.now()):
                if first is None:
                    first = time.perf_counter() - t0
                statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        finally:
            await engine.aclose()
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if prof is not None and profile is not None:
            prof.disable()
            prof.dump_stats(profile)
    return ScanRun(elapsed, first or elapsed, statuses, cpu)


async def engine_health(cfg: Path, repeat: int = 5) -> tuple[float, float, float]:
    """Milliseconds, one runtime: (first check, median of probing checks on warm connections,
    median of checks answered by a recent Tradier call: no request sent)."""
    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.clock import FixedClock
    from ivcrush_tui.engine.health import check_health
    from ivcrush_tui.engine.runtime import open_runtime

    settings = load_settings(cfg, {})
    probes, recent = [], []
    async with open_runtime(settings, FixedClock(SCAN_AT)) as rt:
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            await check_health(rt, probe=True)
            probes.append((time.perf_counter() - t0) * 1000)
        for _ in range(repeat):
            t0 = time.perf_counter()
            await check_health(rt)
            recent.append((time.perf_counter() - t0) * 1000)
    return probes[0], statistics.median(probes[1:]), statistics.median(recent)


@dataclasses.dataclass
class CliRun:
    wall_s: float
    first_line_s: float | None
    lines: int
    maxrss_mb: float
    rc: int
    last_line_s: float | None = None  # the last stdout line, from process start
    cpu_s: float = 0.0  # the process's CPU time (user + system)


# Runs `python -m ivcrush_tui`, then reports the process's own peak RSS. VmHWM (per address space,
# reset by exec) is used, not ru_maxrss: the latter also counts the benchmark process's pages the
# child shared between fork and exec, which made it grow with the benchmark's own size.
_RUN_WITH_PEAK = """\
import atexit, runpy, sys

def _peak():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    print(f"VMHWM_KB {kb}", file=sys.stderr, flush=True)

atexit.register(_peak)
sys.argv = ["ivcrush", *sys.argv[1:]]
runpy.run_module("ivcrush_tui", run_name="__main__", alter_sys=True)
"""


def cli(args: Sequence[str], env: dict[str, str]) -> CliRun:
    """Run `ivcrush ARGS` in a fresh process; time the first stdout line from process start and
    read the process's peak RSS (VmHWM, Linux) and its CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _RUN_WITH_PEAK, *args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        first = last = None
        lines = 0
        for _ in iter(proc.stdout.readline, b""):
            last = time.perf_counter() - t0
            if first is None:
                first = last
            lines += 1
        rc = proc.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        err.seek(0)
        peak_kb = next(
            (float(x.split()[1]) for x in err.read().splitlines() if x.startswith("VMHWM_KB")),
            float("nan"),
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return CliRun(wall, first, lines, peak_kb / 1024.0, rc, last, cpu)


def requests_total(stats: dict[str, Any]) -> int:
    return sum(int(v) for v in stats["requests"].values())


def fmt_requests(stats: dict[str, Any]) -> str:
    short = {k.rsplit("/", 1)[-1]: v for k, v in stats["requests"].items() if v}
    return ", ".join(f"{k} {v}" for k, v in short.items())


def window_runs(
    srv: Server,
    fresh: Callable[[str], Path],
    env: dict[str, str],
    as_of: list[str],
    row: Callable[[str, str, str, bool | None], None],
) -> None:
    """Tradier's 120/min window: a cold scan of 100, then a second one the same day."""
    syms = srv.symbols
    print("120/min window: first scan of 100 (cold) ...", flush=True)
    srv.send("limit 120")
    srv.send("reset")
    cfg = fresh("window")
    first_run = cli(["--config", str(cfg), "scan", *syms, "--json", *as_of], env)
    st1 = srv.stats()
    row(
        "first scan of the day at 120/min (CLI)",
        f"{first_run.wall_s:.1f} s, {requests_total(st1)} requests, {st1['rate_limited']} x 429",
        "no 429",
        st1["rate_limited"] == 0,
    )
    # Later the same day: a new window (reset), expirations still cached, chains stale.
    srv.send("reset")
    srv.send(f"clock {SECOND_SCAN_AT.isoformat()}")
    second = cli(
        ["--config", str(cfg), "scan", *syms, "--json", "--as-of",
         SECOND_SCAN_AT.isoformat()],
        env,
    )  # fmt: skip
    st2 = srv.stats()
    row(
        "second scan same day, 100 at 120/min (CLI)",
        f"{second.wall_s:.1f} s, {requests_total(st2)} requests "
        f"({fmt_requests(st2)}), {st2['rate_limited']} x 429",
        "< 10 s, no 429",
        second.wall_s < 10 and st2["rate_limited"] == 0,
    )
