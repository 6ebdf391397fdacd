"""Results screen benchmark (issue 13): with 10,000 decisions in a real store, the screen opens in
< 300 ms and key press to frame p95 stays < 50 ms. Run:

    .venv/bin/python benchmarks/bench_results.py [--runs 3] [--decisions 10000] [--presses 150]
        [--json]

The parent fills a temporary demo store with `--decisions` settled decisions (the same rows as
bench_ledger.py), then runs each measurement in a fresh interpreter (a child process of this
script). The child runs the real console (`IvCrushApp` over `EngineBackend`: the engine thread,
the SQLite store, the demo market) headless at 120x40 under `App.run_test()`, waits until the
backend has started and the first watchlist scan has finished, then:

  open     `4` is injected as a Key event (as Pilot does). open = from just before the key is
           posted to the end of the first frame that shows the Results screen with the table
           filled (all decisions listed, the first page drawn) and the summary. Imports of the
           screen's modules, the ledger query and summary on the engine thread, the sort and the
           frame are all inside it. `charts` = the same start to the frame with both charts drawn.
           `cpu` = process CPU time (all threads) over the open.
  keys     `--presses` keys (down, pagedown, up, s, S, end, home, pageup), 0-30 ms apart;
           per key, key posted -> end of the first frame after its action (bench_console.py's
           FrameProbe, which also renders the frame to terminal bytes as a real driver would).
           With --cold the backend's prepared data is dropped first, so the open includes the
           ledger read and summary on the engine thread (a `4` right after start-up).
  reopen   `1` then `4` again: the screen is kept, the ledger is read again; same end condition
           (a frame showing the reloaded data).

Numbers depend on the machine's load: report them with `uptime`'s load average.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bytecode import compile_package  # noqa: E402 - beside this script
from _console_probe import FrameProbe, maxrss_mb  # noqa: E402 - beside this script

SIZE = (120, 40)
RESULT_TAG = "BENCH_RESULT "
TARGET_OPEN_MS = 300.0
TARGET_P95_MS = 50.0
CHILD_TIMEOUT_S = 240.0
KEYS = ("down", "pagedown", "up", "s", "end", "pageup", "S", "home")


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100.0 * len(s) + 0.5) - 1))
    return s[k]


# -- child ---------------------------------------------------------------------------------------


async def _until(cond: Callable[[], bool], limit_s: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > limit_s:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.005)


async def child(folder: Path, n: int, presses: int, seed: int, cold: bool) -> dict[str, Any]:
    from bench_ledger import NOW, _config
    from textual import events

    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.app.engine_backend import EngineBackend
    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.clock import FixedClock

    settings = load_settings(_config(folder), {}, force_demo=True)
    app = IvCrushApp(EngineBackend(settings, FixedClock(NOW)), refresh_s=3600)
    marks: dict[str, float] = {}
    want: dict[str, Any] = {}

    def on_frame(end: float) -> None:
        from ivcrush_tui.app.screens.results import ResultsScreen
        from ivcrush_tui.app.widgets.lazy_table import LazyTable
        from ivcrush_tui.app.widgets.results_charts import ResultsChart

        screen = app.screen
        if not isinstance(screen, ResultsScreen) or "loads" not in want:
            return
        if screen.loads < want["loads"] or screen.data is None:
            return
        table = screen.query_one(LazyTable)
        if table.row_count == n and want["open"] not in marks:
            marks[want["open"]] = end
            marks[want["open"] + "_cpu"] = time.process_time()
        charts = list(screen.query(ResultsChart).results())
        drawn = charts and all(c.data is screen.data and c.builds > 0 for c in charts)
        if want.get("charts") and want["charts"] not in marks and drawn:
            marks[want["charts"]] = end

    probe = FrameProbe(app, on_frame)
    gc_pauses: list[tuple[int, float]] = []
    gc_start: list[float] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_start[:] = [time.perf_counter()]
        elif gc_start:
            gc_pauses.append((info["generation"], (time.perf_counter() - gc_start[0]) * 1000))

    gc.callbacks.append(on_gc)
    rng = random.Random(seed)
    samples: list[dict[str, Any]] = []
    misses = 0
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_ready()
        await _until(lambda: app.scan_count >= 1)
        await pilot.pause()
        driver = app._driver
        assert driver is not None

        def send(key: str) -> None:
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            driver.send_message(event)

        # -- open (cold: the screen's modules are imported on first use) --
        backend = app.backend
        assert isinstance(backend, EngineBackend)
        if cold:  # as if `4` came before the data was prepared (right after start-up)
            backend._results = None
        builds = backend.results_builds
        want.update(loads=1, open="open", charts="charts")
        gc_pauses.clear()  # from the open on
        t0, c0 = time.monotonic(), time.process_time()
        send("4")
        await _until(lambda: "open" in marks and "charts" in marks)
        out["open_ms"] = (marks["open"] - t0) * 1000
        out["charts_ms"] = (marks["charts"] - t0) * 1000
        out["open_cpu_ms"] = (marks["open_cpu"] - c0) * 1000
        out["open_built"] = backend.results_builds - builds  # 0: the data was prepared
        from ivcrush_tui.app.screens.results import ResultsScreen
        from ivcrush_tui.app.widgets.lazy_table import LazyTable

        screen = app.screen
        assert isinstance(screen, ResultsScreen)
        table = screen.query_one(LazyTable)
        out["rows_built_after_open"] = table.built
        await pilot.pause()
        # -- keys --
        for i in range(presses):
            key = KEYS[i % len(KEYS)]
            probe.action_future = asyncio.get_running_loop().create_future()
            t0 = time.monotonic()
            send(key)
            try:
                handled = await asyncio.wait_for(probe.action_future, timeout=2.0)
                end = await asyncio.wait_for(probe.next_frame_after(handled), timeout=1.0)
            except TimeoutError:
                misses += 1
                continue
            samples.append({"key": key, "latency_ms": (end - t0) * 1000})
            await asyncio.sleep(rng.uniform(0.0, 0.03))
        out["rows_built_after_keys"] = table.built
        # -- reopen (warm) --
        send("1")
        await _until(lambda: not isinstance(app.screen, ResultsScreen))
        await pilot.pause()
        want.update(loads=screen.loads + 1, open="reopen", charts=None)
        t0 = time.monotonic()
        send("4")
        await _until(lambda: "reopen" in marks)
        out["reopen_ms"] = (marks["reopen"] - t0) * 1000
    gc.callbacks.remove(on_gc)
    full = [ms for gen, ms in gc_pauses if gen == 2]
    out.update(samples=samples, misses=misses, maxrss_mb=maxrss_mb(), decisions=n)
    out.update(gc_full=len(full), gc_full_max_ms=max(full, default=0.0))
    out["gc_young_max_ms"] = max((ms for gen, ms in gc_pauses if gen < 2), default=0.0)
    return out


# -- parent --------------------------------------------------------------------------------------


def run_child(folder: Path, opts: argparse.Namespace, seed: int) -> dict[str, Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    }
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = folder / var.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    args = [sys.executable, str(Path(__file__).resolve()), "--child", str(folder)]
    args += ["--decisions", str(opts.decisions), "--presses", str(opts.presses)]
    args += ["--seed", str(seed)] + (["--cold"] if opts.cold else [])
    proc = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result: dict[str, Any] = json.loads(line[len(RESULT_TAG) :])
            return result
    print(proc.stderr[-3000:])
    raise RuntimeError(f"child failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}")


def fill(folder: Path, n: int) -> None:
    """`n` settled decisions in the demo store of `folder` (bench_ledger.py's rows)."""
    from bench_ledger import _fill

    asyncio.run(_fill(folder, n))


def _ok(value: float, target: float) -> str:
    return "PASS" if value == value and value < target else "FAIL"


def summarize_run(r: dict[str, Any]) -> dict[str, Any]:
    lat = [s["latency_ms"] for s in r["samples"]]
    by_key = {
        k: pct([s["latency_ms"] for s in r["samples"] if s["key"] == k], 95)
        for k in KEYS
        if any(s["key"] == k for s in r["samples"])
    }
    return {
        "open_ms": r["open_ms"],
        "open_cpu_ms": r["open_cpu_ms"],
        "open_built": r["open_built"],
        "charts_ms": r["charts_ms"],
        "reopen_ms": r["reopen_ms"],
        "key_p50_ms": pct(lat, 50) if lat else float("nan"),
        "key_p95_ms": pct(lat, 95) if lat else float("nan"),
        "key_max_ms": max(lat) if lat else float("nan"),
        "keys": len(lat),
        "misses": r["misses"],
        "p95_by_key": by_key,
        "rows_built_after_open": r["rows_built_after_open"],
        "rows_built_after_keys": r["rows_built_after_keys"],
        "maxrss_mb": r["maxrss_mb"],
        "decisions": r["decisions"],
        "gc_full": r["gc_full"],
        "gc_full_max_ms": r["gc_full_max_ms"],
        "gc_young_max_ms": r["gc_young_max_ms"],
        "slowest": sorted(r["samples"], key=lambda x: -x["latency_ms"])[:5],
    }


def print_run(i: int, s: dict[str, Any]) -> None:
    print(f"\n== run {i} ({s['decisions']:,} decisions, load average {os.getloadavg()[0]:.2f}) ==")
    print(
        f"open (key 4 -> table + summary drawn) {s['open_ms']:7.1f} ms  (cpu {s['open_cpu_ms']:.1f}"
        f" ms; built on open: {s['open_built']}; target < {TARGET_OPEN_MS:.0f})"
        f"  {_ok(s['open_ms'], TARGET_OPEN_MS)}"
    )
    print(f"  charts drawn                       {s['charts_ms']:7.1f} ms")
    print(f"  reopen (1 then 4, ledger re-read)  {s['reopen_ms']:7.1f} ms")
    print(
        f"key -> frame ({s['keys']} keys, {s['misses']} without a frame): p50"
        f" {s['key_p50_ms']:.1f} / p95 {s['key_p95_ms']:.1f} / max {s['key_max_ms']:.1f} ms"
        f" (target p95 < {TARGET_P95_MS:.0f})  {_ok(s['key_p95_ms'], TARGET_P95_MS)}"
    )
    print("  p95 by key: " + ", ".join(f"{k} {v:.1f}" for k, v in s["p95_by_key"].items()))
    print(
        f"  rows built: {s['rows_built_after_open']} after the open,"
        f" {s['rows_built_after_keys']} after the keys; peak RSS {s['maxrss_mb']:.1f} MB"
    )
    print(
        f"  GC: {s['gc_full']} full collections (max {s['gc_full_max_ms']:.1f} ms), young max"
        f" {s['gc_young_max_ms']:.1f} ms; slowest keys: "
        + ", ".join(f"{x['key']} {x['latency_ms']:.0f}" for x in s["slowest"])
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--decisions", type=int, default=10_000)
    ap.add_argument("--presses", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="one JSON object per run")
    ap.add_argument(
        "--cold",
        action="store_true",
        help="drop the backend's prepared data before the open (the ledger is read on `4`)",
    )
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child is not None:
        res = asyncio.run(child(opts.child, opts.decisions, opts.presses, opts.seed, opts.cold))
        print(RESULT_TAG + json.dumps(res), flush=True)
        return 0
    compile_package()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ivcrush-bench-results-") as tmp:
        folder = Path(tmp)
        fill(folder, opts.decisions)
        for i in range(1, opts.runs + 1):
            s = summarize_run(run_child(folder, opts, opts.seed + i))
            runs.append(s)
            if opts.json:
                print(json.dumps({"run": i, **s}))
            else:
                print_run(i, s)
    if len(runs) > 1 and not opts.json:
        print(
            f"\nover {len(runs)} runs: open median"
            f" {statistics.median(r['open_ms'] for r in runs):.1f} ms, key p95 median"
            f" {statistics.median(r['key_p95_ms'] for r in runs):.1f} ms"
            f" (load average now {os.getloadavg()[0]:.2f}; at {dt.datetime.now(dt.UTC):%H:%M} UTC)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
