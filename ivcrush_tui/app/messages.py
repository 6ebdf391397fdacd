"""App-wide messages. They carry immutable data only (frozen dataclasses and tuples)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual.message import Message

from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.analytics.analysis import Analysis


class AnalysisReady(Message):
    """One ticker's result arrived (from the scan worker or a one-off analyze)."""

    def __init__(self, analysis: Analysis) -> None:
        super().__init__()
        self.analysis = analysis


class AlertFired(Message):
    """An alert fired (ivcrush_tui.alerts): posted from the backend's listener, any thread."""

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert


class ScanStarted(Message):
    def __init__(self, symbols: tuple[str, ...]) -> None:
        super().__init__()
        self.symbols = symbols


class ScanFinished(Message):
    """A scan ended: `count` results, `failed` of them errors; `error` if the scan itself broke."""

    def __init__(self, count: int, failed: int, error: str | None = None) -> None:
        super().__init__()
        self.count = count
        self.failed = failed
        self.error = error


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """One failure shown on the health screen: which ticker (or "scan"), code, message, id."""

    at: dt.datetime
    symbol: str
    code: str
    message: str
    correlation_id: str | None
