"""Watchlist edits from the console: validate, check with the provider, save, analyse at once.

Run as workers of the app (`IvCrushApp.add_symbols` / `remove_symbols`); every failure is a
notification, never an exception on the screen.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ivcrush_tui.app.messages import AnalysisReady
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.symbols import validate_symbol

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

__all__ = ["add_symbols", "reason", "remove_symbols"]


def reason(exc: Exception) -> str:
    """The message to show for a failed edit."""
    return exc.message if isinstance(exc, IvCrushError) else str(exc)


async def add_symbols(app: IvCrushApp, symbols: tuple[str, ...], checked: bool) -> None:
    """Add the valid, new symbols (checked with the provider unless `checked`), save the
    watchlist and analyse each added symbol at once."""
    valid: list[str] = []
    for raw in symbols:
        try:
            sym = validate_symbol(raw)
        except (IvCrushError, ValueError) as exc:
            app.notify(reason(exc), title="Invalid symbol", severity="error")
            continue
        if sym in app.watchlist_symbols:
            app.notify(f"{sym} is already on the watchlist")
            continue
        if not checked:
            try:
                problem = await app.backend.check_symbol(sym)
            except Exception as exc:
                problem = f"could not check {sym}: {exc}"
            if problem is not None:
                app.notify(problem, title="Not added", severity="error")
                continue
        valid.append(sym)
    if not valid:
        return
    try:
        await app.backend.add_to_watchlist(valid)
        current = await app.backend.watchlist()
    except Exception as exc:
        app.notify(f"Could not save the watchlist: {exc}", severity="error")
        return
    app.set_watchlist(current)
    app.notify(f"Added {', '.join(valid)}")
    for sym in valid:
        try:
            analysis = await app.backend.analyze(sym)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            app.record_error(sym, "internal", str(exc), None)
            continue
        app.post_message(AnalysisReady(analysis))


async def remove_symbols(app: IvCrushApp, symbols: tuple[str, ...]) -> None:
    """Remove `symbols` from the saved watchlist and show the list as saved."""
    try:
        await app.backend.remove_from_watchlist(symbols)
        current = await app.backend.watchlist()
    except Exception as exc:
        app.notify(f"Could not save the watchlist: {exc}", severity="error")
        return
    app.set_watchlist(current)
    app.notify(f"Removed {', '.join(symbols)}")
