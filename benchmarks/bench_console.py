"""Console benchmark: key-press-to-frame latency, time to first frame, peak memory.

Targets (console issue): key press to rendered frame p95 < 50 ms with 500 watchlist rows streaming
in; first frame < 1.5 s after launch; peak RSS < 200 MB with the 500 rows loaded. Run:

    .venv/bin/python benchmarks/bench_console.py [--runs 3] [--rows 500] [--presses 200]
        [--stream-s 1.5] [--json]

Every measurement runs in a fresh interpreter (a child process of this script), so imports count
and RSS is per scenario. Children (all headless, 120x40, XDG_* dirs in a temporary folder, no API
credentials in the environment, so the default backend is the in-process demo market):

  startup-fake  `IvCrushApp(FakeBackend)` with `--rows` synthetic names whose results stream in
                over `--stream-s` seconds (`App.run_async(headless=True)`). Reports the time from
                just before the parent spawned the process to the first WatchlistScreen frame, to
                the first filled row, to all rows filled, and ru_maxrss once all rows are shown.
  startup-demo  `IvCrushApp()`: the real default backend (engine, SQLite store, demo market), its
                first-run seeded watchlist (depends on today's date). Same figures.
  latency       `IvCrushApp(FakeBackend)` under `App.run_test()` with the same streaming rows.
                Keys (down, pagedown/pageup, up, s) are injected the way Pilot injects them
                (`driver.send_message(events.Key)`), `--presses` times, 0-30 ms apart, first while
                the rows stream in and then after the scan. Per key it records:
                  t0      just before the Key event is posted;
                  handled when the binding's action returned (`App.run_action` wrapped);
                  frame   the first frame that started after the action returned: the Screen's
                          compositor update reaching `App._display` (wrapped), after we also turn
                          it into the terminal byte string (`render_segments`) as a real driver
                          would, since the headless driver skips that step. The write to the
                          terminal itself is not included.
                latency = frame end - t0, which includes Textual's 60 fps update timer (up to
                ~17 ms between a refresh request and the frame) and any flush of streamed rows
                that happens to run in between.
                Also, as a cross-check, `await pilot.press(k); await pilot.pause()` wall time for
                50 more keys: Pilot's idle detection sleeps at least 20 ms per call (two calls per
                key), so that figure is an upper bound of what a user sees, not the target metric.
                ru_maxrss at the end (500 rows + all key presses) is the memory figure.

The synthetic names are built like `tests/ui/fake_backend.py` builds its scripts (`Script` +
`build_analysis`), seeded, with ~2 % error results; result delays are quantised to 10 ms, so
results land in bursts as they do from the engine's concurrent scan. As in the console, where
the engine runs on its own thread (`EngineBackend` over `EngineThread`), the fake's scan runs on
an `EngineThread`: each result (~0.5 ms to build) is built there, on the same timetable, and
streamed to the app's loop through the same bridge; only the app's own work stays on its loop.
"""

from __future__ import annotations

import time

_T_SCRIPT = time.monotonic()  # interpreter up, before any heavy import

import argparse  # noqa: E402 - the timestamp above must come first
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _bytecode import compile_package  # noqa: E402 - beside this script
from _console_probe import (  # noqa: E402 - beside this script
    FrameProbe,
    filled_rows,
    make_backend,
    maxrss_mb,
)

if TYPE_CHECKING:
    pass

SIZE = (120, 40)  # overridden by --size
RESULT_TAG = "BENCH_RESULT "
TARGET_P95_MS = 50.0
TARGET_FIRST_FRAME_S = 1.5
TARGET_RSS_MB = 200.0
CHILD_TIMEOUT_S = 180.0


# -- children ------------------------------------------------------------


