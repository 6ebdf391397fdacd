"""The console's side of the market stream (issue 14): batches of re-priced analyses from
`backend.live_updates()` are applied like scan results (the latest per ticker, published on
`analysis_signal`); the watchlist and the drill-down coalesce them as they do scan results, so
a streamed quote reaches its row without a REST request."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

__all__ = ["consume_live"]

log = logging.getLogger(__name__)


async def consume_live(app: IvCrushApp) -> None:
    """Apply every batch the backend streams until the app exits (a task on the app loop).
    A failing stream of updates costs the live rows, never the app: it is logged."""
    try:
        async for batch in app.backend.live_updates():
            for analysis in batch:
                app.apply_result(analysis)
            app.live_batches += 1
            await asyncio.sleep(0)  # key presses and frames between batches
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("live updates ended")
