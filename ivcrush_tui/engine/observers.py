"""The one place every streamed quote and every analysis passes: observers registered here see
them all (the recorder of record and replay, alerts; issue 14).

    engine.observers.add(my_observer)      # on_quote(symbol, event, at) / on_analysis(analysis)

`on_quote` gets each streamed event as parsed (`providers.tradier_events`: quote, trade,
summary, timesale) with the UTC instant it was applied; `on_analysis` gets every analysis the
engine produces: REST analyses (scans, single analyses, re-picks, term refreshes) and streamed
re-prices. Observers run on the engine's event loop, synchronously: they must be quick and must
not raise (a raising observer is logged and kept).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the stream's parser is not imported by a process that does not stream
    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.providers.tradier_events import StreamEvent

__all__ = ["LiveObserver", "Observers"]

log = logging.getLogger(__name__)


class LiveObserver(Protocol):
    def on_quote(self, symbol: str, quote: StreamEvent, at: dt.datetime) -> None:
        """A streamed event for `symbol` (our spelling, or an OCC symbol), applied at `at`."""
        ...

    def on_analysis(self, analysis: Analysis) -> None:
        """A new analysis of `analysis.symbol` (REST or streamed)."""
        ...


class Observers:
    """The registered observers, called in registration order."""

    def __init__(self) -> None:
        self._items: list[LiveObserver] = []

    def add(self, observer: LiveObserver) -> None:
        self._items.append(observer)

    def remove(self, observer: LiveObserver) -> None:
        if observer in self._items:
            self._items.remove(observer)

    def __len__(self) -> int:
        return len(self._items)

    def quote(self, symbol: str, quote: StreamEvent, at: dt.datetime) -> None:
        for obs in self._items:
            try:
                obs.on_quote(symbol, quote, at)
            except Exception:
                log.exception("observer %r failed on a quote", obs)

    def analysis(self, analysis: Analysis) -> None:
        for obs in self._items:
            try:
                obs.on_analysis(analysis)
            except Exception:
                log.exception("observer %r failed on an analysis", obs)
