"""Pure display helpers: number formats, watchlist cells, sorting, column fitting."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pytest
from rich.style import Style
from rich.text import Text

from ivcrush_tui.analytics.analysis import Status
from ivcrush_tui.analytics.vrp import Tier, TierBasis, VrpResult
from ivcrush_tui.app.formatting import (
    COLUMN_KEYS,
    DASH,
    Cell,
    SortValue,
    analysis_cells,
    entry_window_seconds,
    fmt_duration,
    fmt_interval,
    fmt_num,
    fmt_pct,
    fmt_price,
    fmt_vol,
    placeholder_cells,
    row_detail,
    sort_order,
    styled,
    vrp_text,
)
from ivcrush_tui.app.widgets.live_table import ColumnSpec, fit_columns
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.engine.last_good import hold_last_good
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, FakeBackend, build_analysis, error_analysis

CAL = TradingCalendar()


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, -math.inf])
def test_missing_numbers_render_as_a_dash_never_zero(bad: float | None) -> None:
    assert fmt_num(bad) == DASH
    assert fmt_pct(bad) == DASH
    assert fmt_vol(bad) == DASH
    assert fmt_price(bad) == DASH
    assert fmt_duration(bad) == DASH
    assert fmt_interval((1.0, bad)) == DASH  # type: ignore[arg-type]


def test_number_formats_and_units() -> None:
    assert fmt_pct(4.4) == "4.40%"  # percent numbers in, percent out
    assert fmt_vol(0.62) == "62.0%"  # fractions per year shown as percent
    assert fmt_num(-0.12, sign=True) == "-0.12"
    assert fmt_price(190.12) == "190.12"
    assert fmt_price(712345.0) == "712,345"  # big prices drop decimals to fit a cell
    assert fmt_interval((1.75, 2.73)) == "1.75–2.73"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h00m"), (90061, "1d01h")],
)
def test_durations_are_compact(seconds: float, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_sort_order_puts_missing_last_in_both_directions() -> None:
    raws: dict[str, SortValue] = {"A": 2.0, "B": None, "C": 1.0, "D": 3.0}
    keys = list(raws)
    assert sort_order(keys, raws, reverse=False) == ["C", "A", "D", "B"]
    assert sort_order(keys, raws, reverse=True) == ["D", "A", "C", "B"]


def test_sort_order_is_stable_and_never_compares_text_with_numbers() -> None:
    raws: dict[str, SortValue] = {"A": 1.0, "B": "x", "C": 1.0, "D": "a"}
    assert sort_order(list(raws), raws, reverse=False) == ["A", "C", "D", "B"]


def test_fit_columns_drops_highest_priority_numbers_first_and_keeps_order() -> None:
    specs = [
        ColumnSpec("a", "A", 10, 0),
        ColumnSpec("b", "B", 10, 5),
        ColumnSpec("c", "C", 10, 1),
        ColumnSpec("d", "D", 10, 9),
    ]
    assert [s.key for s in fit_columns(specs, 48, 1)] == ["a", "b", "c", "d"]
    assert [s.key for s in fit_columns(specs, 40, 1)] == ["a", "b", "c"]
    assert [s.key for s in fit_columns(specs, 30, 1)] == ["a", "c"]
    assert [s.key for s in fit_columns(specs, 5, 1)] == ["a"]  # priority 0 is never dropped


def test_entry_window_states_follow_the_calendar() -> None:
    a = build_analysis(SCRIPTS["NVDA"], FIXED_NOW, CAL)  # AMC today: enter today 15:00 ET
    assert entry_window_seconds(a.schedule, FIXED_NOW, CAL) == (1800.0, "before")
    inside = FIXED_NOW + dt.timedelta(minutes=45)
    assert entry_window_seconds(a.schedule, inside, CAL) == (0.0, "open")
    after = FIXED_NOW + dt.timedelta(hours=2)
    secs, state = entry_window_seconds(a.schedule, after, CAL)
    assert state == "past"
    assert secs is not None
    assert secs < 0
    assert entry_window_seconds(None, FIXED_NOW, CAL) == (None, "none")


def test_analysis_cells_cover_every_column_with_raw_sort_values() -> None:
    a = build_analysis(SCRIPTS["AAPL"], FIXED_NOW, CAL)
    cells = analysis_cells(a, FIXED_NOW, CAL, stale_after_s=180)
    assert set(cells) == set(COLUMN_KEYS)
    assert cells["vrp"].text == "◆2.19 "  # reaction basis: no mark, numbers aligned
    assert cells["vrp"].role == "tier-excellent"
    assert cells["vrp"].raw == pytest.approx(2.1863, abs=1e-4)
    assert cells["implied"].raw == 4.4
    assert cells["entry"].raw == pytest.approx(86400 + 1800)
    later = FIXED_NOW + dt.timedelta(minutes=10)
    assert analysis_cells(a, later, CAL, stale_after_s=180)["age"].role == "stale"


def test_vrp_cell_shows_the_tiering_ratio_and_marks_the_straddle_basis() -> None:
    a = build_analysis(SCRIPTS["MSFT"], FIXED_NOW, CAL)  # no decomposition: straddle basis
    cell = analysis_cells(a, FIXED_NOW, CAL, stale_after_s=180)["vrp"]
    assert cell.text == "◇1.31*"
    assert len(cell.text) == 6  # fits the 6-cell column
    assert cell.raw == pytest.approx(1.31, abs=1e-4)  # 5.00 / 3.8167
    # The reaction basis shows vrp_reaction_ratio, not vrp_ratio.
    assert isinstance(a.vrp, VrpResult)
    split = replace(
        a.vrp,
        vrp_reaction_ratio=0.8,
        reaction_implied_move_pct=3.06,
        tier_basis=TierBasis.REACTION,
        tier=Tier.SKIP,
    )
    cell = analysis_cells(replace(a, vrp=split), FIXED_NOW, CAL, stale_after_s=180)["vrp"]
    assert cell.text == "▽0.80 "
    assert cell.raw == pytest.approx(0.8)
    assert vrp_text(Tier.EXCELLENT, 12.345, TierBasis.STRADDLE) == "◆12.3*"  # never cropped


def test_error_analysis_cells_name_the_code_and_show_no_numbers() -> None:
    a = error_analysis("MSFT", FIXED_NOW, "circuit_open", "breaker open", "abc123")
    cells = analysis_cells(a, FIXED_NOW, CAL, stale_after_s=180)
    assert cells["tier"].text == "⚠ breaker"
    assert cells["rec"].text == "ERR"
    assert all(cells[k].text == DASH for k in ("spot", "implied", "hist", "vrp", "interval"))
    assert row_detail(a, "MSFT") == "MSFT: [circuit_open] breaker open (correlation id abc123)"


def test_a_row_kept_through_an_outage_keeps_its_values_dimmed_with_the_reason() -> None:
    good = replace(
        build_analysis(SCRIPTS["NVDA"], FIXED_NOW, CAL),
        quote_time=FIXED_NOW - dt.timedelta(seconds=20),
    )
    later = FIXED_NOW + dt.timedelta(minutes=2)
    err = error_analysis("NVDA", later, "circuit_open", "breaker open", "abc123")
    kept = hold_last_good(good, err, later)
    fresh = analysis_cells(good, later, CAL, stale_after_s=180)
    cells = analysis_cells(kept, later, CAL, stale_after_s=180)
    for key in ("spot", "implied", "hist", "vrp", "interval", "liq", "skew", "trr"):
        assert cells[key].text == fresh[key].text != DASH
        assert cells[key].dim
        assert not fresh[key].dim
        assert cells[key].raw == fresh[key].raw  # the sorted order does not move
    assert cells["tier"].text == "⚠ breaker"
    assert cells["tier"].raw == fresh["tier"].raw
    assert cells["rec"].text == "STALE"
    assert not cells["ticker"].dim
    assert cells["age"].text == "2m"
    assert cells["age"].raw == 140.0
    spot_style = styled(cells["spot"], {}).style
    assert isinstance(spot_style, Style)
    assert spot_style.dim
    detail = row_detail(kept, "NVDA")
    assert detail.startswith("NVDA: STALE since 14:32:00 ET: [circuit_open] breaker open")
    assert "correlation id abc123" in detail
    assert "the last good values of 14:30 ET" in detail


def test_age_is_the_age_of_the_quote() -> None:
    a = build_analysis(SCRIPTS["NVDA"], FIXED_NOW, CAL)
    assert analysis_cells(a, FIXED_NOW, CAL, stale_after_s=180)["age"].text == "0s"  # as_of
    old = replace(a, quote_time=FIXED_NOW - dt.timedelta(minutes=5))
    cell = analysis_cells(old, FIXED_NOW, CAL, stale_after_s=180)["age"]
    assert (cell.text, cell.raw, cell.role) == ("5m", 300.0, "stale")


def test_no_event_and_placeholder_rows() -> None:
    fb = FakeBackend()
    a = fb._result("SPY")  # known to the provider, no upcoming event
    assert a.status is Status.NO_EVENT
    cells = analysis_cells(a, FIXED_NOW, CAL, stale_after_s=180)
    assert cells["earnings"].text == "none"
    assert cells["tier"].text == "no event"
    ph = placeholder_cells("XYZ")
    assert ph["ticker"].text == "XYZ"
    assert all(ph[k].text == "…" and ph[k].raw is None for k in COLUMN_KEYS if k != "ticker")


def test_styled_uses_theme_colours_and_alignment() -> None:
    t = styled(Cell("1.23", "gain", 1.23, right=True, bold=True), {"gain": "#00ff00"})
    assert isinstance(t, Text)
    assert t.justify == "right"
    assert "bold" in str(t.style)
    assert "#00ff00" in str(t.style)
    assert str(styled(Cell("x", "unknown-role"), {}).style) == ""
