"""Earnings calendar: one week of trading days at a time, each day's BMO/DMH/AMC names with their
entry date, implied move (when a scan has it) and whether the name is on the watchlist."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.app.bindings import CALENDAR_BINDINGS
from ivcrush_tui.app.formatting import (
    DASH,
    TIER_GLYPH,
    TIER_ROLE,
    TIMING_ORDER,
    TIMING_SHORT,
    Cell,
    fmt_num,
    implied_pct,
    styled,
)
from ivcrush_tui.app.widgets.live_table import ColumnSpec, LiveTable, fit_columns, update_line
from ivcrush_tui.app.widgets.status_bar import StatusBar
from ivcrush_tui.calendar import TradingCalendar, ny_date
from ivcrush_tui.domain import EarningsEvent, Timing

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("day", "Day", 11, 0),
    ColumnSpec("time", "When", 4, 0),
    ColumnSpec("key", "Sym", 6, 0),
    ColumnSpec("name", "Company", 18, 4),
    ColumnSpec("entry", "Entry", 15, 1),
    ColumnSpec("implied", "Impl%", 6, 2, right=True),
    ColumnSpec("tier", "Tier", 11, 3),
    ColumnSpec("wl", "List", 4, 1),
)


def week_bounds(today: dt.date, offset: int) -> tuple[dt.date, dt.date]:
    """The 7 calendar days starting `offset` weeks after `today` (inclusive bounds)."""
    start = today + dt.timedelta(days=7 * offset)
    return start, start + dt.timedelta(days=6)


def _day_label(d: dt.date) -> str:
    return f"{d:%a %m-%d}"


class CalendarScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(CALENDAR_BINDINGS)

    def __init__(self) -> None:
        super().__init__()
        self.week_offset = 0
        self.events: list[EarningsEvent] = []
        self.loaded_week: tuple[dt.date, dt.date] | None = None
        self.error: str | None = None

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="screen-title")
        yield LiveTable(id="calendar-table")
        yield Static("", id="row-detail", classes="row-detail")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        app = self.ivapp
        app.analysis_signal.subscribe(self, self._on_analysis)
        app.watchlist_signal.subscribe(self, lambda _s: self.render_week())
        app.theme_changed_signal.subscribe(self, lambda _t: self.render_week())
        self._configure_columns()
        self.load_week()
        self.query_one(LiveTable).focus()

    def on_resize(self) -> None:
        if self._configure_columns():
            self.render_week()

    def _configure_columns(self) -> bool:
        try:
            table = self.query_one(LiveTable)
        except NoMatches:
            return False
        width = self.size.width or self.app.size.width
        return table.configure(fit_columns(COLUMNS, max(20, width - 2), table.cell_padding))

    def bounds(self) -> tuple[dt.date, dt.date]:
        return week_bounds(ny_date(self.ivapp.backend.now()), self.week_offset)

    # -- loading -------------------------------------------------------------------------------

    @work(group="calendar", exclusive=True, exit_on_error=False)
    async def load_week(self) -> None:
        start, end = self.bounds()
        self._set_title(loading=True)
        await self.ivapp.wait_ready()
        try:
            events = await self.ivapp.backend.upcoming_events(start, end)
            self.error = None
        except Exception as exc:
            events = []
            self.error = f"could not load earnings: {exc}"
            self.notify(self.error, severity="error")
        self.events = list(events)
        self.loaded_week = (start, end)
        self.render_week()

    def _on_analysis(self, a: Analysis) -> None:
        # Implied moves fill in as scans complete (cheap: one week of rows).
        if any(e.symbol == a.symbol for e in self.events):
            self.render_week()

    # -- rendering -----------------------------------------------------------------------------

    def _rows(self, cal: TradingCalendar) -> list[tuple[str, dict[str, Cell]]]:
        app = self.ivapp
        start, end = self.loaded_week or self.bounds()
        today = ny_date(app.backend.now())
        try:
            visible = set(self.query_one(LiveTable).column_keys)
        except NoMatches:
            visible = set()
        by_day: dict[dt.date, list[EarningsEvent]] = {}
        for e in self.events:
            by_day.setdefault(e.date, []).append(e)
        rows: list[tuple[str, dict[str, Cell]]] = []
        seen: set[str] = set()
        day = start
        while day <= end:
            evs = sorted(by_day.get(day, []), key=lambda e: (TIMING_ORDER[e.timing], e.symbol))
            session = cal.is_session(day)
            if day.weekday() >= 5 and not evs:
                day += dt.timedelta(days=1)
                continue
            label = _day_label(day) + (" ◂" if day == today else "")
            if not evs:
                sess = cal.session(day)
                note = "market closed" if sess is None else "no earnings"
                if sess is not None and sess.early_close:
                    note = "half day · none"
                # The note goes in the first visible wide column (Company is dropped when narrow).
                where = "name" if "name" in visible else "entry"
                rows.append(
                    (
                        f"·{day.isoformat()}",
                        {
                            "day": Cell(label, None if session else "stale", bold=day == today),
                            where: Cell(note, "stale"),
                        },
                    )
                )
            for i, e in enumerate(evs):
                if e.symbol in seen:  # one row per name (a provider listing it twice)
                    continue
                seen.add(e.symbol)
                rows.append((e.symbol, self._event_cells(e, label if i == 0 else "", cal, today)))
            day += dt.timedelta(days=1)
        return rows

    def _event_cells(
        self, e: EarningsEvent, label: str, cal: TradingCalendar, today: dt.date
    ) -> dict[str, Cell]:
        app = self.ivapp
        a = app.results.get(e.symbol)
        entry = cal.entry_date(e.date, e.timing)
        entry_text = "today" if entry == today else _day_label(entry)
        imp = implied_pct(a)
        tier = a.tier if a is not None else None
        kept = a is not None and a.stale is not None  # last good values: faint, as in the watchlist
        if tier is not None:
            tier_cell = Cell(f"{TIER_GLYPH[tier]} {tier.value}", TIER_ROLE[tier], dim=kept)
        elif a is not None and a.error is not None and not a.ok:
            tier_cell = Cell(a.error.code[:11], "loss" if a.status.value == "error" else "stale")
        else:
            tier_cell = Cell(DASH, "stale")
        on_list = e.symbol in app.watchlist_symbols
        return {
            "key": Cell(e.symbol, None, bold=True),
            "day": Cell(label, None, bold=True),
            "time": Cell(
                TIMING_SHORT[e.timing],
                "accent"
                if e.timing is Timing.AMC
                else "tier-marginal"
                if e.timing is Timing.UNKNOWN
                else None,
            ),
            "name": Cell((e.name or "")[:18]),
            "entry": Cell(entry_text, "gain" if entry == today else None),
            "implied": Cell(
                fmt_num(imp), None if imp is not None else "stale", right=True, dim=kept
            ),
            "tier": tier_cell,
            "wl": Cell("✓" if on_list else "·", "gain" if on_list else "stale"),
        }

    def render_week(self) -> None:
        try:
            table = self.query_one(LiveTable)
        except NoMatches:
            return
        app = self.ivapp
        cal = app.backend.calendar
        rows = self._rows(cal)
        variables = app.theme_variables
        keys = [k for k, _ in rows]
        with app.batch_update():
            if table.row_keys() != keys:
                # Another week (or other events): a small table, rebuilt in order. Updates within
                # the same week only rewrite the cells that changed.
                table.clear()
            for key, cells in rows:
                table.upsert(
                    key, {c: styled(cells.get(c, Cell("")), variables) for c in table.column_keys}
                )
        self._set_title()
        self._update_detail()

    def _set_title(self, *, loading: bool = False) -> None:
        try:
            title = self.query_one("#title", Static)
        except NoMatches:
            return
        start, end = self.bounds()
        which = {0: "this week", 1: "next week", -1: "last week"}.get(
            self.week_offset, f"{self.week_offset:+d} weeks"
        )
        n = len(self.events) if not loading else 0
        text = f"Earnings · {start:%a %Y-%m-%d} – {end:%a %m-%d} ({which})"
        if loading:
            text += " · loading…"
        elif self.error:
            text += f" · {self.error}"
        else:
            text += f" · {n} report{'s' if n != 1 else ''}"
        update_line(title, text)

    def _update_detail(self) -> None:
        try:
            detail = self.query_one("#row-detail", Static)
        except NoMatches:
            return
        sym = self.highlighted()
        if sym is None:
            update_line(detail, "← → week · enter details · w add to watchlist")
            return
        ev = next((e for e in self.events if e.symbol == sym), None)
        if ev is None:
            update_line(detail, "")
            return
        cal = self.ivapp.backend.calendar
        reaction = cal.reaction_session(ev.date, ev.timing)
        text = (
            f"{sym} reports {ev.date:%a %Y-%m-%d} {ev.timing.value}: enter "
            f"{cal.entry_date(ev.date, ev.timing):%a %m-%d} 15:00–16:00 ET, "
            f"reaction {reaction:%a %m-%d}"
        )
        update_line(detail, Text(text, no_wrap=True, overflow="ellipsis"))

    # -- actions -------------------------------------------------------------------------------

    def highlighted(self) -> str | None:
        try:
            key = self.query_one(LiveTable).cursor_key()
        except NoMatches:
            return None
        if key is None or key.startswith("·"):
            return None
        return key

    @on(LiveTable.RowHighlighted)
    def _on_highlight(self) -> None:
        self._update_detail()

    @on(LiveTable.RowSelected)
    def _on_selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_week(self, delta: int) -> None:
        self.week_offset += delta
        self.load_week()

    def action_this_week(self) -> None:
        self.week_offset = 0
        self.load_week()

    def action_open(self) -> None:
        sym = self.highlighted()
        if sym is not None:
            self.ivapp.open_ticker(sym)

    def action_watch(self) -> None:
        sym = self.highlighted()
        if sym is None:
            self.notify("Highlight a ticker first")
            return
        if sym in self.ivapp.watchlist_symbols:
            self.notify(f"{sym} is already on the watchlist")
            return
        self.ivapp.add_symbols([sym])
