"""Command palette (ctrl+p): screens, rescan, add or go to a ticker, themes.

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
        cmds: list[Command] = [
            ("screen: watchlist", partial(app.switch_mode, "watchlist"), "Show the watchlist (1)"),
            ("screen: calendar", partial(app.switch_mode, "calendar"), "Earnings calendar (2)"),
            ("screen: health", partial(app.switch_mode, "health"), "Providers and components (3)"),
            ("scan: rescan now", app.action_rescan, "Scan the watchlist now (r)"),
            ("watchlist: add ticker…", app.action_add_ticker, "Add a ticker to the watchlist (a)"),
            ("help: keys", app.action_help, "List every key (?)"),
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
