"""The help screen: every key of every screen (generated from bindings.py, so it cannot drift)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ivcrush_tui.app.bindings import ALL_BINDINGS, EXTRA_KEYS, HELP_BINDINGS

_KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "left": "←",
    "right": "→",
    "escape": "esc",
    "delete": "del",
}


def key_label(b: Binding) -> str:
    """How a binding's keys are written for humans ("d / del", "?")."""
    keys = [k.strip() for k in b.key.split(",")]
    return " / ".join(_KEY_NAMES.get(k, k) for k in keys)


def help_table() -> Table:
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
            table.add_row(key_label(b), what)
        for key, what in extras.get(context, []):
            table.add_row(key, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(HELP_BINDINGS)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static("Keys · esc to close", classes="dialog-title")
            with VerticalScroll():
                yield Static(help_table(), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-dialog").border_title = "ivcrush help"

    def action_close(self) -> None:
        self.dismiss(None)
