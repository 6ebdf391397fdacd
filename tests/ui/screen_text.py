"""What a screen shows, as plain text for assertions: a Static's content on one wide line per
row (no wrapping, no colour), and the drill-down's panels by id."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from ivcrush_tui.app.screens.ticker import TickerScreen

TICKER_PANELS = ("title", "straddle", "stats", "recommendation", "decision-banner")


def plain(widget: Static) -> str:
    console = Console(width=400, color_system=None, file=io.StringIO())
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()


def ticker_panels(screen: TickerScreen) -> dict[str, str]:
    """The drill-down's title, panels and decision banner (a frozen one's) as plain text."""
    return {i: plain(screen.query_one(f"#{i}", Static)) for i in TICKER_PANELS}
