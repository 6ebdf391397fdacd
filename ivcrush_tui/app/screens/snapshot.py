"""The drill-down of one ledger decision as it was at decision time: the stored analysis object
(read-only, the header says so) beside what happened next. Opened with Enter on the Results
screen; `escape` goes back. Nothing here is fetched again: a snapshot is evidence, not a quote."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from ivcrush_tui.app.bindings import SNAPSHOT_BINDINGS
from ivcrush_tui.app.snapshot_view import (
    header_text,
    outcome_panel,
    past_moves_panel,
    recommendation_panel,
    stats_panel,
    straddle_panel,
)
from ivcrush_tui.app.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.store.repositories.ledger_rows import DecisionRow

NARROW_BELOW = 100  # columns: below this the two columns stack


class SnapshotScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(SNAPSHOT_BINDINGS)

    def __init__(self, row: DecisionRow) -> None:
        super().__init__()
        self.row = row
        self.payload: dict[str, object] | None = None
        self.loaded = False

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(
            Text(f"{self.row.symbol} · AT DECISION TIME (read-only snapshot) · loading…"),
            id="title",
            classes="screen-title",
        )
        with VerticalScroll(id="snapshot-body"):
            with Vertical(id="snapshot-left"):
                yield Static("loading…", id="snap-straddle", classes="panel")
                yield Static("", id="snap-stats", classes="panel")
            with Vertical(id="snapshot-right"):
                yield Static("", id="snap-outcome", classes="panel")
                yield Static("", id="snap-recommendation", classes="panel")
                yield Static("", id="snap-moves", classes="panel")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        titles = {
            "#snap-straddle": "Straddle at decision time",
            "#snap-stats": "VRP · consistency · tail",
            "#snap-outcome": "Outcome (from the ledger)",
            "#snap-recommendation": "Recommendation",
            "#snap-moves": "Past earnings moves used",
        }
        for sel, title in titles.items():
            self.query_one(sel).border_title = title
        self.set_class(self.app.size.width < NARROW_BELOW, "-narrow")
        self.query_one("#snapshot-body").focus()
        self.query_one("#snap-outcome", Static).update(outcome_panel(self.row))
        self._load()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")

    @work(group="snapshot", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        assert self.row.snapshot_id is not None
        try:
            payload = await self.ivapp.backend.decision_snapshot(self.row.snapshot_id)
        except Exception as exc:
            payload = None
            self.notify(f"Could not read the snapshot: {exc}", severity="error")
        self.payload = payload
        self.loaded = True
        self.show()

    def show(self) -> None:
        p = self.payload
        try:
            title = self.query_one("#title", Static)
            if p is None:
                title.update(
                    Text(f"{self.row.symbol} · AT DECISION TIME (read-only) · snapshot unreadable")
                )
                self.query_one("#snap-straddle", Static).update(
                    Text(
                        "The stored snapshot of this decision is missing or unreadable"
                        " (a damaged row is skipped, never shown half-read).",
                        style="italic",
                    )
                )
                return
            variables = dict(self.app.theme_variables)
            title.update(header_text(p, self.row))
            self.query_one("#snap-straddle", Static).update(straddle_panel(p))
            self.query_one("#snap-stats", Static).update(stats_panel(p))
            self.query_one("#snap-recommendation", Static).update(
                recommendation_panel(p, variables)
            )
            self.query_one("#snap-moves", Static).update(past_moves_panel(p))
        except NoMatches:
            return

    def action_back(self) -> None:
        self.dismiss()
