"""The Results screen (mode 4) with the FakeBackend's ledger: the decisions table and its marks,
the summaries (the same `summarize` as `ledger --summary`), sorting and its persistence, the
decision snapshot drill-down (read-only), reloads after a settlement, an empty ledger, unreadable
rows and payloads, and the lazy table (a page of rows built, not the whole ledger)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.backend import PREF_RESULTS_SORT_COLUMN, PREF_RESULTS_SORT_DIR
from ivcrush_tui.app.results_model import build_results, thin
from ivcrush_tui.app.screens.results import ResultsScreen
from ivcrush_tui.app.screens.snapshot import SnapshotScreen
from ivcrush_tui.app.widgets.lazy_table import LazyTable
from ivcrush_tui.app.widgets.results_charts import CalibrationChart, PnlChart
from ivcrush_tui.store.repositories.ledger_rows import DecisionRow
from tests.ui.fake_backend import FakeBackend, FakeStore
from tests.ui.fake_ledger import FakeLedger, default_rows
from tests.ui.snapshot_steps import settle

SIZE = (120, 40)


def _app(backend: FakeBackend | None = None) -> IvCrushApp:
    app = IvCrushApp(backend or FakeBackend(), refresh_s=3600)
    app.animation_level = "none"
    return app


def _screen(app: IvCrushApp) -> ResultsScreen:
    screen = app.screen
    assert isinstance(screen, ResultsScreen)
    return screen


def _cells(screen: ResultsScreen, symbol: str) -> dict[str, str]:
    table = screen.query_one(LazyTable)
    key = next(k for k, r in screen.rows.items() if r.symbol == symbol)
    row = table.get_row(key)
    return {k: t.plain for k, t in zip(table.column_keys, row, strict=True)}


def _order(screen: ResultsScreen) -> list[str]:
    return [screen.rows[k].symbol for k in screen.query_one(LazyTable).row_keys()]


def _plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def _render_text(app: IvCrushApp, widget: Static) -> str:
    """The widget's content as plain text, on one wide line per row (no wrapping, no colour)."""
    console = Console(width=400, color_system=None, file=io.StringIO())
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()


async def test_key_4_shows_the_decisions_with_outcomes_and_estimated_marks() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        title = _plain(screen.query_one("#title", Static))
        assert "Results · DEMO" in title
        assert "8 decisions: 6 settled, 1 open, 1 void" in title
        # Newest first by default; every status is listed.
        assert _order(screen)[:3] == ["CRM", "NVDA", "XOM"]
        nvda = _cells(screen, "NVDA")
        assert (nvda["implied"], nvda["realized"], nvda["hit"]) == ("8.40", "+3.10", "✓")
        assert nvda["pnl"] == "+305~"  # estimated exit
        assert nvda["ratio"] == f"{3.10 / 8.40:.2f}"
        assert _cells(screen, "AAPL")["pnl"] == "+118"  # captured exit: no mark
        assert _cells(screen, "MSFT")["hit"] == "✗"
        assert _cells(screen, "XOM")["status"] == "void"
        assert _cells(screen, "CRM")["pnl"] == "—"
        # The highlighted decision's detail says why it is still open.
        detail = _plain(screen.query_one("#row-detail", Static))
        assert "CRM" in detail
        assert "bar_missing" in detail


async def test_summaries_show_the_ledgers_numbers_with_wilson_intervals() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        text = _render_text(app, screen.query_one("#results-summary", Static))
        expected = build_results(default_rows(), "demo").summary
        exc = expected.by_tier["excellent"]
        assert exc.hit_rate_lo is not None
        assert exc.hit_rate_hi is not None
        # 2 of 2 hits: 90 % Wilson 43–100 %, shown beside the tier.
        assert f"{100 * exc.hit_rate_lo:.0f}%–{100 * exc.hit_rate_hi:.0f}%" in text
        sell = expected.by_recommendation["SELL"]
        assert (sell.n, sell.hits) == (4, 3)
        assert "SELL" in text
        assert "75%" in text
        # The charts received the series (drawn after the table's frame).
        calib = screen.query_one(CalibrationChart)
        pnl = screen.query_one(PnlChart)
        assert calib.data is screen.data
        assert pnl.message is None
        assert calib.message is None
        assert "67% below y=x" in str(calib.border_subtitle)
        assert pnl.border_subtitle is not None
        assert "$+11" in str(pnl.border_subtitle)  # 118 - 212 + 305 - 410 + 188 + 22


