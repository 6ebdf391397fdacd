"""Dialogs: add tickers (validated locally, then checked with the provider) and confirm."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Final, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ivcrush_tui.app.bindings import CONFIRM_BINDINGS, MODAL_BINDINGS
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.symbols import validate_symbol

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp


# Several tickers at once: separated by spaces or commas ("HAL, BKNG HPQ").
_SEPARATORS: Final = re.compile(r"[\s,;]+")
MAX_AT_ONCE: Final = 20  # symbols one dialog adds (each is checked with the provider)


def split_symbols(raw: str) -> list[str]:
    """The symbols typed, in order, duplicates dropped (not validated)."""
    return list(dict.fromkeys(p for p in _SEPARATORS.split(raw.strip()) if p))


class AddTickerModal(ModalScreen[tuple[str, ...] | None]):
    """Asks for one or more tickers; dismisses with the validated, provider-known symbols not
    yet on the watchlist (or None). Nothing is added while any symbol is wrong: the error names
    it, and the input keeps what was typed."""

    BINDINGS: ClassVar[list[BindingType]] = list(MODAL_BINDINGS)

    def __init__(self, initial: str = "") -> None:
        super().__init__()
        self._initial = initial
        self.checking = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Add a ticker to the watchlist", classes="dialog-title")
            yield Input(
                value=self._initial,
                placeholder="e.g. AAPL, or several: HAL BKNG BRK.B",
                max_length=12 * MAX_AT_ONCE,
                id="symbol-input",
            )
            yield Static("", id="symbol-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def show_error(self, text: str) -> None:
        self.query_one("#symbol-error", Static).update(text)

    @on(Input.Changed)
    def _on_changed(self) -> None:
        self.show_error("")

    @on(Input.Submitted)
    @on(Button.Pressed, "#add")
    def _on_submit(self) -> None:
        typed = split_symbols(self.query_one(Input).value)
        if len(typed) > MAX_AT_ONCE:
            self.show_error(f"{len(typed)} tickers: at most {MAX_AT_ONCE} at once")
            return
        symbols: list[str] = []
        try:
            for raw in typed or [""]:
                symbols.append(validate_symbol(raw))
        except IvCrushError as exc:
            self.show_error(exc.message)
            return
        app = cast("IvCrushApp", self.app)
        new = [s for s in dict.fromkeys(symbols) if s not in app.watchlist_symbols]
        if not new:
            on = ", ".join(symbols)
            self.show_error(f"{on} {'is' if len(symbols) == 1 else 'are'} already on the watchlist")
            return
        self.show_error(f"checking {', '.join(new)}…")
        self._check(tuple(new))

    @work(group="check-symbol", exclusive=True, exit_on_error=False)
    async def _check(self, symbols: tuple[str, ...]) -> None:
        self.checking = True
        app = cast("IvCrushApp", self.app)
        problems: list[str] = []
        try:
            await app.wait_ready()
            for symbol in symbols:
                try:
                    problem = await app.backend.check_symbol(symbol)
                except Exception as exc:
                    problem = f"could not check {symbol}: {exc}"
                if problem is not None:
                    problems.append(problem)
        finally:
            self.checking = False
        if problems:
            self.show_error("; ".join(problems))
            return
        self.dismiss(symbols)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = list(CONFIRM_BINDINGS)

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(False)