async def child_startup(kind: str, t_spawn: float, rows: int, stream_s: float) -> dict[str, Any]:
    t_imports = time.monotonic()
    from ivcrush_tui.app.app import IvCrushApp

    backend = make_backend(rows, stream_s) if kind == "fake" else None
    t_app = time.monotonic()
    app = IvCrushApp(backend, refresh_s=3600)
    t_built = time.monotonic()
    out: dict[str, Any] = {"kind": kind}
    marks: dict[str, float] = {}

    def on_frame(end: float) -> None:
        from ivcrush_tui.app.screens.watchlist import WatchlistScreen

        if "first_frame" not in marks and isinstance(app.screen, WatchlistScreen):
            marks["first_frame"] = end
        if "first_frame" not in marks or not app.watchlist_loaded:
            return
        n = len(app.watchlist_symbols)
        filled = filled_rows(app)
        if filled >= 1 and "first_row" not in marks:
            marks["first_row"] = end
        if n and filled >= n and not app.scan_running and "all_rows" not in marks:
            marks["all_rows"] = end
            out["rows"] = n
            out["maxrss_mb"] = maxrss_mb()
            app.call_later(app.exit)

    FrameProbe(app, on_frame)

    def give_up() -> None:
        out["timeout"] = True
        out["rows"] = len(app.watchlist_symbols)
        out["filled"] = filled_rows(app)
        app.exit()

    app.call_later(lambda: app.set_timer(60.0, give_up))
    await app.run_async(headless=True, size=SIZE)
    out["interpreter_s"] = _T_SCRIPT - t_spawn
    out["imports_s"] = t_app - t_imports
    out["build_s"] = t_built - t_app
    for k, v in marks.items():
        out[f"{k}_s"] = v - t_spawn
    out.setdefault("maxrss_mb", maxrss_mb())
    return out


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100.0 * len(s) + 0.5) - 1))
    return s[k]


async def child_latency(rows: int, stream_s: float, presses: int, seed: int) -> dict[str, Any]:
    from textual import events

    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.app.widgets.live_table import LiveTable
    from tests.ui.fake_backend import FakeBackend as FakeBackendType

    rng = random.Random(seed)
    app = IvCrushApp(make_backend(rows, stream_s), refresh_s=3600)
    probe = FrameProbe(app)
    samples: list[dict[str, Any]] = []
    pilot_ms: list[float] = []
    misses = 0
    async with app.run_test(size=SIZE) as pilot:
        # Wait for the watchlist's placeholder rows (the scan starts at the same moment).
        for _ in range(200):
            if app.watchlist_loaded and app.screen.query(LiveTable):
                break
            await asyncio.sleep(0.005)
        table = app.screen.query_one(LiveTable)
        driver = app._driver
        assert driver is not None
        backend = app.backend
        assert isinstance(backend, FakeBackendType)
        cycle = ["down", "pagedown", "up", "s"]
        after_quota = presses // 3  # keys after the first scan; the rest go to streaming scans
        after_done = 0
        for i in range(presses):
            if not app.scan_running and after_done >= after_quota:
                # Another streaming scan, one minute later: entry countdowns and ages change, so
                # rows really update (as on the 60 s refresh).
                backend.advance(60)
                app.start_scan()
                await asyncio.sleep(0.05)
            after_done += not app.scan_running
            key = cycle[i % len(cycle)]
            if key == "pagedown" and table.cursor_row > table.row_count - 40:
                key = "pageup"
            streaming = app.scan_running
            loaded = filled_rows(app)
            probe.action_future = asyncio.get_running_loop().create_future()
            t0 = time.monotonic()
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            driver.send_message(event)
            # Wait for the action, then for the first frame that starts after it.
            try:
                handled = await asyncio.wait_for(probe.action_future, timeout=2.0)
            except TimeoutError:
                misses += 1
                continue
            try:
                end = await asyncio.wait_for(probe.next_frame_after(handled), timeout=1.0)
            except TimeoutError:
                misses += 1  # the key changed nothing visible (e.g. up on the first row)
                continue
            samples.append(
                {
                    "key": key,
                    "streaming": streaming,
                    "rows_loaded": loaded,
                    "handled_ms": (handled - t0) * 1000,
                    "latency_ms": (end - t0) * 1000,
                }
            )
            await asyncio.sleep(rng.uniform(0.0, 0.03))
        while app.scan_running:  # noqa: ASYNC110 - polling the app's own flag is the simplest
            await asyncio.sleep(0.05)
        await pilot.pause()
        for i in range(50):
            key = cycle[i % len(cycle)]
            t0 = time.monotonic()
            await pilot.press(key)
            await pilot.pause()
            pilot_ms.append((time.monotonic() - t0) * 1000)
        rows_shown = filled_rows(app)
        frames = len(probe.frames)
        frame_ms = [(e - s) * 1000 for s, e in probe.frames]
    return {
        "kind": "latency",
        "samples": samples,
        "misses": misses,
        "pilot_ms": pilot_ms,
        "rows_shown": rows_shown,
        "frames": frames,
        "frame_p50_ms": pct(frame_ms, 50),
        "frame_p95_ms": pct(frame_ms, 95),
        "frame_max_ms": max(frame_ms),
        "maxrss_mb": maxrss_mb(),
    }