async def test_sort_keys_cycle_reverse_and_persist_across_a_restart() -> None:
    store = FakeStore()
    app = _app(FakeBackend(store))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        await pilot.press("s")  # next column: symbol, ascending first
        await settle(pilot)
        assert screen.sort_column == "symbol"
        assert _order(screen) == sorted(_order(screen))
        await pilot.press("S")
        await settle(pilot)
        assert _order(screen) == sorted(_order(screen), reverse=True)
        screen.set_sort("pnl", True)
        await settle(pilot)
        pnls = [screen.rows[k].pnl_per_contract for k in screen.query_one(LazyTable).row_keys()]
        known = [p for p in pnls if p is not None]
        assert known == sorted(known, reverse=True)
        assert pnls[-2:] == [None, None]  # n/a last
        assert "P&L $▼" in " ".join(screen.query_one(LazyTable)._labels.values())
    assert store.prefs[PREF_RESULTS_SORT_COLUMN] == "pnl"
    assert store.prefs[PREF_RESULTS_SORT_DIR] == "desc"
    again = _app(FakeBackend(store))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert _screen(again).sort_column == "pnl"
        assert _order(_screen(again))[0] == "NVDA"  # the best P&L


async def test_enter_opens_the_snapshot_at_decision_time_read_only_and_escape_returns() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("down")  # NVDA
        await pilot.press("enter")
        await settle(pilot)
        snap = app.screen
        assert isinstance(snap, SnapshotScreen)
        assert snap.row.symbol == "NVDA"
        header = _plain(snap.query_one("#title", Static))
        assert "AT DECISION TIME (read-only snapshot)" in header
        straddle = _render_text(app, snap.query_one("#snap-straddle", Static))
        assert "±8.40%" in straddle
        outcome = _render_text(app, snap.query_one("#snap-outcome", Static))
        assert "P&L +305 $/contract (estimated exit)" in outcome
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ResultsScreen)


async def test_an_unreadable_snapshot_payload_is_said_not_crashed_on() -> None:
    ledger = FakeLedger()
    ledger.corrupt.add(100 + 7)  # CRM's snapshot (the top row)
    app = _app(FakeBackend(ledger=ledger))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        snap = app.screen
        assert isinstance(snap, SnapshotScreen)
        assert snap.loaded
        assert "snapshot unreadable" in _plain(snap.query_one("#title", Static))
        assert "missing or unreadable" in _plain(snap.query_one("#snap-straddle", Static))


