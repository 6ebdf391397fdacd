"""The watchlist: one row per name, filled in as scan results stream.

Updates are coalesced in `pending` (latest wins) and applied as cell diffs a few times a second
inside `app.batch_update()` (immediately when a scan finishes or the watchlist changes), in
time-boxed slices with a frame between them, so key presses and their frames are served in
between. A re-sort moves most visible lines, so each one is a full repaint (a frame longer
than Textual's 16.7 ms frame period, which also delays the next frame by a period): while a
scan streams, the rows are re-sorted at most once a second; otherwise (a scan has just ended,
a one-off result) once a flush has applied every pending row; at once when the user changes
the sort. Sorting uses the raw values behind the cells (None last), never the formatted
strings; the sort is persisted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.app.backend import PREF_SORT_COLUMN, PREF_SORT_DIR
from ivcrush_tui.app.bindings import WATCHLIST_BINDINGS
from ivcrush_tui.app.formatting import (
    Cell,
    SortValue,
    analysis_cells,
    placeholder_cells,
    row_detail,
    sort_order,
    styled,
)
from ivcrush_tui.app.screens.modals import ConfirmModal
from ivcrush_tui.app.widgets.live_table import ColumnSpec, LiveTable, fit_columns, update_line
from ivcrush_tui.app.widgets.status_bar import StatusBar
from ivcrush_tui.app.widgets.table_parts import header_sort, next_sort

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

# Fixed widths (content cells); priority 0 is never dropped, higher numbers go first when narrow.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("ticker", "Sym", 6, 0),
    ColumnSpec("earnings", "Report", 9, 2),
    ColumnSpec("entry", "Entry", 6, 2, right=True),
    ColumnSpec("spot", "Spot", 7, 4, right=True),
    ColumnSpec("implied", "Impl%", 6, 1, right=True),
    ColumnSpec("hist", "Hist%", 6, 3, right=True),
    ColumnSpec("vrp", "VRP", 6, 0, right=True),
    ColumnSpec("interval", "VRP 90%", 9, 6, right=True),
    ColumnSpec("tier", "Tier", 9, 1),
    ColumnSpec("liq", "Liq", 6, 5),
    ColumnSpec("skew", "Skew", 7, 9),
    ColumnSpec("trr", "TRR", 3, 7, right=True),
    ColumnSpec("rec", "Rec", 5, 0),
    ColumnSpec("age", "Age", 5, 8, right=True),
)
SPEC_BY_KEY = {s.key: s for s in COLUMNS}
# Columns where "best first" is ascending (names, dates, time to entry); the rest default to desc.
_ASCENDING_FIRST = frozenset({"ticker", "earnings", "entry", "age"})
DEFAULT_SORT = ("vrp", True)
FLUSH_INTERVAL_S = 0.25  # coalesced updates are applied at most 4 times a second
STREAM_SORT_INTERVAL_S = 1.0  # while a scan streams, rows are re-sorted at most this often
# A flush works in slices: at least FLUSH_MIN_ROWS rows, then until FLUSH_BUDGET_S has passed;
# the rest follows in the next slice, so a key press never waits behind hundreds of rows.
FLUSH_BUDGET_S = 0.008
FLUSH_MIN_ROWS = 16
TIME_REFRESH_S = 5.0  # entry countdown and age cells


class WatchlistScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(WATCHLIST_BINDINGS)

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, Analysis | None] = {}
        self.raw: dict[str, dict[str, SortValue]] = {}
        self.row_text: dict[str, str] = {}  # for the filter: ticker + tier + recommendation
        self.sort_column: str = DEFAULT_SORT[0]
        self.sort_desc: bool = DEFAULT_SORT[1]
        self.filter_text = ""
        self.flushes = 0
        self._order_dirty = True
        self._resort_now = False  # the user changed the sort: re-sort at the next flush
        self._sorted_at = 0.0  # perf_counter seconds of the last re-sort
        self._all_dirty = True
        self._active = True
        self._flush_queued = False
        self._wanted: tuple[tuple[str, ...], frozenset[str]] = ((), frozenset())
        # Styled text per cell (a cell that did not change is the same Text, so the table's diff
        # is an identity check), valid for the theme variables it was built with.
        self._styled: dict[Cell, Text] = {}
        self._styled_vars: dict[str, str] = {}

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="screen-title")
        yield LiveTable(id="watchlist-table")
        yield Input(placeholder="filter: ticker, tier or recommendation", id="filter")
        yield Static("", id="row-detail", classes="row-detail")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        app = self.ivapp
        # Immediate: called while the app handles the result, instead of as one more message
        # (and a Textual callback dispatch) per streamed result on this screen's queue.
        app.analysis_signal.subscribe(self, self._on_analysis, immediate=True)
        app.watchlist_signal.subscribe(self, self._on_watchlist)
        app.scan_signal.subscribe(self, self._on_scan)
        app.theme_changed_signal.subscribe(self, lambda _t: self.mark_all_dirty(flush=True))
        self.set_interval(FLUSH_INTERVAL_S, self.flush)
        self.set_interval(TIME_REFRESH_S, lambda: self.mark_all_dirty(flush=False))
        self.query_one("#filter", Input).display = False
        self._configure_columns()
        self._load_sort()
        self.flush()
        self.query_one(LiveTable).focus()

    # -- incoming data ---------------------------------------------------------------------------

    def _on_analysis(self, analysis: Analysis) -> None:
        if analysis.symbol in self.ivapp.watchlist_symbols:
            self.pending[analysis.symbol] = analysis
            if not self.ivapp.scan_running:
                # A one-off result (added name, drill-down refresh) is shown at once; results
                # arriving together (a scan's tail) still share one flush.
                self._queue_flush()

    def _queue_flush(self) -> None:
        """Flush after the next frame. Not `call_later`: Textual runs a pump's queued messages
        back to back, and draws this screen only once its queue is empty, so slices posted one
        after another would run together, with no frame (and no key's frame) in between."""
        if not self._flush_queued:
            self._flush_queued = True
            self.call_after_refresh(self._queued_flush)

    def _queued_flush(self) -> None:
        self._flush_queued = False
        self.flush()

    def _on_watchlist(self, _symbols: tuple[str, ...]) -> None:
        self.mark_all_dirty(flush=True)

    def _on_scan(self, started: bool) -> None:
        if not started:
            self.flush()  # a finished scan is shown at once, not at the next tick
        self._update_title()

    def mark_all_dirty(self, *, flush: bool) -> None:
        self._all_dirty = True
        if flush:
            self.flush()

    # -- applying updates ------------------------------------------------------------------------

    def _cells(self, symbol: str, a: Analysis | None) -> dict[str, Cell]:
        if a is None:
            return placeholder_cells(symbol)
        app = self.ivapp
        try:
            now = app.backend.now()
            return analysis_cells(a, now, app.backend.calendar, stale_after_s=3 * app.refresh_s)
        except Exception as exc:  # a formatting bug costs one row, never the screen
            cells = placeholder_cells(symbol)
            cells["tier"] = Cell(f"⚠ {type(exc).__name__}"[:9], "loss")
            return cells

    def _matches(self, symbol: str) -> bool:
        if not self.filter_text:
            return True
        return self.filter_text in self.row_text.get(symbol, symbol.lower())

    def flush(self) -> None:
        """Apply pending updates as cell diffs (skipped while another screen is on top)."""
        if not self._active or not self.is_mounted:
            return
        try:
            table = self.query_one(LiveTable)
        except NoMatches:
            return
        app = self.ivapp
        symbols = app.watchlist_symbols
        full = self._all_dirty  # the watchlist, the filter or the time changed: every row
        if full:
            for s in symbols:
                self.pending.setdefault(s, app.results.get(s))
            self._all_dirty = False
        if not self.pending and not self._order_dirty:
            return
        variables = app.theme_variables
        if variables != self._styled_vars or len(self._styled) > 20_000:
            self._styled.clear()  # styled with other colours (or grown with old ages)
            self._styled_vars = dict(variables)
        if self._wanted[0] is not symbols:
            self._wanted = (symbols, frozenset(symbols))
        wanted = self._wanted[1]
        deadline = time.perf_counter() + FLUSH_BUDGET_S
        done = 0
        with app.batch_update():
            for sym in list(self.pending):
                if done >= FLUSH_MIN_ROWS and time.perf_counter() > deadline:
                    break  # the rest in the next slice: a key press waits for one slice at most
                a = self.pending.pop(sym)
                done += 1
                if sym not in wanted:
                    continue
                cells = self._cells(sym, a)
                old_raw = self.raw.get(sym, {}).get(self.sort_column)
                self.raw[sym] = {k: c.raw for k, c in cells.items()}
                if old_raw != self.raw[sym].get(self.sort_column):
                    self._order_dirty = True
                self.row_text[sym] = " ".join((sym, cells["tier"].text, cells["rec"].text)).lower()
                if not self._matches(sym):
                    table.remove_key(sym)
                    continue
                if not table.has_row(sym):
                    self._order_dirty = True
                table.upsert(sym, {k: self._text(cells[k], variables) for k in table.column_keys})
            if full:  # rows only leave the watchlist or the filter in a full flush
                for stale in set(self.raw) - wanted:
                    del self.raw[stale]
                    self.row_text.pop(stale, None)
                visible = [s for s in symbols if self._matches(s)]
                if len(visible) != table.row_count or set(table.row_keys()) - set(visible):
                    table.retain(visible)
            if self._order_dirty and (
                self._resort_now
                or (
                    time.perf_counter() - self._sorted_at > STREAM_SORT_INTERVAL_S
                    if app.scan_running
                    else not self.pending
                )
            ):
                self._apply_sort(table)
        self.flushes += 1
        self._update_title()
        self._update_detail()
        if self.pending:
            self._queue_flush()

    def _text(self, cell: Cell, variables: dict[str, str]) -> Text:
        memo = self._styled
        text = memo.get(cell)
        if text is None:
            text = memo[cell] = styled(cell, variables)
        return text

    def _apply_sort(self, table: LiveTable) -> None:
        keys = [k for k in self.ivapp.watchlist_symbols if table.has_row(k)]
        raws = {k: self.raw.get(k, {}).get(self.sort_column) for k in keys}
        table.apply_order(sort_order(keys, raws, reverse=self.sort_desc))
        arrow = "▼" if self.sort_desc else "▲"
        table.set_labels({self.sort_column: SPEC_BY_KEY[self.sort_column].label + arrow})
        self._order_dirty = self._resort_now = False
        self._sorted_at = time.perf_counter()

    # -- layout ----------------------------------------------------------------------------------

    def _configure_columns(self) -> None:
        try:
            table = self.query_one(LiveTable)
        except NoMatches:
            return
        width = self.size.width or self.app.size.width
        specs = fit_columns(COLUMNS, max(20, width - 2), table.cell_padding)
        if table.configure(specs):
            self._order_dirty = True
            self.mark_all_dirty(flush=False)

    def on_resize(self) -> None:
        self._configure_columns()
        self.flush()

    def on_screen_suspend(self) -> None:
        self._active = False

    def on_screen_resume(self) -> None:
        self._active = True
        self.flush()

    # -- header, detail --------------------------------------------------------------------------

    def _update_title(self) -> None:
        try:
            title = self.query_one("#title", Static)
        except NoMatches:
            return
        app = self.ivapp
        n = len(app.watchlist_symbols)
        arrow = "▼" if self.sort_desc else "▲"
        parts = [f"Watchlist · {n} name{'s' if n != 1 else ''}"]
        parts.append(f"sorted by {SPEC_BY_KEY[self.sort_column].label} {arrow}")
        if self.filter_text:
            parts.append(f"filter “{self.filter_text}”")
        if app.scan_running:
            prog = app.scan_progress
            if prog is not None:
                parts.append(f"scanning {prog[0]}/{prog[1]}…")
        elif not app.watchlist_loaded:
            parts.append("loading…")
        elif n == 0:
            parts.append(f"empty: press {app.key_for('watchlist.add')} to add a ticker")
        update_line(title, " · ".join(parts))

    def _update_detail(self) -> None:
        try:
            table = self.query_one(LiveTable)
            detail = self.query_one("#row-detail", Static)
        except NoMatches:
            return
        key = table.cursor_key()
        if key is None:
            update_line(detail, "")
            return
        a = self.ivapp.results.get(key)
        text = row_detail(a, key)
        role = (
            "warning"
            if a is not None and a.stale is not None
            else "loss"
            if a is not None and a.error is not None and not a.ok
            else None
        )
        color = self.app.theme_variables.get(role) if role else None
        update_line(detail, Text(text, style=color or "", no_wrap=True, overflow="ellipsis"))

    @on(LiveTable.RowHighlighted)
    def _on_highlight(self) -> None:
        self._update_detail()

    @on(LiveTable.RowSelected)
    def _on_row_selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self.ivapp.open_ticker(event.key)

    @on(LiveTable.HeaderSelected)
    def _on_header(self, event: LiveTable.HeaderSelected) -> None:
        event.stop()
        self.set_sort(
            *header_sort(event.column, self.sort_column, self.sort_desc, _ASCENDING_FIRST)
        )

    # -- sorting ----------------------------------------------------------------------------------

    @work(group="watchlist-prefs", exit_on_error=False)
    async def _load_sort(self) -> None:
        await self.ivapp.wait_ready()
        backend = self.ivapp.backend
        try:
            col = await backend.get_pref(PREF_SORT_COLUMN)
            direction = await backend.get_pref(PREF_SORT_DIR)
        except Exception:
            return
        if col in SPEC_BY_KEY:
            self.set_sort(col, direction != "asc", persist=False)

    def set_sort(self, column: str, desc: bool, *, persist: bool = True) -> None:
        if column not in SPEC_BY_KEY:
            return
        old = self.sort_column
        self.sort_column, self.sort_desc = column, desc
        self._order_dirty = self._resort_now = True
        try:
            table = self.query_one(LiveTable)
        except NoMatches:
            return
        if old != column:
            table.set_labels({})  # drop the old arrow
        if persist:
            self.ivapp.save_pref(PREF_SORT_COLUMN, column)
            self.ivapp.save_pref(PREF_SORT_DIR, "desc" if desc else "asc")
        self.flush()

    def action_cycle_sort(self) -> None:
        try:
            keys = self.query_one(LiveTable).column_keys
        except NoMatches:
            return
        choice = next_sort(keys, self.sort_column, _ASCENDING_FIRST)
        if choice is not None:
            self.set_sort(*choice)

    def action_reverse_sort(self) -> None:
        self.set_sort(self.sort_column, not self.sort_desc)

    # -- filter -----------------------------------------------------------------------------------

    def action_filter(self) -> None:
        try:
            box = self.query_one("#filter", Input)
        except NoMatches:
            return
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip().lower()
        self.mark_all_dirty(flush=True)

    @on(Input.Submitted, "#filter")
    def _on_filter_submitted(self) -> None:
        try:
            self.query_one(LiveTable).focus()
        except NoMatches:
            return
        if not self.filter_text:
            self.query_one("#filter", Input).display = False

    def action_clear_filter(self) -> None:
        try:
            box = self.query_one("#filter", Input)
        except NoMatches:
            return
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.mark_all_dirty(flush=True)
        self.query_one(LiveTable).focus()

    # -- editing and navigation -------------------------------------------------------------------

    def highlighted(self) -> str | None:
        try:
            return self.query_one(LiveTable).cursor_key()
        except NoMatches:
            return None

    def action_add(self) -> None:
        self.ivapp.action_add_ticker()

    def action_remove(self) -> None:
        symbol = self.highlighted()
        if symbol is None:
            self.notify("Nothing to remove")
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.ivapp.remove_symbols([symbol])

        self.app.push_screen(ConfirmModal(f"Remove {symbol} from the watchlist?"), done)

    def action_open(self) -> None:
        symbol = self.highlighted()
        if symbol is not None:
            self.ivapp.open_ticker(symbol)

    def cells_for(self, symbol: str) -> Mapping[str, str]:
        """The displayed text of a row by column key (for tests and debugging)."""
        try:
            table = self.query_one(LiveTable)
            row = table.get_row(symbol)
        except Exception:
            return {}
        return {
            k: (v.plain if isinstance(v, Text) else str(v))
            for k, v in zip(table.column_keys, row, strict=False)
        }
