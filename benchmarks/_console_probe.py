"""bench_console's instruments, apart from its scenarios: the synthetic streaming watchlist (a
FakeBackend on an engine thread), the frame probe that timestamps actions and frames, and the
filled-row and peak-RSS readings. Imported by bench_console.py from beside it (heavy imports stay
inside the functions, so a child's startup time is measured as before)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    from ivcrush_tui.app.app import IvCrushApp
    from tests.ui.fake_backend import FakeBackend


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
