"""Record, then replay: the engine records a scan of the demo market behind a real loopback
server (live mode over real sockets), and the console replays it with Pilot: the rows appear,
the clock follows the recording, the drill-down opens, edits are refused, and the server sees
no request at all while the replay runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.replay_backend import READ_ONLY, ReplayBackend, ReplayClock
from ivcrush_tui.app.screens.ticker import TickerScreen
from ivcrush_tui.app.widgets.status_bar import StatusBar
from ivcrush_tui.engine.clock import SteppedClock
from ivcrush_tui.engine.recorder import Recorder
from ivcrush_tui.engine.replay import Recording, load_recording
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from tests.integration.test_engine import DAY, INSIDE, LATER, settings_for
from tests.ui.test_app import settle, table_order, text_of, watchlist

NAMES = ["AAPL", "MSFT", "NVDA"]
SPEED = 60.0


class Mono:
    """An injected monotonic clock (seconds)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server() -> Iterator[DemoServer]:
    clock = SteppedClock(INSIDE)
    with DemoServer(DemoMarket(DAY), FaultConfig(tradier_limit_per_min=None), clock.now) as srv:
        srv.test_clock = clock  # type: ignore[attr-defined]
        yield srv


async def _record(server: DemoServer, tmp_path: Path) -> tuple[Recording, list[Analysis]]:
    """Two scans of NAMES, at 15:30 and 15:45 ET, recorded; the day's recording loaded."""
    clock: SteppedClock = server.test_clock  # type: ignore[attr-defined]
    made: list[Analysis] = []
    async with open_runtime(settings_for(server, tmp_path), clock) as rt:
        engine = Engine(rt)
        recorder = Recorder.for_runtime(rt)
        engine.record_with(recorder)
        try:
            for at in (INSIDE, LATER):
                clock.set(at)
                made += [a async for a in engine.scan(NAMES, at)]
        finally:
            await recorder.close()
            await engine.aclose()
        return await load_recording(rt.db, DAY), made


async def test_the_console_replays_a_recorded_window_without_a_request(
    server: DemoServer, tmp_path: Path
) -> None:
    recording, made = await _record(server, tmp_path)
    assert recording.symbols == tuple(sorted(NAMES, key=lambda s: recording.symbols.index(s)))
    assert set(recording.symbols) == set(NAMES)
    assert recording.start == INSIDE
    assert recording.end >= LATER
    # The stock quotes and each analysis's ATM legs were recorded as quotes too.
    quoted = recording.quoted_symbols()
    assert set(NAMES) <= set(quoted)
    assert len(quoted) >= 3 * len(NAMES)
    (q, *_) = recording.quotes("MSFT", INSIDE, LATER)
    assert q.at == INSIDE
    assert q.bid is not None
    later = {a.symbol: a for a in made if a.as_of == LATER}
    first = {a.symbol: a for a in made if a.as_of == INSIDE}
    server.reset_counters()

    mono = Mono()
    clock = ReplayClock(recording.start, recording.end, speed=SPEED, monotonic=mono)
    backend = ReplayBackend(recording, demo=False, clock=clock)
    app = IvCrushApp(backend, refresh_s=3600, entry_window_refresh_s=3600)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        # The rows appear, as recorded at the first instant.
        assert set(table_order(app)) == set(NAMES)
        assert watchlist(app).cells_for("MSFT")["rec"]
        assert {s: app.results[s] for s in NAMES} == first
        bar = app.screen.query_one(StatusBar)
        bar.refresh_status()
        line = text_of(bar)
        assert f"REPLAY {DAY.isoformat()} 60×" in line
        assert "15:30:00 ET" in line  # the recorded time, not the wall clock
        assert "DEMO" not in line
        assert " LIVE " not in line

        # 15 recorded minutes pass in 15 real seconds at 60×: the rows follow the recording.
        mono.t += 15.0
        assert backend.now() == LATER
        app.start_scan()
        await settle(app, pilot)
        assert {s: app.results[s] for s in NAMES} == later
        bar.refresh_status()
        assert "15:45:00 ET" in text_of(bar)
        mono.t += 3600.0
        assert backend.now() == recording.end  # the clock stops at the end of the recording

        # The same drill-down, on the recorded analysis.
        app.open_ticker("MSFT")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        assert screen.symbol == "MSFT"
        texts = " ".join(text_of(w) for w in screen.query(Static))
        assert "MSFT" in texts
        await pilot.press("escape")
        await settle(app, pilot)

        # Read-only: an edit is refused with a clear message, the watchlist unchanged.
        app.add_symbols(["KO"])
        await settle(app, pilot)
        assert READ_ONLY in [n.message for n in app._notifications][-1]
        assert app.watchlist_symbols == recording.symbols
        assert await backend.check_symbol("KO") == READ_ONLY
    # No provider request of any kind while the console replayed.
    assert not any(server.request_counts.values()), server.request_counts
