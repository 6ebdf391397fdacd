"""Results (mode 4): the forward test's decisions and verdict (METHODS §12).

The ledger is read by `backend.results()` off the console's loop (the engine thread for the real
backend): the rows, the per-tier and per-recommendation summary (`summarize`, as `ivcrush ledger
--summary`) and the chart series arrive together. The table is a `LazyTable`: a sort or a reload
replaces a list of keys, and only the rows drawn are built, so 10,000 decisions show their
first page at once. The charts are drawn after that first frame. The ledger is read again each
time the screen is shown, on `r` and every POLL_S seconds while shown (settlement runs in the
background on start, on every `scan` and in `serve`). The sort is persisted like the watchlist's.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import ScrollableContainer
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from ivcrush_tui.app.backend import PREF_RESULTS_SORT_COLUMN, PREF_RESULTS_SORT_DIR
from ivcrush_tui.app.bindings import RESULTS_BINDINGS
from ivcrush_tui.app.formatting import sort_order, styled
from ivcrush_tui.app.results_model import ResultsData
from ivcrush_tui.app.results_view import (
    ASCENDING_FIRST,
    COLUMNS,
    DEFAULT_SORT,
    SORT_VALUE,
    SPEC_BY_KEY,
    empty_text,
    row_cells,
    row_detail,
    summary_renderable,
    title_text,
)
from ivcrush_tui.app.widgets.lazy_table import LazyTable
from ivcrush_tui.app.widgets.live_table import LiveTable, fit_columns, update_line
from ivcrush_tui.app.widgets.results_charts import CalibrationChart, PnlChart
from ivcrush_tui.app.widgets.status_bar import StatusBar
from ivcrush_tui.app.widgets.table_parts import header_sort, next_sort

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.store.repositories.ledger_rows import DecisionRow

log = logging.getLogger(__name__)

NARROW_BELOW = 100  # columns: below this the summary and the charts stack and scroll
# While the screen is shown the ledger is read again this often, seconds: a settlement or a
# decision recorded meanwhile appears without a key (the backend answers from its prepared data
# while the ledger is unchanged, so a poll costs one aggregate query).
POLL_S = 30.0


class ResultsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(RESULTS_BINDINGS)

    def __init__(self) -> None:
        super().__init__()
        self.data: ResultsData | None = None
        self.rows: dict[str, DecisionRow] = {}
        self.sort_column, self.sort_desc = DEFAULT_SORT
        self.loads = 0  # ledger reads applied (tests)
        self.load_error: str | None = None
        self._loading = False
        self._sort_loaded = False
        self._sorted: dict[tuple[str, bool], list[str]] = {}

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("Results · loading the ledger…", id="title", classes="screen-title")
        yield LazyTable(id="results-table")
        yield Static("", id="results-empty")
        yield Static("", id="row-detail", classes="row-detail")
        with ScrollableContainer(id="results-bottom"):
            yield Static("", id="results-summary", classes="panel")
            yield CalibrationChart(id="calibration-chart", classes="chart")
            yield PnlChart(id="pnl-chart", classes="chart")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#results-summary").border_title = "Settled: by tier · by recommendation"
        self.query_one("#calibration-chart").border_title = "Calibration: |close| vs implied"
        self.query_one("#pnl-chart").border_title = "Cumulative P&L $/contract"
        self.query_one("#results-empty").display = False
        self.app.theme_changed_signal.subscribe(self, lambda _t: self._restyle())
        self._set_narrow(self.app.size.width < NARROW_BELOW)
        self._configure_columns()
        self.query_one(LazyTable).focus()
        self.set_interval(POLL_S, self._poll)
        self.reload()

    def _poll(self) -> None:
        if self.is_current and not self._loading:
            self._load()  # quietly: the title does not say "refreshing"

    def on_screen_resume(self) -> None:
        if self.loads:  # shown again: settlements may have happened meanwhile
            self.reload()

    def on_resize(self) -> None:
        self._set_narrow(self.size.width < NARROW_BELOW)
        self._configure_columns()

    def _set_narrow(self, narrow: bool) -> None:
        self.set_class(narrow, "-narrow")
        try:
            self.query_one("#results-bottom", ScrollableContainer).can_focus = narrow
        except NoMatches:
            return

    def _configure_columns(self) -> None:
        try:
            table = self.query_one(LazyTable)
        except NoMatches:
            return
        width = self.size.width or self.app.size.width
        specs = fit_columns(COLUMNS, max(20, width - 2), table.cell_padding)
        table.configure(specs, self._labels())

    # -- loading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the ledger again (and the saved sort, the first time)."""
        self._loading = True
        self._update_title()
        self._load()

    @work(group="results", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        app = self.ivapp
        await app.wait_ready()
        backend = app.backend
        # One round trip for all three: the engine thread answers them back to back.
        prefs = (
            (backend.get_pref(PREF_RESULTS_SORT_COLUMN), backend.get_pref(PREF_RESULTS_SORT_DIR))
            if not self._sort_loaded
            else ()
        )
        got = await asyncio.gather(backend.results(), *prefs, return_exceptions=True)
        data = got[0]
        if prefs and not isinstance(got[1], BaseException) and got[1] in SPEC_BY_KEY:
            self.sort_column, self.sort_desc = str(got[1]), got[2] != "asc"
        self._sort_loaded = True
        if isinstance(data, BaseException):  # the store is unreadable: say so, keep the screen
            if isinstance(data, asyncio.CancelledError):
                raise data
            self._loading = False
            self.load_error = str(data)
            self.notify(f"Could not read the ledger: {data}", severity="error")
            self._update_title()
            return
        self.load_error = None
        self.apply(data)

    def apply(self, data: ResultsData, *, force: bool = False) -> None:
        """Show `data`: the table's rows in the current sort, the summary, the title; the charts
        after the frame that shows the table. The same data again (the backend keeps it while
        the ledger is unchanged) only refreshes the title, unless `force`."""
        self.loads += 1
        self._loading = False
        if data is self.data and not force:
            self._update_title()
            return
        self.data = data
        self._sorted.clear()
        self.rows = {str(r.id): r for r in data.rows}
        try:
            table = self.query_one(LazyTable)
            empty = self.query_one("#results-empty", Static)
        except NoMatches:
            return
        table.display = not data.empty
        empty.display = data.empty
        if data.empty:
            empty.update(Text(empty_text(self.ivapp.backend.demo), style="italic"))
        table.set_labels(self._labels())
        table.set_source(self._sorted_keys(), self._cells_of)
        self.query_one("#results-summary", Static).update(
            summary_renderable(data, dict(self.app.theme_variables))
        )
        self._update_title()
        self._update_detail()
        self.call_after_refresh(self._draw_charts)
        # The rows are long-lived, like most of what the process holds by now: out of the
        # collector's generations, a full collection no longer walks them (100-160 ms under
        # load with 10,000 decisions, landing on whatever key was pressed). Acyclic garbage
        # is still freed by reference counting; docs/PERFORMANCE.md, "Results screen".
        gc.freeze()

    def _draw_charts(self) -> None:
        for chart in self.query(".chart").results():
            if isinstance(chart, CalibrationChart | PnlChart):
                chart.show_results(self.data)

    def _cells_of(self, key: str) -> dict[str, Text]:
        variables = self.app.theme_variables
        return {k: styled(c, variables) for k, c in row_cells(self.rows[key]).items()}

    def _restyle(self) -> None:
        if self.data is not None:
            self.apply(self.data, force=True)

    # -- sorting ---------------------------------------------------------------------------------

    def _sorted_keys(self) -> list[str]:
        """Row keys in the current sort (kept per column and direction until the data changes:
        toggling back and forth costs nothing the second time)."""
        wanted = (self.sort_column, self.sort_desc)
        order = self._sorted.get(wanted)
        if order is None:
            value = SORT_VALUE[self.sort_column]
            raws = {k: value(r) for k, r in self.rows.items()}
            order = self._sorted[wanted] = sort_order(list(self.rows), raws, reverse=wanted[1])
        return order

    def _labels(self) -> dict[str, str]:
        arrow = "▼" if self.sort_desc else "▲"
        return {self.sort_column: SPEC_BY_KEY[self.sort_column].label + arrow}

    def set_sort(self, column: str, desc: bool, *, persist: bool = True) -> None:
        if column not in SPEC_BY_KEY:
            return
        self.sort_column, self.sort_desc = column, desc
        if persist:
            self.ivapp.save_pref(PREF_RESULTS_SORT_COLUMN, column)
            self.ivapp.save_pref(PREF_RESULTS_SORT_DIR, "desc" if desc else "asc")
        try:
            table = self.query_one(LazyTable)
        except NoMatches:
            return
        table.set_labels(self._labels())
        table.reorder(self._sorted_keys())
        self._update_title()

    def action_cycle_sort(self) -> None:
        try:
            keys = self.query_one(LazyTable).column_keys
        except NoMatches:
            return
        choice = next_sort(keys, self.sort_column, ASCENDING_FIRST)
        if choice is not None:
            self.set_sort(*choice)

    def action_reverse_sort(self) -> None:
        self.set_sort(self.sort_column, not self.sort_desc)

    @on(LiveTable.HeaderSelected)
    def _on_header(self, event: LiveTable.HeaderSelected) -> None:
        event.stop()
        self.set_sort(*header_sort(event.column, self.sort_column, self.sort_desc, ASCENDING_FIRST))

    # -- title, detail, actions ------------------------------------------------------------------

    def _update_title(self) -> None:
        try:
            title = self.query_one("#title", Static)
        except NoMatches:
            return
        arrow = "▼" if self.sort_desc else "▲"
        text = title_text(
            self.data, f"{SPEC_BY_KEY[self.sort_column].label} {arrow}", self._loading
        )
        if self.load_error is not None:
            text += f" · ledger unreadable: {self.load_error}"
        update_line(title, text)

    def highlighted(self) -> DecisionRow | None:
        try:
            key = self.query_one(LazyTable).cursor_key()
        except NoMatches:
            return None
        return None if key is None else self.rows.get(key)

    def _update_detail(self) -> None:
        try:
            detail = self.query_one("#row-detail", Static)
        except NoMatches:
            return
        row = self.highlighted()
        update_line(
            detail,
            Text(row_detail(row), no_wrap=True, overflow="ellipsis") if row is not None else "",
        )

    @on(LiveTable.RowHighlighted)
    def _on_highlight(self) -> None:
        self._update_detail()

    @on(LiveTable.RowSelected)
    def _on_row_selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        if row.snapshot_id is None:
            self.notify(f"{row.symbol} {row.entry_date}: no snapshot was stored for this decision")
            return
        self._open(row)

    @work(group="results-open", exclusive=True, exit_on_error=False)
    async def _open(self, row: DecisionRow) -> None:
        """The drill-down frozen on the decision's exact analysis (schema v11); for a row stored
        before it (or one that does not decode), the snapshot view of its stored object."""
        assert row.snapshot_id is not None
        try:
            analysis = await self.ivapp.backend.decision_analysis(row.snapshot_id)
        except Exception as exc:  # the store is unreadable: the snapshot view says the rest
            log.warning("results: the analysis of snapshot %d not read: %s", row.snapshot_id, exc)
            analysis = None
        if not self.is_current:  # the user moved on meanwhile
            return
        if analysis is None:
            from ivcrush_tui.app.screens.snapshot import SnapshotScreen

            self.app.push_screen(SnapshotScreen(row))
            return
        from ivcrush_tui.app.decision_view import FrozenDecision
        from ivcrush_tui.app.screens.ticker import TickerScreen

        decision = FrozenDecision(row, analysis)
        self.app.push_screen(TickerScreen(row.symbol, decision=decision))

    def action_reload(self) -> None:
        self.reload()
