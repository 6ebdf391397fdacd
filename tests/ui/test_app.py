"""Pilot tests of the console against the deterministic FakeBackend (no network, frozen clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import pytest
from rich.console import Console
from textual.command import Hit
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import WorkerState

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.analytics.recommendation import Action
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.backend import PREF_SORT_COLUMN, PREF_SORT_DIR, PREF_THEME, Backend
from ivcrush_tui.app.screens import watchlist as watchlist_module
from ivcrush_tui.app.screens.calendar import CalendarScreen
from ivcrush_tui.app.screens.health import ComponentCard, HealthScreen
from ivcrush_tui.app.screens.help import HelpScreen
from ivcrush_tui.app.screens.modals import AddTickerModal, ConfirmModal
from ivcrush_tui.app.screens.ticker import LIVE_SHOW_INTERVAL_S, TickerScreen
from ivcrush_tui.app.screens.watchlist import WatchlistScreen
from ivcrush_tui.app.widgets.charts import HistoryChart, SkewChart, TermChart
from ivcrush_tui.app.widgets.live_table import LiveTable
from ivcrush_tui.config import AlertRule, AlertSettings, RuleKind
from ivcrush_tui.domain import EarningsEvent
from ivcrush_tui.engine.health_model import HealthReport
from tests.ui.fake_backend import SCRIPTS, FakeBackend, FakeStore

SIZE = (120, 40)


def make_app(backend: FakeBackend | None = None, **kw: object) -> IvCrushApp:
    app = IvCrushApp(backend or FakeBackend(), refresh_s=3600, **kw)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def settle(app: IvCrushApp, pilot: Pilot[None]) -> None:
    """Let every worker finish and every posted message be handled."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def watchlist(app: IvCrushApp) -> WatchlistScreen:
    screen = app.screen
    assert isinstance(screen, WatchlistScreen), type(screen).__name__
    return screen


def showing(app: IvCrushApp, kind: type[Screen[Any]]) -> bool:
    """Whether the active screen is a `kind` (a function, so the type checker does not narrow
    `app.screen` for the rest of the test)."""
    return isinstance(app.screen, kind)


def ticker_symbol(app: IvCrushApp) -> str:
    screen = app.screen
    assert isinstance(screen, TickerScreen)
    return screen.symbol


def table_order(app: IvCrushApp) -> list[str]:
    return app.screen.query_one(LiveTable).row_keys()


def text_of(widget: Static, width: int = 200) -> str:
    """The plain text a Static shows (str, Rich Text or any Rich renderable)."""
    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


async def test_startup_fills_every_row_sorted_by_vrp() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert fb.started
        wl = watchlist(app)
        assert table_order(app) == ["AAPL", "NVDA", "AMZN", "MSFT", "TSLA"]  # VRP desc
        aapl = wl.cells_for("AAPL")
        assert aapl["vrp"] == "◆2.19 "
        assert wl.cells_for("MSFT")["vrp"] == "◇1.31*"  # tiered on the straddle VRP
        assert aapl["tier"] == "excellent"
        assert aapl["rec"] == "SELL"
        assert aapl["earnings"] == "11-24 AMC"
        assert aapl["entry"] == "1d00h"  # Tue 15:00 ET from Mon 14:30 ET
        assert wl.cells_for("NVDA")["entry"] == "30m"
        assert wl.cells_for("AMZN")["tier"] == "3 evts"  # insufficient history: not scored
        assert wl.cells_for("TSLA")["vrp"] == "▽0.79 "
        assert "sorted by VRP ▼" in text_of(app.screen.query_one("#title", Static))
    assert fb.stopped


async def test_rows_show_a_placeholder_until_their_result_arrives() -> None:
    fb = FakeBackend()
    gate = asyncio.Event()
    fb.gates["TSLA"] = gate
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            await pilot.pause()
        wl = watchlist(app)
        wl.flush()
        assert wl.cells_for("TSLA")["vrp"] == "…"
        assert wl.cells_for("AAPL")["vrp"] == "◆2.19 "
        assert app.scan_running
        gate.set()
        await settle(app, pilot)
        assert wl.cells_for("TSLA")["vrp"] == "▽0.79 "
        assert not app.scan_running


