"""Per-ticker drill-down: straddle panel, statistics, recommendation, and three charts (skew, past
moves, term structure). Its fetch is a worker on this screen, so closing it cancels the fetch.
Given a ledger decision (app/decision_view.py) it is frozen on that decision's analysis: nothing
fetched, no refresh, no streamed or scanned update, a banner saying so."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.analytics.consistency import ConsistencyStats
from ivcrush_tui.analytics.event_move import EventMove
from ivcrush_tui.analytics.greeks import StraddleGreeks
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.analytics.vrp import TierBasis, VrpResult
from ivcrush_tui.app.bindings import TICKER_BINDINGS
from ivcrush_tui.app.formatting import (
    ACTION_ROLE,
    DASH,
    TIER_GLYPH,
    TIER_ROLE,
    fmt_clock_et,
    fmt_duration,
    fmt_interval,
    fmt_market_cap,
    fmt_na,
    fmt_num,
    fmt_pct,
    fmt_price,
    fmt_vol,
    quote_age_s,
    stale_reason,
)
from ivcrush_tui.app.messages import AnalysisReady
from ivcrush_tui.app.widgets.charts import HistoryChart, SkewChart, TermChart
from ivcrush_tui.app.widgets.status_bar import StatusBar
from ivcrush_tui.calendar import TradingCalendar, ny_date

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.app.decision_view import FrozenDecision

# A streamed ticker's analyses can arrive ten times a second; the panels and charts are redrawn at
# most this often (seconds), the latest analysis winning.
LIVE_SHOW_INTERVAL_S = 0.25
NARROW_BELOW = 100  # columns: below this the panels and charts stack in one scrolling column
BANNER_REFRESH_S = 1.0  # the stale banner's quote age, seconds


def header_text(a: Analysis | None, symbol: str, cal: TradingCalendar) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(symbol, style=Style(bold=True))
    if a is None:
        t.append(" · loading…")
        return t
    sched = a.schedule
    if sched is not None and sched.event.name:
        t.append(f" · {sched.event.name}")
    if a.market_cap is not None:
        t.append(f" · cap {fmt_market_cap(a.market_cap)}")
    t.append(f" · spot {fmt_price(a.spot)}")
    if sched is not None:
        ev = sched.event
        t.append(f" · reports {ev.date:%a %m-%d} {ev.timing.value}")
        t.append(f" · enter {sched.entry_date:%a %m-%d}")
        if sched.expiration is not None:
            t.append(f" · exp {sched.expiration:%a %m-%d}")
            info = a.expiration_info
            if info is not None:
                # Weekly or monthly, and how it settles (AM index roots settle at the open).
                t.append(f" {info.cycle} {info.settlement}")
        if sched.timing_flagged:
            t.append(" · timing unconfirmed")
    t.append(f" · {a.status.value} · as of {fmt_clock_et(a.as_of)} ET")
    return t


def straddle_panel(a: Analysis, cal: TradingCalendar) -> RenderableType:
    """ATM quotes, straddle, implied move, 1σ/2σ ranges, breakevens, Greeks and cost."""
    imp = a.implied
    if not isinstance(imp, ImpliedMove):
        return Text(
            f"Straddle {fmt_na(imp)}" if imp is not None else "Straddle n/a", style="italic"
        )
    atm = imp.atm
    exp = a.schedule.expiration if a.schedule else None
    dte = f" ({(exp - ny_date(a.as_of)).days}d)" if exp is not None else ""
    lines: list[RenderableType] = [
        Text(
            f"ATM strike {fmt_price(atm.strike)} · exp {exp:%a %m-%d}{dte}"
            if exp
            else f"ATM strike {fmt_price(atm.strike)}"
        )
    ]
    grid = Table.grid(padding=(0, 2))
    for _ in range(5):
        grid.add_column(justify="right")
    grid.add_row("", "Bid", "Ask", "Mid", "IV")
    grid.add_row(
        "Call",
        fmt_price(atm.call.bid),
        fmt_price(atm.call.ask),
        fmt_price(atm.call_mid),
        fmt_vol(a.call_iv),
    )
    grid.add_row(
        "Put",
        fmt_price(atm.put.bid),
        fmt_price(atm.put.ask),
        fmt_price(atm.put_mid),
        fmt_vol(a.put_iv),
    )
    lines.append(grid)
    interp = (
        ""
        if imp.bracket[0] == imp.bracket[1]
        else f" (interp. {imp.bracket[0]:g}–{imp.bracket[1]:g})"
    )
    lines.append(
        Text(f"Straddle {fmt_price(atm.straddle)} ATM · {fmt_price(imp.straddle)} at spot{interp}")
    )
    t = Text("Implied move ")
    t.append(f"±{fmt_pct(imp.implied_move_pct)}", style=Style(bold=True))
    t.append(f" · 1σ ±{fmt_pct(imp.move_1sd_pct)}")
    lines.append(t)
    lines.append(Text(f"1σ range {fmt_price(imp.bounds_1sd[0])} – {fmt_price(imp.bounds_1sd[1])}"))
    lines.append(Text(f"2σ range {fmt_price(imp.bounds_2sd[0])} – {fmt_price(imp.bounds_2sd[1])}"))
    lines.append(
        Text(f"Breakevens {fmt_price(imp.breakevens[0])} / {fmt_price(imp.breakevens[1])}")
    )
    if imp.note:
        lines.append(Text(f"⚠ {imp.note}", style="italic"))
    g = a.greeks
    if isinstance(g, StraddleGreeks):
        s = g.scaled(-100)  # one short contract: what the seller actually holds
        lines.append(
            Text(
                f"Short 1 ctr: Δ {fmt_num(s.delta, 1, sign=True)} "
                f"Γ {fmt_num(s.gamma, 2, sign=True)}"
                f" vega {fmt_num(s.vega, 1, sign=True)} Θ {fmt_num(s.theta, 1, sign=True)}/d"
            )
        )
    else:
        lines.append(Text(f"Greeks {fmt_na(g)}", style="italic"))
    vr = a.vrp if isinstance(a.vrp, VrpResult) else None
    cost = fmt_pct(vr.cost_pct) if vr is not None else DASH
    rv = fmt_vol(a.rv30) if isinstance(a.rv30, float) else DASH
    lines.append(Text(f"Cost {cost} round trip · RV30 {rv} · IV/RV {fmt_num(a.iv_rv)}"))
    liq = a.liquidity
    if liq is not None:
        lines.append(
            Text(
                f"Liq {liq.tier.value} · call {fmt_pct(liq.call.spread_pct, 1)}/OI "
                f"{liq.call.open_interest:,} · put {fmt_pct(liq.put.spread_pct, 1)}/OI "
                f"{liq.put.open_interest:,}"
            )
        )
    ev = a.event_move
    if isinstance(ev, EventMove):
        lines.append(
            Text(
                f"Event move 1σ {fmt_pct(ev.event_sd_pct)} · E|move| "
                f"{fmt_pct(ev.expected_abs_move_pct)} ({ev.method.replace('_', ' ')})"
            )
        )
    elif ev is not None:
        lines.append(Text(f"Event move {fmt_na(ev)}", style="italic"))
    return Group(*lines)


def stats_panel(a: Analysis, variables: dict[str, str]) -> RenderableType:
    """VRP and its interval, consistency and tail statistics, term structure and skew figures."""
    lines: list[Text] = []
    vr = a.vrp
    n = len(a.history.moves) if a.history else 0
    skipped = len(a.history.skipped) if a.history else 0
    lines.append(Text(f"Events used {n}" + (f" · {skipped} skipped" if skipped else "")))
    if isinstance(vr, VrpResult):
        tier = a.tier
        t = Text("VRP ")
        role = TIER_ROLE[tier] if tier is not None else "stale"
        t.append(
            f"{TIER_GLYPH[tier]} {fmt_num(vr.tiering_ratio)} "
            f"({tier.value if tier else 'not scored'})",
            style=Style(color=variables.get(role), bold=True),
        )
        # Which of the two ratios the tier is read from (METHODS §5).
        basis = "reaction" if vr.tier_basis is TierBasis.REACTION else "straddle"
        t.append(f" · tiered on {basis}")
        lines.append(t)
        reaction = Text(
            f"Reaction {fmt_num(vr.vrp_reaction_ratio)} · implied "
            f"{fmt_pct(vr.reaction_implied_move_pct)} · 90% {fmt_interval(vr.tiering_interval)}"
            if vr.vrp_reaction_ratio is not None
            else f"Reaction {fmt_na(vr.reaction_note or 'no decomposition')}",
            style="" if vr.vrp_reaction_ratio is not None else "italic",
        )
        lines.append(reaction)
        lines.append(
            Text(
                f"Straddle {fmt_num(vr.vrp_ratio)} (to expiration) · "
                f"90% {fmt_interval(vr.interval)}"
            )
        )
        lines.append(
            Text(f"Gap ratio {fmt_num(vr.vrp_gap_ratio)} · net of cost {fmt_num(vr.net_vrp)}")
        )
        lines.append(
            Text(
                f"Mean |close| {fmt_pct(vr.hist_mean_abs_move_pct)} · "
                f"|gap| {fmt_pct(vr.hist_mean_abs_gap_pct)}"
            )
        )
    else:
        lines.append(Text(f"VRP {fmt_na(vr)}", style="italic"))
    cs = a.consistency
    if isinstance(cs, ConsistencyStats):
        lines.append(
            Text(
                f"Recency-weighted {fmt_pct(cs.recency_weighted_mean_pct)} · median "
                f"{fmt_pct(cs.median_abs_pct)} · MAD {fmt_num(cs.mad_pct)}"
            )
        )
        lines.append(
            Text(f"Dispersion {fmt_num(cs.dispersion)} · edge score {fmt_num(cs.edge_score)}")
        )
        rising = {True: "rising", False: "not rising", None: "n/a"}[cs.trend_rising]
        lines.append(Text(f"Trend {fmt_num(cs.trend_pp_per_qtr, sign=True)} pp/qtr ({rising})"))
        t = Text(f"TRR {fmt_num(cs.trr)} ")
        t.append(
            f"({cs.trr_level.value})",
            style=Style(color=variables.get("loss")) if cs.trr_level.value == "high" else "",
        )
        p90 = f" · P90 {fmt_pct(cs.p90_abs_pct)} = {fmt_num(cs.p90_ratio)}× implied"
        t.append(p90 + (" ⚠ elevated" if cs.p90_elevated else ""))
        lines.append(t)
    else:
        lines.append(Text(f"Consistency {fmt_na(cs)}", style="italic"))
    term = a.term
    if term is not None:
        prem = " · event premium" if term.event_premium else ""
        slope = term.ts_slope_0_45
        # Already in vol points per day (METHODS §9).
        slope_text = DASH if slope is None or not math.isfinite(slope) else f"{slope:+.2f}"
        lines.append(Text(f"IV30 {fmt_vol(term.iv30)} · term slope {slope_text} vol pts/day"))
        lines.append(Text(f"Front/back IV {fmt_num(term.front_back_ratio)}{prem}"))
    sk = a.skew
    if isinstance(sk, SkewFit):
        rr = DASH if sk.rr25 is None else f"{100 * sk.rr25:+.1f}"
        bf = DASH if sk.bf25 is None else f"{100 * sk.bf25:+.1f}"
        shape = sk.shape.value if sk.shape else "n/a"
        r2 = "" if sk.r_squared is None else f" · R² {sk.r_squared:.2f}"  # hidden when flat
        lines.append(Text(f"Skew {shape} · RR25 {rr} · BF25 {bf} vol pts{r2}"))
    elif sk is not None:
        lines.append(Text(f"Skew {fmt_na(sk)}", style="italic"))
    return Group(*lines)


def recommendation_panel(a: Analysis, variables: dict[str, str]) -> RenderableType:
    lines: list[Text] = []
    if a.status is Status.ERROR and a.error is not None:
        t = Text("ERROR ", style=Style(color=variables.get("loss"), bold=True))
        t.append(f"[{a.error.code}] {a.error.message}")
        lines.append(t)
        if a.error.correlation_id:
            lines.append(Text(f"correlation id {a.error.correlation_id}"))
        return Group(*lines)
    rec = a.recommendation
    if rec is None:
        return Text(f"No recommendation ({a.status.value})", style="italic")
    lines.append(
        Text(
            rec.action.value,
            style=Style(color=variables.get(ACTION_ROLE[rec.action]), bold=True),
        )
    )
    for r in rec.reasons:
        lines.append(Text(f"• {r}"))
    for note in a.notes:
        if note not in rec.reasons:
            lines.append(Text(f"note: {note}", style="italic"))
    return Group(*lines)


def stale_banner_text(a: Analysis, now: dt.datetime) -> Text:
    """The banner of a drill-down whose figures are the last good ones: why the refresh
    fails, since when, and how old the quote behind the figures is."""
    t = Text(no_wrap=False)
    t.append("⚠ STALE ", style=Style(bold=True))
    if a.stale is not None:
        t.append(f"refresh failing {stale_reason(a.stale)}")
    age = fmt_duration(quote_age_s(a, now))
    t.append(f" · showing the last good values of {fmt_clock_et(a.as_of)} ET, quote {age} old")
    return t


class TickerScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(TICKER_BINDINGS)

    def __init__(self, symbol: str, *, decision: FrozenDecision | None = None) -> None:
        super().__init__()
        self.symbol = symbol
        self.decision = decision  # set: frozen on this decision's analysis (read-only)
        self.analysis: Analysis | None = None
        self.fetches = 0
        self._shown_at = -math.inf  # time.monotonic() of the last redraw
        self._due: Analysis | None = None  # the latest analysis waiting for its redraw

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(Text(self.symbol), id="title", classes="screen-title")
        yield Static("", id="stale-banner")
        if self.decision is not None:
            yield Static("", id="decision-banner")
        # Both scrollers take focus (keys scroll them); _set_narrow says which one is live.
        with ScrollableContainer(id="ticker-body"):
            with VerticalScroll(id="ticker-left"):
                yield Static("loading…", id="straddle", classes="panel")
                yield Static("", id="stats", classes="panel")
                yield Static("", id="recommendation", classes="panel")
            with Vertical(id="ticker-right"):
                yield SkewChart(id="skew-chart", classes="chart")
                yield HistoryChart(id="history-chart", classes="chart")
                yield TermChart(id="term-chart", classes="chart")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#straddle").border_title = "Straddle"
        self.query_one("#stats").border_title = "VRP · consistency · tail"
        self.query_one("#recommendation").border_title = "Recommendation"
        self.query_one("#skew-chart").border_title = "Skew"
        self.query_one("#history-chart").border_title = "Past earnings moves"
        self.query_one("#term-chart").border_title = "Term structure"
        self._set_narrow(self.app.size.width < NARROW_BELOW)
        self.app.theme_changed_signal.subscribe(self, lambda _t: self.show(self.analysis))
        if self.decision is not None:  # frozen: no subscription, no fetch, no ticking age
            from ivcrush_tui.app.decision_view import decision_banner

            self.query_one("#decision-banner", Static).update(decision_banner(self.decision))
            self.show(self.decision.analysis)
            return
        self.set_interval(BANNER_REFRESH_S, self._update_banner)  # the quote's age ticks
        self.ivapp.analysis_signal.subscribe(self, self._on_analysis)
        cached = self.ivapp.results.get(self.symbol)
        if cached is not None:
            self.show(cached)
        else:
            self.show(None)
        self.fetch()

    def on_resize(self) -> None:
        self._set_narrow(self.size.width < NARROW_BELOW)

    def _scroller(self) -> ScrollableContainer:
        """The container that scrolls in this layout: the whole body when narrow (one column),
        else the left panel column (the charts fill their column and never overflow)."""
        narrow = self.has_class("-narrow")
        return self.query_one("#ticker-body" if narrow else "#ticker-left", ScrollableContainer)

    def _set_narrow(self, narrow: bool) -> None:
        # Only the live scroller may take focus: a focused container that cannot scroll would
        # swallow PageDown/End/Tab and leave the charts and the recommendation out of reach.
        self.set_class(narrow, "-narrow")
        try:
            body = self.query_one("#ticker-body", ScrollableContainer)
            left = self.query_one("#ticker-left", ScrollableContainer)
        except NoMatches:
            return
        body.can_focus = narrow
        left.can_focus = not narrow
        live = body if narrow else left
        if self.focused is None or not self.focused.can_focus:
            live.focus()

    def action_scroll_body(self, direction: str) -> None:
        """j/k: scroll the live container one line (arrows and paging are its own bindings)."""
        scroller = self._scroller()
        if direction == "down":
            scroller.scroll_down()
        else:
            scroller.scroll_up()

    def _on_analysis(self, a: Analysis) -> None:
        if a.symbol != self.symbol:
            return
        wait = self._shown_at + LIVE_SHOW_INTERVAL_S - time.monotonic()
        if wait <= 0:
            self.show(a)
            return
        if self._due is None:
            self.set_timer(wait, self._show_due)
        self._due = a

    def _show_due(self) -> None:
        due, self._due = self._due, None
        if due is not None:
            self.show(due)

    @work(group="ticker", exclusive=True, exit_on_error=False)
    async def fetch(self) -> None:
        await self.ivapp.wait_ready()
        try:
            a = await self.ivapp.backend.analyze(self.symbol)
        except Exception as exc:
            self.notify(f"{self.symbol}: {exc}", severity="error")
            return
        self.fetches += 1
        # A failed refresh keeps what is shown (or the watchlist's last good result), stale.
        a = self.ivapp.hold_last_good(self.analysis or self.ivapp.results.get(self.symbol), a)
        self.show(a)
        if self.symbol in self.ivapp.watchlist_symbols:
            self.app.post_message(AnalysisReady(a))  # fresher data for the watchlist row too

    def show(self, a: Analysis | None) -> None:
        self._shown_at = time.monotonic()
        self._due = None  # whatever waited for a redraw is older than this
        if a is not None:
            self.analysis = a
        a = self.analysis
        cal = self.ivapp.backend.calendar
        variables = dict(self.app.theme_variables)
        try:
            self.query_one("#title", Static).update(header_text(a, self.symbol, cal))
            self._update_banner()
            if a is None:
                return
            self.query_one("#straddle", Static).update(straddle_panel(a, cal))
            self.query_one("#stats", Static).update(stats_panel(a, variables))
            self.query_one("#recommendation", Static).update(recommendation_panel(a, variables))
            for chart in self.query(".chart").results():
                if isinstance(chart, SkewChart | HistoryChart | TermChart):
                    chart.show(a)
        except NoMatches:
            return

    def _update_banner(self) -> None:
        """Shown while the analysis is the last good one kept through a failed refresh."""
        a = self.analysis
        try:
            banner = self.query_one("#stale-banner", Static)
        except NoMatches:
            return
        shown = a is not None and a.stale is not None
        banner.set_class(shown, "-shown")
        self.set_class(shown, "-stale")
        if a is not None and shown:
            banner.update(stale_banner_text(a, self.ivapp.backend.now()))

    def action_back(self) -> None:
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A frozen drill-down has nothing to refresh (the footer leaves the key out).
        return not (action == "refresh" and self.decision is not None)

    def action_refresh(self) -> None:
        if self.decision is None:  # a frozen one is never fetched, however the action comes
            self.fetch()
