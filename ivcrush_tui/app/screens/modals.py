"""Dialogs: add a ticker (validated locally, then checked with the provider) and confirm."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

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


class AddTickerModal(ModalScreen[str | None]):
    """Asks for a ticker; dismisses with the validated, provider-known symbol (or None)."""

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
                placeholder="e.g. AAPL or BRK.B",
                max_length=12,
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
        raw = self.query_one(Input).value
        try:
            symbol = validate_symbol(raw)
        except IvCrushError as exc:
            self.show_error(exc.message)
            return
        app = cast("IvCrushApp", self.app)
        if symbol in app.watchlist_symbols:
            self.show_error(f"{symbol} is already on the watchlist")
            return
        self.show_error(f"checking {symbol}…")
        self._check(symbol)

    @work(group="check-symbol", exclusive=True, exit_on_error=False)
    async def _check(self, symbol: str) -> None:
        self.checking = True
        app = cast("IvCrushApp", self.app)
        try:
            await app.wait_ready()
            problem = await app.backend.check_symbol(symbol)
        except Exception as exc:
            problem = f"could not check {symbol}: {exc}"
        finally:
            self.checking = False
        if problem is not None:
            self.show_error(problem)
            return
        self.dismiss(symbol)

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
