"""The console with a market stream (issue 14), on the FakeBackend: the status bar says LIVE or
POLL, a streamed re-price updates its watchlist row and the open drill-down without a REST call,
and the timer's rescans leave the streamed names out."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console
from textual.widgets import Static

from ivcrush_tui.app.screens.ticker import TickerScreen
from ivcrush_tui.app.widgets.status_bar import StatusBar
from tests.ui.fake_backend import SCRIPTS, FakeBackend, build_analysis
from tests.ui.test_app import SIZE, make_app, settle, watchlist


def _plain(widget: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def _bar(app: object) -> str:
    bar = app.screen.query_one(StatusBar)  # type: ignore[attr-defined]
    bar.refresh_status()
    return _plain(bar)


async def test_status_bar_says_live_or_poll() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "LIVE 250/s" not in _bar(app)
        assert "POLL" not in _bar(app)  # no stream at all: neither
        fb.stream_mode = "LIVE"
        assert "LIVE 250/s" in _bar(app)
        fb.stream_mode = "POLL"
        text = _bar(app)
        assert "POLL" in text
        assert "250/s" not in text


async def test_a_streamed_reprice_updates_the_row_without_rest() -> None:
    fb = FakeBackend()
    fb.stream_mode = "LIVE"
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        wl = watchlist(app)
        before = wl.cells_for("AAPL")["implied"]
        scans, analyses = len(fb.scan_calls), len(fb.analyze_calls)
        richer = replace(SCRIPTS["AAPL"], implied_pct=9.87)
        fb.push_live(build_analysis(richer, fb.now(), fb.calendar))
        for _ in range(20):
            await pilot.pause(0.05)
            if wl.cells_for("AAPL")["implied"] != before:
                break
        assert wl.cells_for("AAPL")["implied"].strip() == "9.87"
        assert app.live_batches == 1
        assert app.results["AAPL"].implied.implied_move_pct == 9.87  # type: ignore[union-attr]
        assert (len(fb.scan_calls), len(fb.analyze_calls)) == (scans, analyses)


async def test_the_open_drilldown_follows_the_stream() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_ticker("NVDA")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        fetched = screen.fetches
        richer = replace(SCRIPTS["NVDA"], implied_pct=12.34)
        fb.push_live(build_analysis(richer, fb.now(), fb.calendar))
        for _ in range(20):
            await pilot.pause(0.05)
            if "12.34" in _plain(screen.query_one("#straddle", Static)):
                break
        assert "12.34" in _plain(screen.query_one("#straddle", Static))
        assert screen.fetches == fetched  # no REST refresh for it


async def test_timer_rescans_leave_the_streamed_names_out() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        everything = set(app.watchlist_symbols)
        fb.streamed = frozenset({"AAPL", "NVDA"})
        app._timer_scan()
        await settle(app, pilot)
        assert set(fb.scan_calls[-1]) == everything - {"AAPL", "NVDA"}
        calls = len(fb.scan_calls)
        fb.streamed = frozenset(everything)
        app._timer_scan()  # every name streamed: no scan at all, the timer is re-armed
        await settle(app, pilot)
        assert len(fb.scan_calls) == calls


async def test_a_burst_of_reprices_redraws_the_drilldown_a_few_times_latest_last() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_ticker("NVDA")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        shows: list[float] = []
        real_show = screen.show

        def counting(a: object) -> None:
            shows.append(a.implied.implied_move_pct)  # type: ignore[attr-defined]
            real_show(a)  # type: ignore[arg-type]

        screen.show = counting  # type: ignore[method-assign]
        for pct in (11.0, 11.5, 12.0, 12.5, 13.0):
            fb.push_live(
                build_analysis(replace(SCRIPTS["NVDA"], implied_pct=pct), fb.now(), fb.calendar)
            )
            await pilot.pause(0.01)
        await pilot.pause(0.6)
        assert shows[-1] == 13.0  # the latest wins
        assert len(shows) <= 3  # at most one redraw per LIVE_SHOW_INTERVAL_S (+ the first)
        assert "13.00" in _plain(screen.query_one("#straddle", Static))