async def test_skipped_rows_are_counted_in_the_title() -> None:
    app = _app(FakeBackend(ledger=FakeLedger(skipped=2)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert "2 unreadable skipped" in _plain(_screen(app).query_one("#title", Static))


async def test_an_empty_ledger_shows_how_to_fill_it() -> None:
    app = _app(FakeBackend(ledger=FakeLedger(rows=[])))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        assert "no decisions yet" in _plain(screen.query_one("#title", Static))
        empty = screen.query_one("#results-empty", Static)
        assert empty.display
        assert not screen.query_one(LazyTable).display
        assert "ledger simulate --weeks 12" in _plain(empty)
        assert screen.query_one(CalibrationChart).message == "Calibration: no settled decision yet"
        await pilot.press("enter", "s")  # nothing to open or sort: no error
        await settle(pilot)
        assert isinstance(app.screen, ResultsScreen)


async def test_a_settlement_shows_on_r_and_when_the_screen_is_shown_again() -> None:
    backend = FakeBackend()
    app = _app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        assert _cells(screen, "CRM")["status"] == "open"
        backend.ledger.settle("CRM", 2.5, 140.0)
        await pilot.press("r")
        await settle(pilot)
        assert _cells(screen, "CRM")["status"] == "settled"
        assert _cells(screen, "CRM")["pnl"] == "+140~"
        assert "7 settled, 0 open" in _plain(screen.query_one("#title", Static))
        backend.ledger.rows.pop()  # CRM goes (a store swapped underneath): shown on return
        calls = backend.results_calls
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert backend.results_calls == calls + 1
        assert "CRM" not in _order(screen)


def _many(n: int) -> list[DecisionRow]:
    base = default_rows()
    start = dt.date(2020, 1, 1)
    return [
        dataclasses.replace(
            base[i % len(base)], id=i + 1, entry_date=start + dt.timedelta(days=i // 4)
        )
        for i in range(n)
    ]


async def test_a_large_ledger_builds_only_the_rows_drawn() -> None:
    app = _app(FakeBackend(ledger=FakeLedger(rows=_many(5000))))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        table = screen.query_one(LazyTable)
        assert table.row_count == 5000
        assert table.built <= 2 * table.size.height  # a page, not 5,000 rows
        await pilot.press("pagedown", "end", "s")
        await settle(pilot)
        assert table.built <= 6 * table.size.height
        assert screen.data is not None
        assert len(screen.data.calibration) <= 600
        assert screen.data.n_calibration == 5000 * 6 // 8


def test_thin_keeps_first_and_last_and_at_most_the_limit() -> None:
    assert thin(list(range(5)), 10) == [0, 1, 2, 3, 4]
    picked = thin(list(range(10_000)), 600)
    assert len(picked) <= 600
    assert picked[0] == 0
    assert picked[-1] == 9_999
    assert picked == sorted(picked)


async def test_help_and_footer_list_the_results_keys() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        keys = {b.binding.id for b in app.active_bindings.values() if b.binding.id}
        assert {"app.mode.results", "results.sort", "results.refresh"} <= keys
        await pilot.press("question_mark")
        await settle(pilot)
        text = _render_text(app, app.screen.query_one("#help-table", Static))
        assert "Results" in text
        assert "drill-down as it was at decision time" in text


def test_next_sort_and_header_sort_pick_the_column_and_its_first_direction() -> None:
    from ivcrush_tui.app.widgets.table_parts import header_sort, next_sort

    asc = frozenset({"entry"})
    assert next_sort(("entry", "pnl"), "entry", asc) == ("pnl", True)
    assert next_sort(("entry", "pnl"), "pnl", asc) == ("entry", False)  # wraps round
    assert next_sort(("entry", "pnl"), "gone", asc) == ("entry", False)
    assert next_sort((), "entry", asc) is None
    assert header_sort("pnl", "pnl", True, asc) == ("pnl", False)  # same column: reversed
    assert header_sort("entry", "pnl", True, asc) == ("entry", False)


async def test_the_screen_reads_the_ledger_again_while_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ivcrush_tui.app.screens.results as results_module

    monkeypatch.setattr(results_module, "POLL_S", 0.1)
    backend = FakeBackend()
    app = _app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        backend.ledger.settle("CRM", -1.0, 90.0)  # settled in the background meanwhile
        for _ in range(50):
            await pilot.pause(0.05)
            if _cells(screen, "CRM")["status"] == "settled":
                break
        assert _cells(screen, "CRM")["pnl"] == "+90~"
        assert "refreshing" not in _plain(screen.query_one("#title", Static))


async def test_the_highlight_follows_its_row_through_a_sort_once_moved() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        table = screen.query_one(LazyTable)
        # Newest first: CRM NVDA XOM AAPL AMZN MSFT TSLA JPM.
        await pilot.press("down", "down", "down", "down", "down")
        await settle(pilot)
        picked = screen.highlighted()
        assert picked is not None
        assert picked.symbol == "MSFT"
        screen.set_sort("symbol", False)  # AAPL AMZN CRM JPM MSFT ...
        await settle(pilot)
        assert table.cursor_row == _order(screen).index("MSFT") == 4
        still = screen.highlighted()
        assert still is not None
        assert still.symbol == "MSFT"


async def test_a_theme_change_restyles_the_rows() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = _screen(app)
        table = screen.query_one(LazyTable)
        key = next(k for k, r in screen.rows.items() if r.symbol == "NVDA")
        pnl_index = table.column_keys.index("pnl")
        before = str(table.get_row(key)[pnl_index].style)
        app.theme = "ivcrush-light"
        await settle(pilot)
        after = str(table.get_row(key)[pnl_index].style)
        assert before != after
        assert app.theme_variables["gain"].lower() in after.lower()


def test_a_damaged_or_old_payload_renders_with_dashes_not_an_exception() -> None:
    from ivcrush_tui.app import snapshot_view as sv

    row = default_rows()[0]
    odd: dict[str, object] = {
        "as_of": "not a time",
        "atm": 5,
        "term": {"rv30": "fast"},
        "skew": None,
        "past_moves": ["x", {"earnings_date": 3, "close_pct": float("nan")}],
        "reasons": [1, "kept"],
        "recommendation": "SELL",
        "vrp_interval": [None, "a"],
        "n_events": True,
        "greeks_short_contract": [],
    }
    console = Console(width=200, color_system=None, file=io.StringIO())
    with console.capture() as cap:
        console.print(sv.header_text(odd, row))
        for panel in (
            sv.straddle_panel(odd),
            sv.stats_panel(odd),
            sv.recommendation_panel(odd, {}),
            sv.past_moves_panel(odd),
            sv.outcome_panel(row),
        ):
            console.print(panel)
    text = cap.get()
    assert "decided" in text
    assert "ATM strike —" in text
    assert "• kept" in text
    assert "P&L +118 $/contract" in text
