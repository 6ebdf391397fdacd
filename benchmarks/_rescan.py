"""bench_scan's warm-rescan runs (issue 14, "Request economy and streaming results"): 8 names
scanned once, then again RESCAN_AFTER seconds later at Tradier's 120/min window, as the console's
timer and a repeated `ivcrush scan` do. Between the two scans the injected clock (the client's
and the server's) moves on by RESCAN_AFTER, so the caches are as a real rescan finds them:
expirations and history kept, quotes and chains older than their 30 s. Timed: the first result
and all results of the rescan, in one runtime (the console's case) and in a fresh CLI process
(a repeated `ivcrush scan --json`: the caches come from the store, L2)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _scan_client import cli, fmt_requests, requests_total
from _scan_server import LATENCY_MS, SCAN_AT, Server

RESCAN_NAMES = 8
RESCAN_AFTER = dt.timedelta(seconds=60)
FIRST_TARGET_S = 0.5
ALL_TARGET_S = 1.5


@dataclasses.dataclass
class RescanRun:
    first_s: float
    all_s: float
    cpu_s: float  # this process's CPU time during the rescan (all threads)
    results: int


async def engine_rescan(cfg: Path, symbols: Sequence[str], srv: Server) -> RescanRun:
    """Scan `symbols` at SCAN_AT, move both clocks on by RESCAN_AFTER, scan again (timed)."""
    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.clock import SteppedClock
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.engine.service import Engine
    from ivcrush_tui.engine.warm_up import warm_up_analytics

    settings = load_settings(cfg, {})
    clock = SteppedClock(SCAN_AT)
    warm = warm_up_analytics(clock.now())
    if warm is not None:
        warm.join()
    async with open_runtime(settings, clock) as rt:
        engine = Engine(rt)
        try:
            async for _ in engine.scan(symbols, clock.now()):
                pass
            later = SCAN_AT + RESCAN_AFTER
            clock.set(later)
            srv.send(f"clock {later.isoformat()}")
            srv.send("reset")
            first: float | None = None
            n = 0
            c0 = time.process_time()
            t0 = time.perf_counter()
            async for _ in engine.scan(symbols, clock.now()):
                n += 1
                if first is None:
                    first = time.perf_counter() - t0
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - c0
        finally:
            await engine.aclose()
    return RescanRun(first or elapsed, elapsed, cpu, n)


def rescan_runs(
    srv: Server,
    fresh: Callable[[str], Path],
    env: dict[str, str],
    row: Callable[[str, str, str, bool | None], None],
    *,
    repeat: int = 1,
) -> None:
    """The warm rescan of RESCAN_NAMES names at 120/min, in-runtime and as fresh CLI processes."""
    names = srv.symbols[:RESCAN_NAMES]
    srv.send("limit 120")
    srv.send(f"latency {LATENCY_MS:g}")
    for i in range(repeat):
        print(f"warm rescan of {len(names)} at 120/min (engine, one runtime) ...", flush=True)
        srv.send(f"clock {SCAN_AT.isoformat()}")
        srv.send("reset")
        run = asyncio.run(engine_rescan(fresh(f"rescan-engine-{i}"), names, srv))
        st = srv.stats()
        row(
            "warm rescan of 8 at 120/min (engine): first / all",
            f"{run.first_s * 1000:.0f} / {run.all_s * 1000:.0f} ms, "
            f"{run.results} results, client CPU {run.cpu_s:.2f} s, "
            f"{requests_total(st)} requests ({fmt_requests(st)}), {st['rate_limited']} x 429",
            "< 500 / < 1500 ms",
            run.first_s < FIRST_TARGET_S and run.all_s < ALL_TARGET_S,
        )
    later = SCAN_AT + RESCAN_AFTER
    for i in range(repeat):
        print(f"warm rescan of {len(names)} at 120/min (CLI, fresh processes) ...", flush=True)
        cfg = fresh(f"rescan-cli-{i}")
        srv.send(f"clock {SCAN_AT.isoformat()}")
        cli(["--config", str(cfg), "scan", *names, "--json", "--as-of", SCAN_AT.isoformat()], env)
        srv.send(f"clock {later.isoformat()}")
        srv.send("reset")
        c = cli(["--config", str(cfg), "scan", *names, "--json", "--as-of", later.isoformat()], env)
        st = srv.stats()
        first = c.first_line_s if c.first_line_s is not None else c.wall_s
        last = c.last_line_s if c.last_line_s is not None else c.wall_s
        row(
            "warm rescan of 8 at 120/min (CLI, from process start): first / last line",
            f"{first * 1000:.0f} / {last * 1000:.0f} ms (exit {c.wall_s * 1000:.0f} ms, "
            f"{c.lines} lines, rc {c.rc}, CPU {c.cpu_s:.2f} s), "
            f"{requests_total(st)} requests ({fmt_requests(st)})",
            "< 500 / < 1500 ms",
            first < FIRST_TARGET_S and last < ALL_TARGET_S and c.lines == len(names),
        )
