"""Benchmark: the engine and the headless CLI against the demo market over real loopback sockets.

Not a test: it takes a few minutes (the 120/min part waits for real Tradier windows). Run:

    .venv/bin/python benchmarks/bench_scan.py            # everything (~4 min)
    .venv/bin/python benchmarks/bench_scan.py --quick    # skip the 120/min window runs
    .venv/bin/python benchmarks/bench_scan.py --engine 3 # only the 100-ticker engine scan, 3 runs
    .venv/bin/python benchmarks/bench_scan.py --profile  # one engine scan under cProfile
    .venv/bin/python benchmarks/bench_scan.py --rescan 3 # only the warm rescan of 8, 3 runs

The demo server runs in its own process (as a real provider would: its CPU is not ours), with
100 ms latency per request. 100 tickers: the universe's first 80 names, and 20 synthetic clones
added to the server's universe (first 20 dot-free names + "Z", e.g. AAPLZ: own draws, own
schedule, same price levels), so every ticker is a real, distinct analysis. History is
backfilled first (the normal state of a user's store), option data cold (no chain, expiration or
quote cached). Targets (issue "Engine and headless CLI"): scan <= 1.25x ideal, where
ideal = (requests / concurrency) x latency; first JSON line <= 0.5 s; second same-day scan of 100
at 120/min < 10 s and no 429; 1 ticker < 1 s, 50 < 5 s, 100 < 10 s; health < 100 ms (the
engine's check as the console makes it, where a recent Tradier call answers; and a probe, one
market-clock round trip, against the loopback server as is, the data-layer issue's setting; with
20 and 100 ms of latency the probe is reported as context: it cannot beat the latency); peak RSS
of a 100-ticker scan < 150 MB; `ivcrush --version` < 0.3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _bytecode import compile_package  # noqa: E402 - beside this script
from _rescan import RESCAN_AFTER, RESCAN_NAMES, rescan_runs  # noqa: E402 - beside this script
from _scan_client import (  # noqa: E402 - beside this script
    BACKFILL_AT,
    CONCURRENCY,
    SECOND_SCAN_AT,
    backfill,
    child_env,
    cli,
    copy_db,
    engine_health,
    engine_scan,
    fmt_requests,
    requests_total,
    window_runs,
    write_config,
)
from _scan_server import LATENCY_MS, SCAN_AT, Server  # noqa: E402 - beside this script

# -- the runs --------------------------------------------------------------------------------------


def cli_runs(
    srv: Server,
    fresh: Callable[[str], Path],
    syms: Sequence[str],
    env: dict[str, str],
    as_of: list[str],
    row: Callable[[str, str, str, bool | None], None],
) -> None:
    """CLI: time to the first JSON line, peak memory, 1 / 50 / 100 tickers, one `analyze`."""
    print("CLI scans (fresh process, option data cold) ...", flush=True)
    for n in (1, 50, 100):
        srv.send("reset")
        cfg = fresh(f"cli{n}")
        c = cli(["--config", str(cfg), "scan", *syms[:n], "--json", *as_of], env)
        limit = {1: 1.0, 50: 5.0, 100: 10.0}[n]
        row(
            f"scan {n} (CLI wall, process start to exit)",
            f"{c.wall_s:.2f} s ({c.lines} lines, rc {c.rc})",
            f"< {limit:g} s",
            c.wall_s < limit and c.lines == n,
        )
        if n == 100:
            first = c.first_line_s or c.wall_s
            row(
                "first JSON line (CLI, from process start)",
                f"{first * 1000:.0f} ms",
                "<= 500 ms",
                first <= 0.5,
            )
            row("peak RSS, 100-ticker CLI scan", f"{c.maxrss_mb:.0f} MB", "< 150 MB",
                c.maxrss_mb < 150)  # fmt: skip
    srv.send("reset")
    a = cli(["--config", str(fresh("cli-analyze")), "analyze", syms[0], "--json", *as_of], env)
    row(
        "analyze 1 ticker (CLI wall, process start to exit)",
        f"{a.wall_s:.2f} s (rc {a.rc})",
        "< 1 s",
        a.wall_s < 1.0 and a.lines == 1,
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 120/min window runs")
    ap.add_argument(
        "--engine", type=int, metavar="N", default=0,
        help="only the 100-ticker engine scan vs the ideal, N runs",
    )  # fmt: skip
    ap.add_argument(
        "--profile", type=Path, nargs="?", const=Path("bench_scan.prof"), metavar="FILE",
        help="only one 100-ticker engine scan, under cProfile (stats to FILE, top printed)",
    )  # fmt: skip
    ap.add_argument(
        "--rescan", type=int, metavar="N", default=0,
        help="only the warm rescan of 8 names at 120/min (engine and CLI), N runs each",
    )  # fmt: skip
    ap.add_argument("--window", action="store_true", help="only the 120/min window runs")
    ap.add_argument("--cli", action="store_true", help="only the CLI runs (fresh processes)")
    args = ap.parse_args(argv)
    compile_package()

    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value: str, target: str, ok: bool | None) -> None:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        rows.append((name, value, target, verdict))
        print(f"  {name}: {value} (target {target}) {verdict}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="ivcrush-bench-"))
    srv = Server()
    try:
        syms = srv.symbols
        env = child_env(tmp)
        template = tmp / "template" / "db.sqlite3"
        cfg_t = write_config(tmp / "template.toml", srv, template)
        print(f"backfilling {len(syms)} tickers (server latency 0) ...", flush=True)
        srv.send("latency 0")
        srv.send(f"clock {BACKFILL_AT.isoformat()}")
        bf = asyncio.run(backfill(cfg_t, syms))
        print(f"  backfill: {bf:.1f} s", flush=True)

        def fresh(name: str) -> Path:
            db = copy_db(template, tmp / name / "db.sqlite3")
            return write_config(tmp / f"{name}.toml", srv, db)

        as_of = ["--as-of", SCAN_AT.isoformat()]

        if args.window:
            srv.send("latency 0")
            for at in (SCAN_AT, SECOND_SCAN_AT):  # warm the server's memo (unmeasured)
                srv.send(f"clock {at.isoformat()}")
                asyncio.run(engine_scan(fresh("warm"), syms, at))
            srv.send(f"latency {LATENCY_MS:g}")
            srv.send(f"clock {SCAN_AT.isoformat()}")
            window_runs(srv, fresh, env, as_of, row)
            return 0

        if args.rescan:
            srv.send("latency 0")
            names = syms[:RESCAN_NAMES]
            for at in (SCAN_AT, SCAN_AT + RESCAN_AFTER):  # the server's memo (unmeasured)
                srv.send(f"clock {at.isoformat()}")
                asyncio.run(engine_scan(fresh("warm"), names, at))
            rescan_runs(srv, fresh, env, row, repeat=args.rescan)
            return 0

        if args.cli:
            srv.send("latency 0")
            srv.send(f"clock {SCAN_AT.isoformat()}")
            asyncio.run(engine_scan(fresh("warm"), syms, SCAN_AT))  # the server's memo (unmeasured)
            srv.send(f"latency {LATENCY_MS:g}")
            cli_runs(srv, fresh, syms, env, as_of, row)
            return 0

        # 0. the server unwarmed (its quote synthesis in the loop), then warm it
        srv.send(f"latency {LATENCY_MS:g}")
        srv.send(f"clock {SCAN_AT.isoformat()}")
        print("engine scan, 100 tickers, demo server not warmed ...", flush=True)
        cold = asyncio.run(engine_scan(fresh("unwarmed"), syms, SCAN_AT))
        row(
            "scan 100 (engine), server not warmed",
            f"{cold.elapsed_s:.2f} s, first {cold.first_s * 1000:.0f} ms",
            "context",
            None,
        )
        srv.send("latency 0")
        focused = bool(args.engine or args.profile)
        for at in (SECOND_SCAN_AT,) if not (args.quick or focused) else ():
            srv.send(f"clock {at.isoformat()}")
            asyncio.run(engine_scan(fresh("warm"), syms, at))
        srv.send(f"latency {LATENCY_MS:g}")
        srv.send(f"clock {SCAN_AT.isoformat()}")

        # 1. engine throughput vs ideal (100 tickers, 100 ms, no window limit)
        for i in range(max(args.engine, 1)):
            print("engine scan, 100 tickers, 100 ms latency, option data cold ...", flush=True)
            srv.send("reset")
            run = asyncio.run(
                engine_scan(fresh(f"engine100-{i}"), syms, SCAN_AT, profile=args.profile)
            )
            st = srv.stats()
            n_req = requests_total(st)
            ideal = n_req / CONCURRENCY * LATENCY_MS / 1000.0
            print(f"  statuses {run.statuses}; requests: {fmt_requests(st)}", flush=True)
            row(
                "scan 100 (engine)",
                f"{run.elapsed_s:.2f} s, client CPU {run.cpu_s:.2f} s",
                "< 10 s",
                run.elapsed_s < 10,
            )
            row(
                "  ideal = requests/concurrency x latency",
                f"{n_req}/{CONCURRENCY} x {LATENCY_MS / 1000:g} s = {ideal:.2f} s; "
                f"ratio {run.elapsed_s / ideal:.2f}x",
                "<= 1.25x",
                run.elapsed_s / ideal <= 1.25,
            )
            # Issue 14's yardstick: two requests per ticker at 10 in flight, whatever was sent.
            fixed = 2 * len(syms) / CONCURRENCY * LATENCY_MS / 1000.0
            row(
                "  vs 2 requests per ticker / concurrency x latency",
                f"{2 * len(syms)}/{CONCURRENCY} x {LATENCY_MS / 1000:g} s = {fixed:.2f} s; "
                f"ratio {run.elapsed_s / fixed:.2f}x",
                "<= 1.5x",
                run.elapsed_s / fixed <= 1.5,
            )
            row(
                "first result (engine)",
                f"{run.first_s * 1000:.0f} ms",
                "<= 500 ms",
                run.first_s <= 0.5,
            )
        if args.profile is not None:
            import pstats

            stats = pstats.Stats(str(args.profile))
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(45)
        if focused:
            return 0
        for n, limit in ((1, 1.0), (50, 5.0)):
            small = asyncio.run(engine_scan(fresh(f"engine{n}"), syms[:n], SCAN_AT))
            row(
                f"scan {n} (engine)",
                f"{small.elapsed_s:.2f} s",
                f"< {limit:g} s",
                small.elapsed_s < limit,
            )

        cli_runs(srv, fresh, syms, env, as_of, row)

        # 3. health
        for lat in (0.0, 20.0, LATENCY_MS):
            srv.send(f"latency {lat:g}")
            first_ms, warm_ms, recent_ms = asyncio.run(engine_health(fresh("health")))
            # The engine's check as the console makes it: a Tradier call that succeeded in the
            # last 15 s answers for the provider (no request spent from the 120/min window).
            row(
                f"health (engine, latency {lat:g} ms), a recent call answers",
                f"{recent_ms:.1f} ms",
                "< 100 ms",
                recent_ms < 100,
            )
            # A probe is one market-clock round trip: it cannot take less than the latency. The
            # data-layer issue set its < 100 ms against the loopback server as is (latency 0).
            row(
                f"health probe (engine, latency {lat:g} ms, warm connections)",
                f"{warm_ms:.1f} ms ({warm_ms - lat:+.1f} ms over the latency), "
                f"{first_ms:.1f} ms first",
                "< 100 ms" if lat == 0 else "context",
                warm_ms < 100 if lat == 0 else None,
            )
        srv.send("latency 20")
        h = cli(["--config", str(fresh("healthcli")), "health", "--json", *as_of], env)
        row("health (CLI wall, latency 20 ms)", f"{h.wall_s * 1000:.0f} ms", "", None)
        srv.send(f"latency {LATENCY_MS:g}")

        # 4. --version
        walls = []
        for _ in range(7):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "ivcrush_tui", "--version"],
                env=env,
                capture_output=True,
                check=True,
            )
            walls.append(time.perf_counter() - t0)
        v = statistics.median(walls)
        row("ivcrush --version (median of 7)", f"{v * 1000:.0f} ms", "< 300 ms", v < 0.3)

        # 5. Tradier's 120/min window
        if not args.quick:
            window_runs(srv, fresh, env, as_of, row)
    finally:
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
