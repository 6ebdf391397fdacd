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
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _bytecode import compile_package  # noqa: E402 - beside this script

if TYPE_CHECKING:
    from textual.app import App

    from ivcrush_tui.app.app import IvCrushApp
    from tests.ui.fake_backend import FakeBackend

SIZE = (120, 40)  # overridden by --size
RESULT_TAG = "BENCH_RESULT "
TARGET_P95_MS = 50.0
TARGET_FIRST_FRAME_S = 1.5
TARGET_RSS_MB = 200.0
CHILD_TIMEOUT_S = 180.0


# -- synthetic watchlist ------------------------------------------------------------------------


def synthetic_symbols(n: int) -> list[str]:
    """`n` distinct valid tickers: A..Z, then AA, AB, ... (deterministic)."""
    out: list[str] = []
    length = 1
    while len(out) < n:
        for i in range(26**length):
            name, x = "", i
            for _ in range(length):
                name = chr(65 + x % 26) + name
                x //= 26
            out.append("X" + name)  # "X" prefix: never collides with the hand-written scripts
            if len(out) == n:
                break
        length += 1
    return out


def make_backend(rows: int, stream_s: float, seed: int = 7) -> FakeBackend:
    """A FakeBackend with `rows` scripted names whose results arrive over `stream_s` seconds,
    built on an engine thread (see the module docstring)."""
    import datetime as dt
    import functools
    from collections.abc import AsyncIterator

    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.analytics.liquidity import LiquidityTier
    from ivcrush_tui.analytics.recommendation import Action
    from ivcrush_tui.analytics.skew import SkewShape
    from ivcrush_tui.app.engine_thread import EngineThread
    from ivcrush_tui.domain import Timing
    from tests.ui.fake_backend import FIXED_NOW, FakeBackend, FakeStore, Script

    class ThreadedFakeBackend(FakeBackend):
        """The fake's scan on its own thread and loop, bridged like `EngineBackend.scan`."""

        engine_thread: EngineThread | None = None

        async def start(self) -> None:
            self.engine_thread = EngineThread("bench-engine")
            self.engine_thread.start()
            await super().start()

        async def stop(self) -> None:
            if self.engine_thread is not None:
                await self.engine_thread.stop()
            await super().stop()

        def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
            assert self.engine_thread is not None
            return self.engine_thread.stream(functools.partial(super().scan, tuple(symbols)))

    rng = random.Random(seed)
    backend = FakeBackend()  # only for its calendar
    cal = backend.calendar
    day = FIXED_NOW.date()
    sessions: list[dt.date] = []
    while len(sessions) < 12:
        day = day.fromordinal(day.toordinal() + 1)
        if cal.is_session(day):
            sessions.append(day)
    symbols = synthetic_symbols(rows)
    scripts: dict[str, Script] = {}
    failures: dict[str, tuple[str, str]] = {}
    for sym in symbols:
        if rng.random() < 0.02:
            failures[sym] = ("provider_5xx", "tradier answered 503 (3 attempts)")
        n_events = 3 if rng.random() < 0.05 else rng.choice((6, 8, 12))
        closes = tuple(
            round(rng.uniform(1.0, 9.0) * rng.choice((1, -1)), 2) for _ in range(n_events)
        )
        gaps = tuple(round(c * rng.uniform(0.7, 1.0), 2) for c in closes)
        mean_abs = sum(abs(c) for c in closes) / n_events
        scripts[sym] = Script(
            symbol=sym,
            name=f"Synthetic {sym} Corp",
            spot=round(rng.uniform(8.0, 900.0), 2),
            event_day=rng.choice(sessions),
            timing=rng.choice((Timing.AMC, Timing.BMO, Timing.BMO, Timing.AMC, Timing.UNKNOWN)),
            implied_pct=round(mean_abs * rng.uniform(0.6, 2.6), 2),
            closes=closes,
            gaps=gaps,
            liquidity=rng.choice(list(LiquidityTier)),
            shape=rng.choice((SkewShape.SMIRK, SkewShape.SMILE, SkewShape.FROWN)),
            action=rng.choice((Action.SELL, Action.WATCH, Action.SKIP)),
        )
    # 10 ms buckets: results land in bursts, as they do from the engine's concurrent scan.
    delays = {s: round(rng.uniform(0.01, stream_s), 2) for s in symbols}
    return ThreadedFakeBackend(
        FakeStore(watchlist=list(symbols)), scripts=scripts, delays=delays, failures=failures
    )


