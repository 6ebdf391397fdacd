"""Load benchmark: whole scans over real loopback sockets against the demo market's HTTP server.

Scenarios (cold cache, each in its own temporary store):
  scan-50        one scan of 50 tickers
  scan-100       one scan of 100 requested tickers (the demo universe has 80 names: the rest
                 are duplicates the engine drops, as it would in real use)
  concurrent-10  10 scanners at once, separate runtimes on one database, 10 tickers each
Each prints the wall time, tickers per second, outcomes, the requests the server counted, and the
latency per operation (count, mean, p50, p95, p99 in ms) from Guard.stats.operations().

    .venv/bin/python benchmarks/bench_load.py [--latency-ms 40] [--jitter-ms 20]
        [--error-rate 0.0] [--scenario scan-50 --scenario concurrent-10] [--json]

The server applies the latency per request. By default its Tradier window is very wide and
advertised in X-Ratelimit-* headers, which the client's limiter adopts: the benchmark measures the
engine, not the 60 s window. `--tradier-limit-per-min 120` reproduces a real token's window (a cold
50-ticker scan then waits for a second window: see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.calendar import NY
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import Runtime, open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.resilience.guard import percentile

NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY)
CLOCK = FixedClock(NOW)
SCENARIOS = ("scan-50", "scan-100", "concurrent-10")


def _config(folder: Path, server: DemoServer) -> Settings:
    doc = {
        "tradier": {"token": "bench-token", "base_url": server.tradier_base, "timeout_s": 10.0},
        "alphavantage": {
            "api_key": "bench-key",
            "base_url": server.av_base,
            "max_per_second": 100.0,
            "daily_quota": 1_000_000,
        },
        "resilience": {"backoff_base_s": 0.05, "backoff_max_s": 0.5},
        "storage": {"path": str(folder / "bench.sqlite3"), "log_dir": str(folder / "log")},
    }
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return load_settings(path, {})


async def _scan(rt: Runtime, symbols: Sequence[str]) -> list[Analysis]:
    engine = Engine(rt)
    try:
        return [a async for a in engine.scan(list(symbols), rt.clock.now())]
    finally:
        await engine.aclose()


@dataclasses.dataclass
class Result:
    scenario: str
    tickers: int
    wall_s: float
    outcomes: dict[str, int]
    requests: int
    operations: dict[str, dict[str, float | int | None]]

    @property
    def per_s(self) -> float:
        return self.tickers / self.wall_s if self.wall_s > 0 else 0.0


def _merge_ops(runtimes: Sequence[Runtime]) -> dict[str, dict[str, float | int | None]]:
    """Per-operation latency over all runtimes' guards (raw samples merged, then summarised)."""
    samples: dict[str, list[float]] = {}
    counts: Counter[str] = Counter()
    for rt in runtimes:
        for provider, guard in rt.guards.items():
            stats = guard.stats
            for name, summary in stats.operations().items():
                key = f"{provider}.{name}"
                counts[key] += summary.count
                samples.setdefault(key, []).extend(stats.endpoint_latencies_ms(name))
    out: dict[str, dict[str, float | int | None]] = {}
    for key in sorted(samples):
        data = samples[key]
        out[key] = {
            "count": counts[key],
            "mean_ms": sum(data) / len(data) if data else None,
            "p50_ms": percentile(data, 50),
            "p95_ms": percentile(data, 95),
            "p99_ms": percentile(data, 99),
        }
    return out


async def run_scenario(name: str, server: DemoServer, market: DemoMarket) -> Result:
    universe = list(market.symbols)
    with tempfile.TemporaryDirectory(prefix="ivcrush-bench-") as tmp:
        settings = _config(Path(tmp), server)
        server.reset_counters()
        t0 = time.perf_counter()
        if name.startswith("scan-"):
            n = int(name.split("-")[1])
            wanted = [universe[i % len(universe)] for i in range(n)]
            async with open_runtime(settings, CLOCK) as rt:
                results = await _scan(rt, wanted)
                wall = time.perf_counter() - t0
                ops = _merge_ops([rt])
        else:
            runtimes: list[Runtime] = []

            async def one(i: int) -> list[Analysis]:
                async with open_runtime(settings, CLOCK) as rt:
                    runtimes.append(rt)
                    names = universe[(i * 7) % 70 : (i * 7) % 70 + 10]
                    return await _scan(rt, names)

            batches = await asyncio.gather(*(one(i) for i in range(10)))
            wall = time.perf_counter() - t0
            results = [a for b in batches for a in b]
            ops = _merge_ops(runtimes)
    return Result(
        scenario=name,
        tickers=len(results),
        wall_s=wall,
        outcomes=dict(Counter(a.status.value for a in results)),
        requests=sum(server.request_counts.values()),
        operations=ops,
    )


def _fmt(x: float | int | None) -> str:
    return "-" if x is None else f"{x:.1f}" if isinstance(x, float) else str(x)


def print_result(r: Result) -> None:
    print(
        f"\n{r.scenario}: {r.tickers} tickers in {r.wall_s:.2f} s ({r.per_s:.1f}/s), "
        f"{r.requests} requests, outcomes {r.outcomes}"
    )
    print(f"  {'operation':<34}{'count':>7}{'mean':>9}{'p50':>9}{'p95':>9}{'p99':>9}  (ms)")
    for name, s in r.operations.items():
        cells = [_fmt(s[k]) for k in ("count", "mean_ms", "p50_ms", "p95_ms", "p99_ms")]
        print(f"  {name:<34}{cells[0]:>7}" + "".join(f"{c:>9}" for c in cells[1:]))


async def main_async(args: argparse.Namespace) -> list[Result]:
    market = DemoMarket(NOW.date())
    faults = FaultConfig(
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        error_rate=args.error_rate,
        tradier_limit_per_min=args.tradier_limit_per_min,
        seed=1,
    )
    results = []
    with DemoServer(market, faults, lambda: NOW.astimezone(dt.UTC)) as server:
        for name in args.scenario or SCENARIOS:
            results.append(await run_scenario(name, server, market))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--latency-ms", type=float, default=40.0)
    ap.add_argument("--jitter-ms", type=float, default=20.0)
    ap.add_argument("--error-rate", type=float, default=0.0)
    ap.add_argument("--tradier-limit-per-min", type=int, default=100_000)
    ap.add_argument("--scenario", action="append", choices=SCENARIOS)
    ap.add_argument("--json", action="store_true", help="one JSON object per scenario")
    args = ap.parse_args(argv)
    print(
        f"server latency {args.latency_ms:g} ms + up to {args.jitter_ms:g} ms jitter, "
        f"error rate {args.error_rate:g}",
        file=sys.stderr,
    )
    results = asyncio.run(main_async(args))
    for r in results:
        if args.json:
            row: dict[str, Any] = dataclasses.asdict(r) | {"tickers_per_s": r.per_s}
            print(json.dumps(row))
        else:
            print_result(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
