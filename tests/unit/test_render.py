"""Human output of the headless commands: the scan table fits the terminal (fewer columns when
narrow, nothing truncated), the analyze view is vertical and shows n/a, never 'None'."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from ivcrush_tui.commands.render import analysis_view, scan_table, summary_line


def ok_row(ticker: str = "GOOGL", **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ticker": ticker, "status": "ok", "error": None, "as_of": "2026-11-23T20:30:00+00:00",
        "earnings_date": "2026-11-24", "timing": "UNKNOWN", "timing_inferred": True,
        "entry_date": "2026-11-23", "reaction_date": "2026-11-25", "expiration": "2026-11-27",
        "spot": 1234.56, "straddle": 80.12, "implied_move_pct": 16.4321,
        "implied_move_1sd_pct": 20.5943, "event_move_pct": None, "hist_mean_abs_move_pct": 10.01,
        "hist_mean_abs_gap_pct": 9.5, "n_events": 12, "vrp_ratio": 12.3456,
        "vrp_gap_ratio": 1.73, "vrp_interval": [10.11, 14.99],
        "tiering_interval": [10.11, 14.99], "tier": "excellent",
        "cost_pct": 0.5, "net_vrp": 1.5, "liquidity_tier": "warning",
        "skew": {"atm_iv": None, "slope": None, "curvature": None, "rr25": None, "shape": None},
        "term": {"front_iv": 0.5, "back_iv": None, "iv30": 0.4, "rv30": 0.3,
                 "ts_slope_0_45": None, "iv_rv_ratio": 1.33},
        "greeks_short_contract": {"delta": -1.0, "gamma": -2.0, "vega": -30.0, "theta": 40.0},
        "trend_pp_per_qtr": None, "trr": 2.5, "recommendation": "WATCH",
        "reasons": ["a reason that is long enough to need wrapping on a narrow terminal " * 2],
    }  # fmt: skip
    row.update(kw)
    return row


def failed_row(ticker: str = "ZZZZ") -> dict[str, Any]:
    return {
        "ticker": ticker, "status": "error", "as_of": "2026-11-23T20:30:00+00:00",
        "error": {"code": "circuit_open", "message": "tradier open", "correlation_id": "ab12cd34"},
    }  # fmt: skip


def render(obj: Any, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None).print(obj)
    return buf.getvalue()


ROWS = [ok_row(), ok_row("BRK.B", status="insufficient_history", tier=None), failed_row()]


@pytest.mark.parametrize("width", [70, 80, 100, 120, 160])
def test_scan_table_fits_without_truncation(width: int) -> None:
    text = render(scan_table(ROWS, width=width), width)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    header = lines[0].split()
    assert header[:2] == ["Ticker", "Earnings"]
    assert "Rec" in header
    assert ("Entry" in header) is (width >= 120)
    assert "2026-11-24 UNK" in text
    assert "circuit_open" in text
    assert lines[-1].startswith("ZZZZ")  # failures last


def test_scan_table_on_a_tiny_terminal_still_fits() -> None:
    text = render(scan_table(ROWS, width=50), 50)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 50


def test_long_error_codes_fold_instead_of_truncating() -> None:
    row = failed_row("QQQQ")
    row["error"]["code"] = "quota_exhausted"
    text = render(scan_table([ok_row(), row], width=80), 80)
    assert "…" not in text
    assert "quota_exhau" in text


def test_scan_rows_sorted_by_vrp() -> None:
    rows = [ok_row("LOW", vrp_ratio=1.1), ok_row("HIGH", vrp_ratio=3.0), failed_row()]
    text = render(scan_table(rows, width=100), 100)
    order = [line.split()[0] for line in text.splitlines()[2:] if line.strip()]
    assert order == ["HIGH", "LOW", "ZZZZ"]


def test_analysis_view_is_vertical_and_shows_na() -> None:
    text = render(analysis_view(ok_row()), 80)
    lines = text.splitlines()
    assert lines[0].startswith("GOOGL  WATCH  VRP 12.35× ▲▲ excellent")
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "None" not in text
    assert "UNKNOWN (inferred)" in text
    assert "event-only n/a" in text
    assert "trend n/a" in text
    assert "back n/a" in text
    assert "front IV 50.0 %" in text
    assert "(90 % CI 10.11–14.99)" in text


def test_analysis_view_of_a_failure_names_code_and_correlation_id() -> None:
    text = render(analysis_view(failed_row()), 80)
    assert "ZZZZ  error" in text
    assert "circuit_open: tradier open" in text
    assert "[ab12cd34]" in text


def test_summary_line_counts() -> None:
    rows = [ok_row(recommendation="SELL"), ok_row(), failed_row(),
            ok_row("ARM", status="insufficient_history")]  # fmt: skip
    assert summary_line(rows) == "4 scanned: 1 SELL, 1 WATCH, 0 SKIP, 1 not scored, 1 failed"


def test_vrp_shows_the_tiering_ratio_and_marks_the_straddle_basis() -> None:
    reaction = ok_row(tier_basis="reaction", vrp_reaction_ratio=0.78, reaction_implied_move_pct=2.7)
    head = render(analysis_view(reaction), 80).splitlines()[0]
    assert head.startswith("GOOGL  WATCH  VRP 0.78× ▲▲")
    text = render(analysis_view(reaction), 80)
    assert "reaction 0.78× (tiers)" in text
    assert "straddle 12.35× (90 % CI" in text
    assert "reaction-session 2.70 %" in render(analysis_view(reaction), 120)
    straddle = ok_row(tier_basis="straddle", vrp_reaction_ratio=None)
    assert (
        render(analysis_view(straddle), 80)
        .splitlines()[0]
        .startswith("GOOGL  WATCH  VRP 12.35×* ▲▲")
    )
    assert "reaction n/a" in render(analysis_view(straddle), 80)
    # The scan sorts on the tiering ratio: a 3.0 straddle ratio tiered on 0.5 goes last.
    rows = [ok_row("LOW", vrp_ratio=1.1), ok_row("HIGH", vrp_ratio=3.0, **_reaction(0.5))]
    text = render(scan_table(rows, width=100), 100)
    order = [line.split()[0] for line in text.splitlines()[2:] if line.strip()]
    assert order == ["LOW", "HIGH"]
    assert "0.50×" in text


def _reaction(ratio: float) -> dict[str, Any]:
    return {"tier_basis": "reaction", "vrp_reaction_ratio": ratio}
