"""The help screen: every key of every screen (generated from bindings.py, so it cannot drift)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ivcrush_tui.analytics.vrp import Tier
from ivcrush_tui.app.bindings import ALL_BINDINGS, EXTRA_KEYS, HELP_BINDINGS, key_label
from ivcrush_tui.app.formatting import STRADDLE_MARK, TIER_GLYPH


def help_table(
    keymap: Mapping[str, str] | None = None, display: Callable[[str], str] | None = None
) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2), expand=True)
    table.add_column("key", style="bold", no_wrap=True, width=16)
    table.add_column("what")
    extras: dict[str, list[tuple[str, str]]] = {}
    for ctx, key, what in EXTRA_KEYS:
        extras.setdefault(ctx, []).append((key, what))
    for context, bindings in ALL_BINDINGS:
        table.add_row(Text(context, style="bold underline"), "")
        for b in bindings:
            what = b.description + (f" — {b.tooltip}" if b.tooltip else "")
            table.add_row(key_label(b, keymap, display), what)
        for key, what in extras.get(context, []):
            table.add_row(key, what)
        table.add_row("", "")
    # What the watchlist's VRP cell means (not a key, but this is where users look).
    table.add_row(Text("Legend", style="bold underline"), "")
    table.add_row(
        f"{''.join(TIER_GLYPH[t] for t in Tier)}", "VRP tier: excellent, good, marginal, skip"
    )
    table.add_row(
        f"1.91{STRADDLE_MARK}",
        "VRP tiered on the straddle ratio (implied to expiration / hist): no term-structure "
        "split, so the horizon is not matched. Unmarked: the reaction-session ratio.",
    )
    table.add_row(
        "STALE",
        "The row's refresh failed: its last good values, faint; Tier says why (⚠ breaker, "
        "⚠ timeout, …), the line below the table since when.",
    )
    table.add_row("Age", "How old the stock quote behind the row's figures is.")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(HELP_BINDINGS)

    def compose(self) -> ComposeResult:
        app = self.app
        keymap: Mapping[str, str] = getattr(app, "user_keymap", {})

        def display(key: str) -> str:
            return app.get_key_display(Binding(key, ""))

        close = key_label(HELP_BINDINGS[0], keymap, display).split(" / ")[0]
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static(f"Keys · {close} to close", classes="dialog-title")
            with VerticalScroll():
                yield Static(help_table(keymap, display), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-dialog").border_title = "ivcrush help"

    def action_close(self) -> None:
        self.dismiss(None)
