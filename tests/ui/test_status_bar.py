"""The status bar line: what it shows at a frozen instant, and how it shrinks."""

from __future__ import annotations

import datetime as dt

from ivcrush_tui.app.backend import ProviderBadge, StatusSnapshot
from ivcrush_tui.app.widgets.status_bar import status_line
from ivcrush_tui.calendar import TradingCalendar
from tests.ui.fake_backend import FIXED_NOW

CAL = TradingCalendar()
VARS = {"gain": "#00ff00", "loss": "#ff0000", "warning": "#ffff00", "accent": "#0000ff"}
SNAP = StatusSnapshot(
    demo=True,
    badges=(ProviderBadge("tradier", "open", False), ProviderBadge("alphavantage", "closed", True)),
    av_quota_left=21,
    av_quota_total=25,
    tradier_budget_left=112,
    last_scan_at=FIXED_NOW,
)


def test_full_line_at_a_wide_terminal() -> None:
    line = status_line(FIXED_NOW, CAL, SNAP, None, VARS, 200).plain
    assert line == (
        "14:30:00 ET │ open │ entry in 30m │  DEMO  │ ○ tradier ● alphavantage │ AV 21/25"
        " │ scan 14:30"
    )


def test_open_breaker_badge_is_red_and_closed_is_green() -> None:
    line = status_line(FIXED_NOW, CAL, SNAP, None, VARS, 200)
    styles = {line.plain[s.start : s.end]: str(s.style) for s in line.spans}
    assert "#ff0000" in styles["○ tradier"]
    assert "#00ff00" in styles["● alphavantage"]


def test_inside_the_entry_window_and_while_scanning() -> None:
    now = FIXED_NOW + dt.timedelta(minutes=40)  # 15:10 ET
    line = status_line(now, CAL, SNAP, (3, 5), VARS, 200).plain
    assert "ENTRY WINDOW 50m left" in line
    assert "scanning 3/5" in line


def test_narrow_terminals_drop_low_priority_parts_but_keep_clock_entry_and_mode() -> None:
    for width in (78, 60, 40):
        line = status_line(FIXED_NOW, CAL, SNAP, None, VARS, width).plain
        assert len(line) <= width, (width, line)
        assert "14:30:00 ET" in line
        assert "DEMO" in line
    assert "○TR ●AV" in status_line(FIXED_NOW, CAL, SNAP, None, VARS, 78).plain


def test_live_mode_and_weekend_session() -> None:
    live = StatusSnapshot(False, (), None, None, None, None)
    saturday = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.UTC)
    line = status_line(saturday, CAL, live, None, VARS, 200).plain
    assert "LIVE" in line
    assert "closed" in line
    assert "no scan yet" in line
