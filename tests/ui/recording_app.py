"""The console with its notifications kept as text (toasts are not rendered under run_test)."""

from __future__ import annotations

from typing import Any

from ivcrush_tui.app import IvCrushApp


class RecordingApp(IvCrushApp):
    """`notes`: the text of every notification, in order."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.notes: list[str] = []

    def notify(self, message: str, **kw: Any) -> None:
        self.notes.append(str(message))
        super().notify(message, **kw)