# -- parent --------------------------------------------------------------


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    t_spawn = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args, "--t-spawn", repr(t_spawn)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result: dict[str, Any] = json.loads(line[len(RESULT_TAG) :])
            return result
    raise RuntimeError(
        f"child {args} failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def child_env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    }
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = tmp / var.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    return env


def lat_stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "max": max(values)}


def one_run(opts: argparse.Namespace, run: int) -> dict[str, Any]:
    common = ["--rows", str(opts.rows), "--stream-s", str(opts.stream_s), "--size", opts.size]
    with tempfile.TemporaryDirectory(prefix="ivcrush-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        fake = run_child(["--child", "startup-fake", *common], child_env(tmp / "fake"))
        demo = run_child(["--child", "startup-demo", *common], child_env(tmp / "demo"))
        lat = run_child(
            ["--child", "latency", *common, "--presses", str(opts.presses), "--seed", str(run)],
            child_env(tmp / "lat"),
        )
    samples = lat["samples"]
    return {
        "run": run,
        "startup_fake": fake,
        "startup_demo": demo,
        "latency": {
            "all": lat_stats([s["latency_ms"] for s in samples]),
            "streaming": lat_stats([s["latency_ms"] for s in samples if s["streaming"]]),
            "after": lat_stats([s["latency_ms"] for s in samples if not s["streaming"]]),
            "handled": lat_stats([s["handled_ms"] for s in samples]),
            "by_key": {
                k: lat_stats([s["latency_ms"] for s in samples if s["key"] == k])
                for k in sorted({s["key"] for s in samples})
            },
            "pilot": lat_stats(lat["pilot_ms"]),
            "misses": lat["misses"],
            "frames": lat["frames"],
            "frame_ms": {
                "p50": lat["frame_p50_ms"],
                "p95": lat["frame_p95_ms"],
                "max": lat["frame_max_ms"],
            },
            "rows_shown": lat["rows_shown"],
            "maxrss_mb": lat["maxrss_mb"],
        },
    }


def _ok(value: float, target: float) -> str:
    return "PASS" if value == value and value < target else "FAIL"


def print_run(r: dict[str, Any], rows: int) -> None:
    f, d, lat = r["startup_fake"], r["startup_demo"], r["latency"]
    a = lat["all"]
    rss = max(f["maxrss_mb"], lat["maxrss_mb"])
    print(f"\n== run {r['run']} ==")
    print(f"{'target':<52} {'figure':>28}  result")
    lines = [
        (
            f"key->frame p95 < {TARGET_P95_MS:.0f} ms ({a['n']} keys, {rows} rows)",
            f"p50 {a['p50']:.1f} / p95 {a['p95']:.1f} / max {a['max']:.1f} ms",
            _ok(a["p95"], TARGET_P95_MS),
        ),
        (
            "  while streaming",
            f"n {lat['streaming']['n']}: p50 {lat['streaming']['p50']:.1f} / p95 "
            f"{lat['streaming']['p95']:.1f} ms",
            _ok(lat["streaming"]["p95"], TARGET_P95_MS),
        ),
        (
            "  after the scan",
            f"n {lat['after']['n']}: p50 {lat['after']['p50']:.1f} / p95 "
            f"{lat['after']['p95']:.1f} ms",
            _ok(lat["after"]["p95"], TARGET_P95_MS),
        ),
        (
            f"first frame < {TARGET_FIRST_FRAME_S} s (FakeBackend, {rows} rows)",
            f"{f.get('first_frame_s', float('nan')):.3f} s",
            _ok(f.get("first_frame_s", float("nan")), TARGET_FIRST_FRAME_S),
        ),
        (
            f"first frame < {TARGET_FIRST_FRAME_S} s (default backend, demo)",
            f"{d.get('first_frame_s', float('nan')):.3f} s",
            _ok(d.get("first_frame_s", float("nan")), TARGET_FIRST_FRAME_S),
        ),
        (
            f"peak RSS < {TARGET_RSS_MB:.0f} MB ({rows} rows loaded)",
            f"{rss:.1f} MB",
            _ok(rss, TARGET_RSS_MB),
        ),
    ]
    for target, figure, res in lines:
        print(f"{target:<52} {figure:>28}  {res}")
    print("details:")
    for k, s in lat["by_key"].items():
        print(
            f"  key {k:<9} n {s['n']:>3}  p50 {s['p50']:6.1f}  p95 {s['p95']:6.1f}  "
            f"max {s['max']:6.1f} ms"
        )
    h, p = lat["handled"], lat["pilot"]
    print(f"  key->action returned   p50 {h['p50']:.1f}  p95 {h['p95']:.1f}  max {h['max']:.1f} ms")
    fm = lat["frame_ms"]
    print(
        f"  frame cost (compose+segments) p50 {fm['p50']:.1f}  p95 {fm['p95']:.1f}  "
        f"max {fm['max']:.1f} ms over {lat['frames']} frames; {lat['misses']} keys without a frame"
    )
    print(
        f"  pilot press+pause ({p['n']} keys)  p50 {p['p50']:.1f}  p95 {p['p95']:.1f}  "
        f"max {p['max']:.1f} ms"
    )
    for name, x in (("fake", f), ("demo", d)):
        rows_txt = f"{x.get('rows', '?')} rows"
        print(
            f"  startup {name}: interpreter {x['interpreter_s']:.3f} s, imports "
            f"{x['imports_s']:.3f} s, app built {x['build_s']:.3f} s, first frame "
            f"{x.get('first_frame_s', float('nan')):.3f} s, "
            f"first row {x.get('first_row_s', float('nan')):.3f} s, all {rows_txt} "
            f"{x.get('all_rows_s', float('nan')):.3f} s, RSS {x['maxrss_mb']:.1f} MB"
            + (" (TIMEOUT)" if x.get("timeout") else "")
        )
    print(f"  RSS: startup-fake {f['maxrss_mb']:.1f} MB, latency child {lat['maxrss_mb']:.1f} MB")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--stream-s", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object per run")
    ap.add_argument("--child", choices=("startup-fake", "startup-demo", "latency"))
    ap.add_argument("--t-spawn", type=float, default=0.0)
    ap.add_argument("--size", default="120x40", help="terminal COLSxROWS (default 120x40)")
    opts = ap.parse_args(argv)
    if opts.child is None:
        compile_package()
    global SIZE
    cols, rows_ = opts.size.lower().split("x")
    SIZE = (int(cols), int(rows_))
    if opts.child is not None:
        if opts.child == "latency":
            res = asyncio.run(child_latency(opts.rows, opts.stream_s, opts.presses, opts.seed))
        else:
            kind = opts.child.removeprefix("startup-")
            res = asyncio.run(child_startup(kind, opts.t_spawn, opts.rows, opts.stream_s))
        print(RESULT_TAG + json.dumps(res), flush=True)
        return 0
    results = []
    for run in range(1, opts.runs + 1):
        r = one_run(opts, run)
        results.append(r)
        if opts.json:
            print(json.dumps(r))
        else:
            print_run(r, opts.rows)
    if len(results) > 1 and not opts.json:
        p95s = [r["latency"]["all"]["p95"] for r in results]
        ff = [r["startup_fake"].get("first_frame_s", float("nan")) for r in results]
        rss = [max(r["startup_fake"]["maxrss_mb"], r["latency"]["maxrss_mb"]) for r in results]
        print(
            f"\nover {len(results)} runs: key->frame p95 median {statistics.median(p95s):.1f} ms, "
            f"first frame median {statistics.median(ff):.3f} s, peak RSS max {max(rss):.1f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