# -- frame probe ----------------------------------------------------------------------------------


class FrameProbe:
    """Wraps `app._display` (every compositor update of the top screen, headless or not) and
    `app.run_action` (every binding's action) with timestamps."""

    def __init__(self, app: App[Any], on_frame: Callable[[float], None] | None = None) -> None:
        from textual._compositor import CompositorUpdate
        from textual.screen import Screen

        self.app = app
        self.frames: list[tuple[float, float]] = []  # (start, end) monotonic
        self.first_frame: float | None = None
        self.first_frame_screen: str | None = None
        self.action_done: float | None = None
        self.action_waiters: list[tuple[float, asyncio.Future[float]]] = []
        self.action_future: asyncio.Future[float] | None = None
        self._on_frame = on_frame
        self._tick_start: float | None = None
        display = app._display
        run_action = app.run_action
        probe = self
        tick = Screen._on_timer_update
        if not getattr(tick, "_bench_wrapped", False):

            def _on_timer_update(screen: Screen[Any]) -> None:
                # A frame starts at the update timer: layout, widget renders, compositor.
                probe_ = getattr(screen.app, "_bench_probe", None)
                if probe_ is not None:
                    probe_._tick_start = time.monotonic()
                tick(screen)

            _on_timer_update._bench_wrapped = True  # type: ignore[attr-defined]
            setattr(Screen, "_on_timer_update", _on_timer_update)  # noqa: B010
        setattr(app, "_bench_probe", probe)  # noqa: B010

        def _display(screen: Any, renderable: Any) -> None:
            start = self._tick_start if self._tick_start is not None else time.monotonic()
            self._tick_start = None
            display(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)  # what a real driver would write
            end = time.monotonic()
            self.frames.append((start, end))
            if self.first_frame is None:
                self.first_frame = end
                self.first_frame_screen = type(screen).__name__
            still: list[tuple[float, asyncio.Future[float]]] = []
            for after, fut in self.action_waiters:
                if start >= after and not fut.done():
                    fut.set_result(end)
                elif not fut.done():
                    still.append((after, fut))
            self.action_waiters = still
            if self._on_frame is not None:
                self._on_frame(end)

        async def _run_action(*args: Any, **kwargs: Any) -> bool:
            result: bool = await run_action(*args, **kwargs)
            self.action_done = time.monotonic()
            if self.action_future is not None and not self.action_future.done():
                self.action_future.set_result(self.action_done)
            return result

        setattr(app, "_display", _display)  # noqa: B010 - instance override of a method
        setattr(app, "run_action", _run_action)  # noqa: B010

    def next_frame_after(self, t: float) -> asyncio.Future[float]:
        """The end of the first frame whose tick started at or after `t`, including one drawn
        already: the frame can come before the caller, woken by the action's end, asks."""
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        first: float | None = None
        for start, end in reversed(self.frames):  # in drawing order: the earliest one is last
            if start < t:
                break
            first = end
        if first is not None:
            fut.set_result(first)
        else:
            self.action_waiters.append((t, fut))
        return fut


def filled_rows(app: IvCrushApp) -> int:
    """Rows showing a result (not a placeholder) on the watchlist screen."""
    from ivcrush_tui.app.screens.watchlist import WatchlistScreen

    screen = app.screen
    if not isinstance(screen, WatchlistScreen):
        return 0
    waiting = sum(1 for a in screen.pending.values() if a is not None)
    return sum(1 for s in app.watchlist_symbols if s in app.results) - waiting


def maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


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