async def test_rescan_skips_unchanged_cells_and_rewrites_only_time_cells() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(LiveTable)
        before = table.cell_updates
        await pilot.press("r")
        await settle(app, pilot)
        assert len(fb.scan_calls) == 2
        assert table.cell_updates == before  # same data, same clock: nothing written
        fb.advance(120)
        await pilot.press("r")
        await settle(app, pilot)
        # Two minutes later (fresh results, so ages are still 0s) only the two countdowns that
        # changed (NVDA, TSLA: 30m -> 28m) are written; everything else is skipped.
        assert table.cell_updates - before == 2
        wl = watchlist(app)
        assert wl.cells_for("NVDA")["entry"] == "28m"
        assert wl.cells_for("AAPL")["age"] == "0s"
        # Without a new scan, the periodic time refresh rewrites the ages (and countdowns).
        before = table.cell_updates
        fb.advance(60)
        wl.mark_all_dirty(flush=True)
        assert table.cell_updates - before == 5 + 2
        assert wl.cells_for("AAPL")["age"] == "1m"
        assert wl.cells_for("NVDA")["entry"] == "27m"


async def test_sort_keys_cycle_and_reverse_and_persist_across_restart() -> None:
    store = FakeStore()
    app = make_app(FakeBackend(store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        wl = watchlist(app)
        await pilot.press("s")  # vrp -> the next visible column (VRP 90%)
        await settle(app, pilot)
        assert wl.sort_column == "interval"
        directions = [wl.sort_desc]
        await pilot.press("S")
        await settle(app, pilot)
        directions.append(wl.sort_desc)
        assert directions == [True, False]
        assert table_order(app) == ["TSLA", "MSFT", "AMZN", "NVDA", "AAPL"]
        assert store.prefs[PREF_SORT_COLUMN] == "interval"
        assert store.prefs[PREF_SORT_DIR] == "asc"
    app2 = make_app(FakeBackend(store))
    async with app2.run_test(size=SIZE) as pilot:
        await settle(app2, pilot)
        assert watchlist(app2).sort_column == "interval"
        assert table_order(app2) == ["TSLA", "MSFT", "AMZN", "NVDA", "AAPL"]


async def test_clicking_a_header_sorts_by_it_and_again_reverses() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.click(LiveTable, offset=(2, 0))  # the "Sym" header
        await settle(app, pilot)
        assert watchlist(app).sort_column == "ticker"
        assert table_order(app) == ["AAPL", "AMZN", "MSFT", "NVDA", "TSLA"]
        await pilot.click(LiveTable, offset=(2, 0))
        await settle(app, pilot)
        assert table_order(app) == ["TSLA", "NVDA", "MSFT", "AMZN", "AAPL"]


async def test_missing_values_sort_last_in_both_directions() -> None:
    fb = FakeBackend(failures={"MSFT": ("timeout", "quote request timed out")})
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        wl = watchlist(app)
        wl.set_sort("implied", True)
        assert table_order(app)[-1] == "MSFT"
        wl.set_sort("implied", False)
        assert table_order(app)[-1] == "MSFT"
        assert table_order(app)[0] == "AAPL"  # 4.40 is the smallest implied move


async def test_filter_narrows_rows_and_escape_clears_it() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        assert app.focused is app.screen.query_one("#filter", Input)
        await pilot.press(*"sell", "enter")
        await settle(app, pilot)
        assert sorted(table_order(app)) == ["AAPL", "NVDA"]
        await pilot.press("escape")
        await settle(app, pilot)
        assert len(table_order(app)) == 5


async def open_add_dialog(app: IvCrushApp, pilot: Pilot[None]) -> tuple[AddTickerModal, Static]:
    """Settle, press `a`: the add dialog and its error line."""
    await settle(app, pilot)
    await pilot.press("a")
    await pilot.pause()
    modal = app.screen
    assert isinstance(modal, AddTickerModal)
    return modal, modal.query_one("#symbol-error", Static)


async def test_add_ticker_validates_checks_and_commits() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        modal, error = await open_add_dialog(app, pilot)

        await pilot.press(*"$$", "enter")
        await settle(app, pilot)
        assert "is not valid" in text_of(error)
        assert showing(app, AddTickerModal)

        modal.query_one(Input).value = "zzzz"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "unknown symbol ZZZZ" in text_of(error)

        modal.query_one(Input).value = "aapl"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "already on the watchlist" in text_of(error)

        modal.query_one(Input).value = " meta "
        await pilot.press("enter")
        await settle(app, pilot)
        assert showing(app, WatchlistScreen)
        assert fb.store.watchlist[-1] == "META"  # committed through the backend at once
        assert "META" in table_order(app)
        assert watchlist(app).cells_for("META")["tier"] == "good"  # analysed right away
        assert fb.analyze_calls == ["META"]


async def test_several_tickers_are_added_at_once_or_none_when_one_is_wrong() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        modal, error = await open_add_dialog(app, pilot)

        # One unknown name: nothing is added, the error names it, the text stays.
        modal.query_one(Input).value = "meta, zzzz spy"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "unknown symbol ZZZZ" in text_of(error)
        assert showing(app, AddTickerModal)
        assert "META" not in fb.store.watchlist

        # Already listed names are left out; duplicates count once.
        modal.query_one(Input).value = "meta, aapl spy META"
        await pilot.press("enter")
        await settle(app, pilot)
        assert showing(app, WatchlistScreen)
        assert fb.store.watchlist[-2:] == ["META", "SPY"]
        assert fb.analyze_calls == ["META", "SPY"]  # each analysed right away
        assert {"META", "SPY"} <= set(table_order(app))


async def test_remove_asks_first_and_commits() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(LiveTable)
        table.move_cursor(row=table.get_row_index("MSFT"))
        await pilot.press("d")
        await pilot.pause()
        assert showing(app, ConfirmModal)
        await pilot.press("n")
        await settle(app, pilot)
        assert "MSFT" in fb.store.watchlist
        table.move_cursor(row=table.get_row_index("MSFT"))
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert "MSFT" not in fb.store.watchlist
        assert "MSFT" not in table_order(app)


async def test_watchlist_edits_survive_a_restart() -> None:
    store = FakeStore()
    app = make_app(FakeBackend(store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.add_symbols(["GOOGL"])
        app.remove_symbols(["TSLA"])
        await settle(app, pilot)
    app2 = make_app(FakeBackend(store))
    async with app2.run_test(size=SIZE) as pilot:
        await settle(app2, pilot)
        assert app2.watchlist_symbols == ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL")
        assert sorted(table_order(app2)) == ["AAPL", "AMZN", "GOOGL", "MSFT", "NVDA"]


async def test_rescan_never_overlaps_and_is_rearmed_after_completion() -> None:
    fb = FakeBackend()
    gate = asyncio.Event()
    fb.gates["AAPL"] = gate
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await pilot.pause()
        running = [app.scan_running]
        await pilot.press("r")  # a scan is running: refused, not stacked
        await pilot.pause()
        assert len(fb.scan_calls) == 1
        gate.set()
        await settle(app, pilot)
        running.append(app.scan_running)
        assert running == [True, False]
        assert app._rescan_timer is not None  # re-armed
        app._timer_scan()  # what the timer does when it fires
        await settle(app, pilot)
        assert len(fb.scan_calls) == 2


async def test_streamed_rows_are_resorted_at_most_every_interval_and_when_the_scan_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A re-sort repaints most visible lines: while a scan streams it waits for the interval.
    monkeypatch.setattr(watchlist_module, "STREAM_SORT_INTERVAL_S", 1e9)
    fb = FakeBackend()
    gate = asyncio.Event()
    fb.gates["AMZN"] = gate  # the scan stays open until the gate is set
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        wl = None
        for _ in range(100):
            await pilot.pause(0.02)
            if app.scan_running and showing(app, WatchlistScreen):
                wl = watchlist(app)
                if all(wl.cells_for(s).get("rec", "…") != "…" for s in ("AAPL", "TSLA")):
                    break
        assert wl is not None
        assert app.scan_running
        assert wl.cells_for("NVDA")["rec"] != "…"  # the results are shown ...
        assert table_order(app) == list(fb.store.watchlist)  # ... in the unsorted order
        gate.set()
        await settle(app, pilot)
        order = table_order(app)
        assert order.index("NVDA") < order.index("MSFT")  # by VRP (1.95 > 1.31) once it ends


async def test_refresh_is_faster_inside_the_entry_window() -> None:
    fb = FakeBackend()
    app = IvCrushApp(fb, refresh_s=60, entry_window_refresh_s=15)
    assert app._next_delay() == 60  # 30 minutes before the window
    fb.advance(29 * 60 + 30)
    assert app._next_delay() == 30  # never sleeps past the window's start
    fb.advance(60)
    assert app._next_delay() == 15  # inside 15:00-16:00 ET


async def test_provider_outage_mid_scan_marks_rows_and_health() -> None:
    fb = FakeBackend(outage_after=2)
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        wl = watchlist(app)
        ok = [s for s in fb.store.watchlist if wl.cells_for(s)["rec"] != "ERR"]
        bad = [s for s in fb.store.watchlist if wl.cells_for(s)["rec"] == "ERR"]
        assert len(ok) == 2
        assert len(bad) == 3
        for s in bad:
            assert wl.cells_for(s)["tier"] == "⚠ breaker"
            assert wl.cells_for(s)["vrp"] == "—"
        table = app.screen.query_one(LiveTable)
        table.move_cursor(row=table.get_row_index(bad[0]))
        await pilot.pause()
        detail = text_of(app.screen.query_one("#row-detail", Static))
        assert "[circuit_open]" in detail
        assert "correlation id c0ffee" in detail
        # The app is alive and the health screen shows the outage.
        await pilot.press("3")
        await settle(app, pilot)
        health = app.screen
        assert isinstance(health, HealthScreen)
        assert health.report is not None
        tradier = health.report.component("tradier")
        assert tradier is not None
        assert tradier.breaker == "open"
        card = health.query_one("#card-tradier", ComponentCard)
        assert "✕ tradier" in text_of(card.head)
        assert "○ open" in text_of(card.head)
        assert "circuit_open" in text_of(card.error)
        errors = health.query_one("#errors-table")
        assert errors.row_count == 3  # type: ignore[attr-defined]
        assert {r.code for r in app.recent_errors} == {"circuit_open"}
        assert all(r.correlation_id for r in app.recent_errors)
        assert app.backend.status().badges[0].breaker == "open"


async def test_an_outage_after_a_good_scan_keeps_the_last_values_dimmed_with_the_reason() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        wl = watchlist(app)
        names = list(fb.store.watchlist)
        before = {s: dict(wl.cells_for(s)) for s in names}
        order = table_order(app)
        fb.outage = True
        fb.advance(60)
        assert app.start_scan()
        await settle(app, pilot)
        table = app.screen.query_one(LiveTable)
        spot_col = table.column_keys.index("spot")
        for s in names:
            row = wl.cells_for(s)
            assert row["rec"] == "STALE", row
            assert row["tier"] == "⚠ breaker", row
            for key in ("spot", "implied", "vrp", "hist"):
                assert row[key] == before[s][key] != "—"
            assert row["age"] == "1m"  # the age of the figures' quote, still running
            assert table.get_row(s)[spot_col].style.dim  # type: ignore[union-attr]
            mark = app.results[s].stale
            assert mark is not None
            assert mark.code == "circuit_open"
            assert mark.since == fb.now()
        assert table_order(app) == order  # an outage does not reshuffle the rows
        # Every failure is still recorded for the health screen.
        assert len(app.recent_errors) == len(names)
        table.move_cursor(row=table.get_row_index("NVDA"))
        await pilot.pause()
        detail = text_of(app.screen.query_one("#row-detail", Static))
        assert detail.startswith("NVDA: STALE since 14:31:00 ET: [circuit_open]"), detail
        # The drill-down keeps the figures too (its own refresh fails) and says why, and how old.
        fb.advance(60)
        app.open_ticker("NVDA")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        banner = screen.query_one("#stale-banner", Static)
        assert banner.has_class("-shown")
        assert banner.display
        assert screen.has_class("-stale")
        text = text_of(banner)
        assert "[circuit_open] tradier circuit breaker open" in text
        assert "since 14:31:00 ET" in text
        assert "quote 2m old" in text
        assert "ERROR" not in text_of(screen.query_one("#recommendation", Static))
        assert "Implied move ±" in text_of(screen.query_one("#straddle", Static))
        # The provider is back: a good result clears the outage, in the drill-down and the row.
        fb.outage = False
        assert app.start_scan()
        await settle(app, pilot)
        # The drill-down redraws at most every LIVE_SHOW_INTERVAL_S: a result that came sooner
        # after its fetch is shown when that interval ends.
        await pilot.pause(LIVE_SHOW_INTERVAL_S + 0.05)
        assert not banner.has_class("-shown")
        assert not screen.has_class("-stale")
        assert app.results["NVDA"].stale is None
        await pilot.press("escape")
        await settle(app, pilot)
        assert watchlist(app).cells_for("NVDA")["rec"] == before["NVDA"]["rec"]


class ExplodingBackend(FakeBackend):
    """A backend whose scan itself raises after one result (a bug in the engine, say)."""

    async def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
        async for a in super().scan(symbols[:1]):
            yield a
        raise RuntimeError("engine exploded")


async def test_a_broken_scan_is_reported_not_raised() -> None:
    app = make_app(ExplodingBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.is_running
        assert app.recent_errors[0].code == "scan_failed"
        assert "engine exploded" in app.recent_errors[0].message
        assert not app.scan_running
        assert app._rescan_timer is not None  # the loop goes on


async def test_notification_when_a_tier_rises_to_good_during_a_scan() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.alerts == []  # first results are not "rises"
        fb.scripts["MSFT"] = replace(SCRIPTS["MSFT"], implied_pct=6.5)  # 6.5 / 3.82 = 1.70
        await pilot.press("r")
        await settle(app, pilot)
        assert [a.message for a in app.alerts] == ["MSFT rose to good (VRP 1.70 straddle)"]
        assert [(a.rule, a.symbol) for a in fb.stored_alerts] == [("tier:good", "MSFT")]
        assert watchlist(app).cells_for("MSFT")["tier"] == "good"
        # The toast is on screen, titled by the rule's kind.
        toasts = list(app._notifications)
        assert [(n.title, n.message) for n in toasts][-1] == (
            "Tier up",
            "MSFT rose to good (VRP 1.70 straddle)",
        )
        # Once per rule, symbol and window: the same rise again (after a drop) is not repeated.
        fb.scripts["MSFT"] = SCRIPTS["MSFT"]
        await pilot.press("r")
        await settle(app, pilot)
        fb.scripts["MSFT"] = replace(SCRIPTS["MSFT"], implied_pct=6.5)
        await pilot.press("r")
        await settle(app, pilot)
        assert len(app.alerts) == 1


@pytest.mark.parametrize("bell", [True, False])
async def test_an_alert_rings_the_bell_only_when_configured(bell: bool) -> None:
    sell = AlertSettings(bell=bell, rules=(AlertRule(RuleKind.SELL, symbols=("AAPL",)),))
    watch = replace(SCRIPTS["AAPL"], action=Action.WATCH)
    fb = FakeBackend(alerts=sell, scripts={**SCRIPTS, "AAPL": watch})
    app = make_app(fb, alerts=sell)
    rang: list[int] = []
    app.bell = lambda: rang.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.alerts == []
        fb.scripts["AAPL"] = SCRIPTS["AAPL"]
        await pilot.press("r")
        await settle(app, pilot)
        assert [(a.rule, a.symbol) for a in app.alerts] == [("sell", "AAPL")]
        assert app._notifications
        assert list(app._notifications)[-1].title == "SELL"
        assert rang == ([1] if bell else [])


async def test_calendar_weeks_drilldown_and_watch() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        cal = app.screen
        assert isinstance(cal, CalendarScreen)
        keys = cal.query_one(LiveTable).row_keys()
        assert keys[:4] == ["NVDA", "GOOGL", "TSLA", "AAPL"]  # by day, then BMO before AMC
        assert "·2026-11-26" in keys  # Thanksgiving is shown as closed
        nvda = cal.query_one(LiveTable).get_row("NVDA")
        assert [str(c) for c in nvda][:3] == ["Mon 11-23 ◂", "AMC", "NVDA"]
        assert "7.80" in [str(c) for c in nvda]  # implied move from the scan
        await pilot.press("right")
        await settle(app, pilot)
        assert cal.week_offset == 1
        assert {"AMZN", "NFLX"} <= set(cal.query_one(LiveTable).row_keys())
        await pilot.press("left")
        await settle(app, pilot)
        assert cal.week_offset == 0
        table = cal.query_one(LiveTable)
        table.move_cursor(row=table.get_row_index("GOOGL"))
        await pilot.press("w")
        await settle(app, pilot)
        assert "GOOGL" in fb.store.watchlist
        assert str(table.get_row("GOOGL")[-1]) == "✓"
        await pilot.press("enter")
        await settle(app, pilot)
        assert showing(app, TickerScreen)
        assert ticker_symbol(app) == "GOOGL"
        await pilot.press("escape")
        await pilot.pause()
        assert showing(app, CalendarScreen)


async def test_health_screen_lists_components_and_refreshes() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        health = app.screen
        assert isinstance(health, HealthScreen)
        names = [c.component_name for c in health.query(ComponentCard)]
        assert names == ["tradier", "alphavantage", "database", "cache"]
        tradier = health.query_one("#card-tradier", ComponentCard)
        assert "budget 112/120" in text_of(tradier.head)
        assert tradier.spark.data == (80.0, 92.0, 75.0, 130.0, 88.0, 84.0, 95.0, 210.0, 90.0, 84.0)
        av = health.query_one("#card-alphavantage", ComponentCard)
        assert "quota 21/25" in text_of(av.head)
        cache = health.query_one("#card-cache", ComponentCard)
        assert "hit rate 87%" in text_of(cache.detail)
        calls = fb.health_calls
        assert fb.health_probes == 0  # shown and refreshed on a timer: recent calls may answer
        await pilot.press("u")
        await settle(app, pilot)
        assert fb.health_calls == calls + 1
        assert fb.health_probes == 1  # asked for: a real check
        await pilot.press("1")  # hidden: the periodic refresh stops calling the backend
        await settle(app, pilot)
        assert not health._visible


async def test_drilldown_shows_panels_and_charts_and_escape_returns() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # AAPL is the top row
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        assert screen.symbol == "AAPL"
        assert screen.fetches == 1
        straddle = text_of(screen.query_one("#straddle", Static))
        assert "ATM strike 190.00" in straddle
        assert "Breakevens 181.63 / 198.37" in straddle
        assert "Implied move ±4.40%" in straddle
        rec = text_of(screen.query_one("#recommendation", Static))
        assert rec.startswith("SELL")
        for chart in (SkewChart, HistoryChart, TermChart):
            assert screen.query_one(chart).message is None  # plotted
        await pilot.press("escape")
        await pilot.pause()
        assert showing(app, WatchlistScreen)


async def test_charts_are_redrawn_on_resize_and_theme_change() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        chart = app.screen.query_one(HistoryChart)
        builds = chart.builds
        app.theme = "ivcrush-light"
        await settle(app, pilot)
        assert chart.builds > builds
        assert chart.color("primary") == (11, 92, 173)  # ivcrush-light's primary #0B5CAD
        builds = chart.builds
        await pilot.resize_terminal(140, 44)
        await settle(app, pilot)
        assert chart.builds > builds
        assert chart.message is None


async def test_closing_the_drilldown_cancels_its_fetch() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        fb.gates["AAPL"] = asyncio.Event()  # the fetch will hang
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        workers = [w for w in app.workers if w.group == "ticker"]
        assert [w.state for w in workers] == [WorkerState.RUNNING]
        await pilot.press("escape")
        await settle(app, pilot)
        assert workers[0].state is WorkerState.CANCELLED
        assert showing(app, WatchlistScreen)


async def test_drilldown_of_a_failed_ticker_explains_the_error() -> None:
    fb = FakeBackend(failures={"AAPL": ("timeout", "chain request timed out")})
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_ticker("AAPL")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        rec = text_of(screen.query_one("#recommendation", Static))
        assert "[timeout] chain request timed out" in rec
        assert "correlation id c0ffee" in rec
        assert screen.query_one(SkewChart).message == "Skew n/a"


async def test_help_lists_every_key_and_closes() -> None:
    from ivcrush_tui.app.bindings import ALL_BINDINGS

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert showing(app, HelpScreen)
        text = text_of(app.screen.query_one("#help-table", Static))
        for _, bindings in ALL_BINDINGS:
            for b in bindings:
                assert b.description in text, b.description
                assert b.id is not None
                assert b.tooltip
        # The legend explains the VRP cell's straddle-basis mark.
        assert "1.91*" in text
        assert "straddle ratio" in text
        assert "last good values" in text  # ... and a STALE row (issue 14)
        await pilot.press("2")  # app keys are blocked under a dialog
        await pilot.pause()
        assert showing(app, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert showing(app, WatchlistScreen)


async def test_q_quits_and_stops_the_backend() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running
    assert fb.stopped


async def test_command_palette_switches_screens_and_goes_to_tickers() -> None:
    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        app.screen.query_one(Input).value = "screen: health"
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert showing(app, HealthScreen)

        await pilot.press("ctrl+p")
        await pilot.pause()
        app.screen.query_one(Input).value = "go to: NVDA"
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert showing(app, TickerScreen)
        assert ticker_symbol(app) == "NVDA"


async def test_command_palette_adds_a_typed_ticker_after_checking_it() -> None:
    from ivcrush_tui.app.commands import IvCrushCommands

    fb = FakeBackend()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        provider = IvCrushCommands(app.screen)
        hits = [h async for h in provider.search("ko") if isinstance(h, Hit)]
        names = [str(h.match_display) for h in hits]
        assert "watchlist: add KO" in names
        add = next(h for h in hits if str(h.match_display) == "watchlist: add KO")
        add.command()
        await settle(app, pilot)
        assert "KO" in fb.store.watchlist
        hits = [h async for h in provider.search("zzzz") if isinstance(h, Hit)]
        bad = next(h for h in hits if str(h.match_display) == "watchlist: add ZZZZ")
        bad.command()
        await settle(app, pilot)
        assert "ZZZZ" not in fb.store.watchlist  # the provider does not know it


async def test_theme_choice_is_remembered_and_the_argument_wins() -> None:
    store = FakeStore()
    app = make_app(FakeBackend(store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == "ivcrush-dark"
        assert app.theme_variables["tier-excellent"] == "#2EE66B"
        app.theme = "ivcrush-light"
        await settle(app, pilot)
        assert store.prefs[PREF_THEME] == "ivcrush-light"
    app2 = make_app(FakeBackend(store))
    async with app2.run_test(size=SIZE) as pilot:
        await settle(app2, pilot)
        assert app2.theme == "ivcrush-light"
    app3 = make_app(FakeBackend(store), theme="ivcrush-dark")
    async with app3.run_test(size=SIZE) as pilot:
        await settle(app3, pilot)
        assert app3.theme == "ivcrush-dark"
        app3.theme = "nord"  # a builtin theme still gets the semantic variables
        await settle(app3, pilot)
        assert "gain" in app3.theme_variables
        assert "ansi-dark" not in app3.available_themes


async def test_80x24_drops_low_priority_columns_and_stays_readable() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(LiveTable)
        keys = table.column_keys
        assert {"ticker", "vrp", "tier", "rec", "implied"} <= set(keys)
        assert "skew" not in keys
        used = sum(s.width + 2 * table.cell_padding for s in table.specs)
        assert used <= 80
        assert table.virtual_size.width <= table.size.width  # no horizontal scrolling
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.has_class("-narrow")
        await pilot.press("escape", "2")
        await settle(app, pilot)
        cal_table = app.screen.query_one(LiveTable)
        assert cal_table.virtual_size.width <= cal_table.size.width
        await pilot.resize_terminal(160, 40)
        await settle(app, pilot)
        assert "name" in app.screen.query_one(LiveTable).column_keys


async def test_120_columns_show_the_skew_column() -> None:
    app = make_app()
    async with app.run_test(size=(124, 40)) as pilot:
        await settle(app, pilot)
        assert "skew" in app.screen.query_one(LiveTable).column_keys


async def test_keys_pressed_before_anything_loaded_do_not_crash() -> None:
    fb = FakeBackend()
    for s in fb.store.watchlist:
        fb.gates[s] = asyncio.Event()
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "s", "S", "enter", "2", "enter", "w", "3", "u", "1")
        await pilot.pause()
        assert app.is_running
        for g in fb.gates.values():
            g.set()
        await settle(app, pilot)
        # Whether "enter" met a placeholder row (and opened its drill-down) depends on how fast
        # the watchlist loaded; either way "1" is back in the watchlist mode, on its stack.
        assert app.current_mode == "watchlist"
        assert any(isinstance(s, WatchlistScreen) for s in app.screen_stack)


class SlowStartBackend(FakeBackend):
    """A backend that cannot answer before start() returns (like the real one)."""

    def __init__(self, store: FakeStore) -> None:
        super().__init__(store)
        self.release = asyncio.Event()

    async def start(self) -> None:
        await self.release.wait()
        await super().start()

    async def get_pref(self, key: str) -> str | None:
        assert self.started, "called before start()"
        return await super().get_pref(key)

    async def health(self, *, probe: bool = False) -> HealthReport:
        assert self.started, "called before start()"
        return await super().health(probe=probe)

    async def upcoming_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        assert self.started, "called before start()"
        return await super().upcoming_events(start, end)


async def test_screens_wait_for_the_backend_to_start() -> None:
    store = FakeStore(prefs={PREF_SORT_COLUMN: "ticker", PREF_SORT_DIR: "asc"})
    fb = SlowStartBackend(store)
    app = make_app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert fb.health_calls == 0
        assert not app.backend_ready
        fb.release.set()
        await settle(app, pilot)
        assert app.recent_errors == deque()  # nothing was called too early
        await pilot.press("1")
        await settle(app, pilot)
        assert watchlist(app).sort_column == "ticker"  # the saved sort, read after start
        assert table_order(app) == ["AAPL", "AMZN", "MSFT", "NVDA", "TSLA"]


class BrokenStartBackend(FakeBackend):
    async def start(self) -> None:
        raise ConnectionError("database is locked")

    async def watchlist(self) -> list[str]:
        raise OSError("database is locked")


async def test_backend_failures_at_startup_are_shown_not_raised() -> None:
    app = make_app(BrokenStartBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.is_running
        codes = [r.code for r in app.recent_errors]
        assert codes == ["storage", "startup"]
        assert "empty" in text_of(app.screen.query_one("#title", Static))


def test_fake_backend_satisfies_the_protocol() -> None:
    backend: Backend = FakeBackend()
    assert isinstance(backend, Backend)
    assert backend.now() == dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)
