"""Health: each provider and component (status, latency with a sparkline of recent calls, breaker
and time to half-open, budgets, cache hit rate, last error with its correlation id), plus the
recent per-ticker errors seen in scans. Refreshes every few seconds while visible."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar, cast

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.app.bindings import HEALTH_BINDINGS
from ivcrush_tui.app.formatting import (
    BREAKER_GLYPH,
    BREAKER_ROLE,
    DASH,
    fmt_clock_et,
    fmt_duration,
    fmt_num,
)
from ivcrush_tui.app.widgets.status_bar import StatusBar
from ivcrush_tui.engine.health_model import (
    ComponentHealth,
    HealthReport,
    HealthStatus,
    latency_text,
)

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

REFRESH_S = 3.0
_STATUS_GLYPH = {HealthStatus.HEALTHY: "●", HealthStatus.DEGRADED: "◐", HealthStatus.DOWN: "✕"}
_STATUS_ROLE = {
    HealthStatus.HEALTHY: "gain",
    HealthStatus.DEGRADED: "warning",
    HealthStatus.DOWN: "loss",
}


def component_lines(c: ComponentHealth, variables: dict[str, str]) -> tuple[Text, Text, Text]:
    """The summary line, the detail/operations line and the last-error line of one component."""
    head = Text(no_wrap=True, overflow="ellipsis")
    color = variables.get(_STATUS_ROLE[c.status])
    head.append(f"{_STATUS_GLYPH[c.status]} {c.name:<13}", style=Style(color=color, bold=True))
    head.append(f"{c.status.value:<9}", style=Style(color=color))
    # The last good call's latency and age when no check of its own was made (Alpha Vantage is
    # never probed); a provider (it has a breaker) with none says so rather than "— ms", and a
    # component that has no latency (cache, backfill) shows none.
    latency = latency_text(c) or ("no call yet" if c.breaker is not None else "")
    if latency:
        head.append(f" latency {latency}")
    if c.breaker is not None:
        b_color = variables.get(BREAKER_ROLE.get(c.breaker, "warning"))
        head.append("  breaker ")
        head.append(f"{BREAKER_GLYPH.get(c.breaker, '?')} {c.breaker}", style=Style(color=b_color))
        if c.seconds_to_half_open is not None:
            head.append(f" (half-open in {fmt_duration(c.seconds_to_half_open)})")
    if c.budget_left is not None:
        total = f"/{c.budget_total}" if c.budget_total is not None else ""
        label = "quota" if c.name == "alphavantage" else "budget"
        head.append(f"  {label} {c.budget_left}{total}")
        if c.budget_resets_in_s is not None:
            head.append(f" (resets in {fmt_duration(c.budget_resets_in_s)})")
    detail = Text(c.detail, no_wrap=True, overflow="ellipsis", style=Style(dim=True))
    if c.operations:
        ops = " · ".join(
            f"{o.name} n={o.count} mean {fmt_num(o.mean_ms, 0)} p95 {fmt_num(o.p95_ms, 0)} "
            f"p99 {fmt_num(o.p99_ms, 0)} ms"
            for o in c.operations
        )
        detail.append("  │  " + ops)
    err = Text(no_wrap=True, overflow="ellipsis")
    if c.last_error is not None:
        e = c.last_error
        err.append(f"⚠ [{e.code}] ", style=Style(color=variables.get("loss"), bold=True))
        err.append(e.message)
        if e.correlation_id:
            err.append(f"  id {e.correlation_id}", style=Style(bold=True))
        if e.at is not None:
            err.append(f"  at {fmt_clock_et(e.at, seconds=True)} ET")
    else:
        err.append("no recent error", style=Style(dim=True))
    return head, detail, err


def stream_line(report: HealthReport, variables: dict[str, str]) -> Text:
    """The market stream's line: LIVE with events/s, last event age, reconnects and symbols, or
    POLL with the reason (issue 14)."""
    data = report.to_json()["stream"]
    line = Text(no_wrap=True, overflow="ellipsis")
    live = data.get("mode") == "LIVE"
    role = "gain" if live else "warning"
    glyph = "●" if live else "◐"
    line.append(f"{glyph} {'stream':<13}", style=Style(color=variables.get(role), bold=True))
    line.append(f"{data.get('mode', 'POLL'):<9}", style=Style(color=variables.get(role)))
    if live:
        age = data.get("last_event_age_s")
        line.append(
            f"{data.get('events_per_s', 0):.0f} events/s · last event "
            f"{DASH if age is None else f'{age:.1f} s'} ago · "
            f"{data.get('reconnects', 0)} reconnects · {data.get('symbols', 0)} symbols "
            f"({data.get('streamed_tickers', 0)} tickers)"
        )
    else:
        line.append(str(data.get("reason") or "not streaming"), style=Style(dim=True))
    return line


def card_id(name: str) -> str:
    return "card-" + "".join(ch if ch.isalnum() else "-" for ch in name)


class ComponentCard(Vertical):
    """One component: three text lines and a latency sparkline; updated in place.

    The children are created up front and updated through these references: nested children are
    mounted a step later than the card itself, so querying them right after mounting may miss."""

    def __init__(self, name: str) -> None:
        super().__init__(id=card_id(name), classes="card")
        self.component_name = name
        self.head = Static("", classes="card-head")
        self.detail = Static("", classes="card-detail")
        self.spark: Sparkline = Sparkline((), classes="card-spark")
        self.error = Static("", classes="card-error")
        self.spark_row = Horizontal(classes="card-spark-row")

    def compose(self) -> ComposeResult:
        yield self.head
        yield self.detail
        with self.spark_row:
            yield Static("latency", classes="card-spark-label")
            yield self.spark
        yield self.error

    def show(self, c: ComponentHealth) -> None:
        head, detail, err = component_lines(c, dict(self.app.theme_variables))
        self.head.update(head)
        self.detail.update(detail)
        self.error.update(err)
        # A new tuple each time: Sparkline only redraws when `data` is reassigned.
        self.spark.data = tuple(c.recent_latencies_ms)
        self.spark_row.display = bool(c.recent_latencies_ms)
        # A few cells per call reads better than a handful of calls stretched over 60 cells.
        self.spark.styles.width = min(60, max(10, 3 * len(c.recent_latencies_ms)))


class HealthScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(HEALTH_BINDINGS)

    def __init__(self) -> None:
        super().__init__()
        self.report: HealthReport | None = None
        self.refreshes = 0
        self._visible = True

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("Health · checking…", id="title", classes="screen-title")
        with VerticalScroll(id="health-body"):
            yield Vertical(id="cards")
            yield Static("", id="stream-line")
            yield Static("Recent ticker errors", classes="section-title")
            yield DataTable(id="errors-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#errors-table", DataTable)
        table.add_column("Time ET", width=8, key="at")
        table.add_column("Ticker", width=8, key="symbol")
        table.add_column("Code", width=14, key="code")
        table.add_column("Correlation id", width=14, key="corr")
        table.add_column("Message", width=60, key="message")
        self.ivapp.analysis_signal.subscribe(self, self._on_analysis)
        self.ivapp.scan_signal.subscribe(self, lambda _s: self.show_errors())
        self.set_interval(REFRESH_S, self._tick)
        self.refresh_health()
        self.show_errors()

    def on_screen_suspend(self) -> None:
        self._visible = False

    def on_screen_resume(self) -> None:
        self._visible = True
        self.refresh_health()
        self.show_errors()

    def _tick(self) -> None:
        if self._visible:
            self.refresh_health()

    def _on_analysis(self, a: Analysis) -> None:
        if a.error is not None and not a.ok and self._visible:
            self.show_errors()

    def action_refresh_health(self) -> None:
        self.refresh_health(probe=True)  # asked for: a real check, not a recent call's word

    @work(group="health", exclusive=True, exit_on_error=False)
    async def refresh_health(self, probe: bool = False) -> None:
        await self.ivapp.wait_ready()
        try:
            report = await self.ivapp.backend.health(probe=probe)
        except Exception as exc:
            self._set_title(f"Health · check failed: {exc}")
            return
        self.report = report
        self.refreshes += 1
        await self._show(report)

    def _set_title(self, text: str | Text) -> None:
        with contextlib.suppress(NoMatches):
            self.query_one("#title", Static).update(text)

    async def _show(self, report: HealthReport) -> None:
        variables = self.app.theme_variables
        status = report.status
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Health · ")
        title.append(
            f"{_STATUS_GLYPH[status]} {status.value.upper()}",
            style=Style(color=variables.get(_STATUS_ROLE[status]), bold=True),
        )
        title.append(f" · {'DEMO' if report.demo else 'LIVE'} · checked ")
        title.append(f"{fmt_clock_et(report.checked_at, seconds=True)} ET")
        self._set_title(title)
        try:
            cards = self.query_one("#cards", Vertical)
        except NoMatches:
            return
        for c in report.components:
            try:
                card = cards.query_one(f"#{card_id(c.name)}", ComponentCard)
            except NoMatches:
                card = ComponentCard(c.name)
                await cards.mount(card)
            card.show(c)
        with contextlib.suppress(NoMatches):
            line = self.query_one("#stream-line", Static)
            line.display = report.stream is not None or report.stream_owner is not None
            line.update(stream_line(report, variables))

    def show_errors(self) -> None:
        try:
            table = self.query_one("#errors-table", DataTable)
        except NoMatches:
            return
        records = list(self.ivapp.recent_errors)[:50]
        with self.app.batch_update():
            table.clear()
            if not records:
                table.add_row("", "", "", "", Text("none", style="dim"), key="none")
            for i, r in enumerate(records):
                table.add_row(
                    fmt_clock_et(r.at, seconds=True),
                    r.symbol,
                    r.code,
                    r.correlation_id or DASH,
                    r.message,
                    key=f"e{i}",
                )
