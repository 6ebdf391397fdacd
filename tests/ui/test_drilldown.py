"""Issue 15 console defects: drill-down keyboard scrolling at 80x24, the small glitches, the
expiration facts and market cap in the header, and the health latency line."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import plotext  # type: ignore[import-untyped]
import pytest
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.widgets import Static

from ivcrush_tui.analytics.vrp import VrpResult
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.bindings import APP_BINDINGS
from ivcrush_tui.app.formatting import analysis_cells, fmt_market_cap, fmt_na
from ivcrush_tui.app.screens.health import component_lines
from ivcrush_tui.app.screens.ticker import TickerScreen, header_text
from ivcrush_tui.app.widgets.charts import HistoryChart, SkewChart, even_ticks
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.domain import Unavailable
from ivcrush_tui.engine.health_model import ComponentHealth, HealthStatus
from ivcrush_tui.engine.schema import analysis_to_json
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, build_analysis
from tests.ui.test_app import make_app, settle, text_of

CAL = TradingCalendar()


@asynccontextmanager
async def drilldown(size: tuple[int, int]) -> AsyncIterator[tuple[IvCrushApp, Pilot[None]]]:
    """The console at `size` with the top watchlist row's drill-down open and settled."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        yield app, pilot


def _visible(screen: TickerScreen, widget_id: str) -> bool:
    body = screen.query_one("#ticker-body", ScrollableContainer)
    region = screen.query_one(widget_id).region
    return body.region.contains_region(region) or bool(body.region.overlaps(region))


@pytest.mark.parametrize("keys", [["pagedown"] * 3, ["end"], ["j"] * 30, ["down"] * 30])
async def test_drilldown_scrolls_from_the_keyboard_at_80x24(keys: list[str]) -> None:
    async with drilldown((80, 24)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        body = screen.query_one("#ticker-body", ScrollableContainer)
        assert screen.focused is body  # the one live scroller has the keys
        assert body.max_scroll_y > 0
        assert not _visible(screen, "#term-chart")
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        assert body.scroll_y > 0
        assert _visible(screen, "#recommendation") or _visible(screen, "#term-chart")
        await pilot.press("home")
        await pilot.pause()
        assert body.scroll_y == 0


async def test_wide_drilldown_focuses_the_panel_column() -> None:
    async with drilldown((120, 40)) as (app, _pilot):
        screen = app.screen
        assert screen.focused is screen.query_one("#ticker-left")
        assert not screen.query_one("#ticker-body").can_focus


def test_unavailable_reason_is_said_once() -> None:
    assert fmt_na(Unavailable("n/a: only 3 OTM points")) == "n/a: only 3 OTM points"
    assert fmt_na(Unavailable("no chain")) == "n/a: no chain"
    assert fmt_na(None) == "n/a"
    assert fmt_na("n/a: no term-structure decomposition") == (
        "n/a: no term-structure decomposition"
    )


@pytest.mark.parametrize(
    ("top", "most", "expected"),
    [
        (10.23, 4, [0, 5, 10]),
        (12.5, 6, [0, 2.5, 5, 7.5, 10, 12.5]),
        (3.3, 5, [0, 1, 2, 3]),
        (0.0, 5, [0]),
    ],
)
def test_history_ticks_step_evenly(top: float, most: int, expected: list[float]) -> None:
    ticks = even_ticks(top, most)
    assert ticks == expected
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) <= 1


async def test_history_chart_has_even_ticks_no_legend_and_keeps_its_title() -> None:
    async with drilldown((80, 24)) as (app, _pilot):
        chart = app.screen.query_one(HistoryChart)
        text = plotext.uncolorize(chart.plt.build())
        assert "|close| %" not in text.splitlines()[2]  # no legend over the first bars
        assert "Past moves" in text.splitlines()[0]
        # A title longer than the chart is cut, not dropped by plotext.
        chart.title(chart.plt, "Past moves " + "x" * 200)
        assert plotext.uncolorize(chart.plt.build()).splitlines()[0].strip().endswith("…")


def test_palette_binding_is_capitalised_like_every_other() -> None:
    for b in APP_BINDINGS:
        assert b.description[:1].isupper(), b.id


async def test_skew_chart_says_n_a_once() -> None:
    async with drilldown((120, 40)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        assert screen.analysis is not None
        screen.show(replace(screen.analysis, skew=Unavailable("n/a: only 3 OTM points")))
        await pilot.pause()
        assert screen.query_one(SkewChart).message == "Skew n/a: only 3 OTM points"
        assert "Skew n/a: only 3 OTM points" in text_of(screen.query_one("#stats", Static))


@pytest.mark.parametrize(
    ("interval", "text"), [((2.06, 3.58), "2.06–3.58"), ((8.1, 12.44), "8.1–12.4")]
)
def test_interval_cell_keeps_one_format_past_ten(interval: tuple[float, float], text: str) -> None:
    """The VRP 90% cell: both ends with the same decimals, never wider than its 9 cells."""
    a = build_analysis(SCRIPTS["MSFT"], FIXED_NOW, CAL)  # straddle basis: `interval` is tiered
    assert isinstance(a.vrp, VrpResult)
    a = replace(a, vrp=replace(a.vrp, interval=interval))
    cell = analysis_cells(a, FIXED_NOW, CAL, stale_after_s=180)["interval"]
    assert cell.text == text
    assert len(cell.text) <= 9


def test_header_and_json_show_expiration_cycle_settlement_and_market_cap() -> None:
    a = build_analysis(SCRIPTS["AAPL"], FIXED_NOW, CAL)
    assert a.schedule is not None
    assert a.schedule.expiration is not None
    exp = a.schedule.expiration
    info = CAL.expiration_info(exp, FIXED_NOW, root="AAPL")
    a = replace(a, expiration_info=info, market_cap=3.41e12)
    text = header_text(a, "AAPL", CAL).plain
    assert f"exp {exp:%a %m-%d} {info.cycle} PM" in text
    assert "cap $3.41T" in text
    out = analysis_to_json(a)
    assert out["expiration_cycle"] == info.cycle
    assert out["expiration_settlement"] == "PM"
    assert out["market_cap"] == 3.41e12


@pytest.mark.parametrize(
    ("cap", "text"),
    [(3.41e12, "$3.41T"), (182.44e9, "$182.4B"), (950e6, "$950.0M"), (None, "—"), (0.0, "—")],
)
def test_market_cap_text(cap: float | None, text: str) -> None:
    assert fmt_market_cap(cap) == text


def test_health_card_shows_latency_with_its_age_and_no_dash_with_a_unit() -> None:
    av = ComponentHealth("alphavantage", HealthStatus.HEALTHY, "quota", 310.0, 250.0, "closed")
    assert "latency 310.0 ms 4m ago" in component_lines(av, {})[0].plain
    never = ComponentHealth("alphavantage", HealthStatus.HEALTHY, "quota", breaker="closed")
    assert "latency no call yet" in component_lines(never, {})[0].plain
    cache = ComponentHealth("cache", HealthStatus.HEALTHY, "ok")
    assert "latency" not in component_lines(cache, {})[0].plain
