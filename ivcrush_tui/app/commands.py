"""Command palette (ctrl+p unless remapped): screens, rescan, add or go to a ticker, themes.

Names follow a "category: action" style. Typing a ticker that is not on the watchlist offers to open
it or add it (the add is validated and checked with the provider first).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.symbols import validate_symbol

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

Command = tuple[str, Callable[[], object], str]


class IvCrushCommands(Provider):
    """The console's own commands (Textual's system commands stay available too)."""

    @property
    def ivapp(self) -> IvCrushApp:
        return cast("IvCrushApp", self.app)

    def commands(self) -> list[Command]:
        app = self.ivapp
        key = app.key_for  # the keys after the user's keymap
        cmds: list[Command] = [
            (
                "screen: watchlist",
                partial(app.switch_mode, "watchlist"),
                f"Show the watchlist ({key('app.mode.watchlist')})",
            ),
            (
                "screen: calendar",
                partial(app.switch_mode, "calendar"),
                f"Earnings calendar ({key('app.mode.calendar')})",
            ),
            (
                "screen: health",
                partial(app.switch_mode, "health"),
                f"Providers and components ({key('app.mode.health')})",
            ),
            (
                "screen: results",
                partial(app.switch_mode, "results"),
                f"Ledger decisions and how each tier has done ({key('app.mode.results')})",
            ),
            (
                "scan: rescan now",
                app.action_rescan,
                f"Scan the watchlist now ({key('app.rescan')})",
            ),
            (
                "watchlist: add ticker…",
                app.action_add_ticker,
                f"Add a ticker to the watchlist ({key('watchlist.add')})",
            ),
            ("help: keys", app.action_help, f"List every key ({key('app.help')})"),
        ]
        for name in sorted(app.available_themes):
            cmds.append((f"theme: {name}", partial(setattr, app, "theme", name), "Switch theme"))
        for sym in app.watchlist_symbols:
            cmds.append(
                (f"go to: {sym}", partial(app.open_ticker, sym), f"Open {sym}'s drill-down")
            )
        return cmds

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        try:
            sym = validate_symbol(query)
        except IvCrushError:
            return
        app = self.ivapp
        if sym not in app.watchlist_symbols:
            yield Hit(0.9, f"go to: {sym}", partial(app.open_ticker, sym), help=f"Open {sym}")
            yield Hit(
                0.8,
                f"watchlist: add {sym}",
                partial(app.add_symbols, [sym], checked=False),
                help=f"Check {sym} with the provider and add it",
            )
