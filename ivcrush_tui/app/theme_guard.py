"""The console's theme guard: semantic defaults for themes that lack them, and a theme whose
variables break the stylesheet is dropped with a notice instead of ending the app. Also the
check of a keymap given to the app directly. A base of IvCrushApp, kept apart from the engine
bridge and the app's state."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from textual.app import App
from textual.color import Color, ColorParseError
from textual.css.stylesheet import Stylesheet, StylesheetParseError
from textual.theme import Theme

from ivcrush_tui.app.themes import DEFAULT_DARK, semantic_defaults
from ivcrush_tui.keymap import BINDING_IDS, key_problem


def _is_colour(value: str) -> bool:
    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


def check_keymap(keymap: Mapping[str, str]) -> list[str]:
    """Problems of a keymap given to the app directly (the config file's is checked at load)."""
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in BINDING_IDS:
            problems.append(f"unknown binding id {binding_id!r}")
            continue
        for key in keys.split(","):
            why = key_problem(key.strip())
            if why:
                problems.append(f"{binding_id}: {why}")
    return problems


class ThemeGuard(App[None]):
    """The theme half of IvCrushApp (which sets `_user_themes` before mounting)."""

    _user_themes: tuple[Theme, ...]

    # -- theme -----------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Semantic variables for themes that lack them (e.g. Textual's builtins)."""
        theme: Theme | None = self.get_theme(self.theme) if self.theme else None
        return semantic_defaults(theme) if theme is not None else {}

    def theme_css_problem(self, theme: Theme, sheet: Stylesheet | None = None) -> str | None:
        """Why `theme` cannot style the console (a variable value that is not valid CSS), or
        None. A dry run of what selecting it does; `sheet` is a copy of the app's stylesheet."""
        sheet = sheet if sheet is not None else self.stylesheet.copy()
        variables = {
            **self.get_theme_variable_defaults(),
            **semantic_defaults(theme),
            **theme.to_color_system().generate(),
            **theme.variables,
        }
        sheet.set_variables(variables)
        try:
            sheet.reparse()
        except StylesheetParseError:
            suspects = [k for k, v in theme.variables.items() if not _is_colour(v)]
            hint = f" (check {', '.join(suspects)})" if suspects else ""
            return f"theme {theme.name!r}: a [variables] value is not valid CSS{hint}"
        except Exception as exc:  # any other stylesheet failure: same outcome, never a crash
            return f"theme {theme.name!r}: {exc}"
        return None

    async def _check_user_themes(self) -> None:
        """Unregister user themes whose variables break the stylesheet, and say so."""
        for theme in self._user_themes:
            sheet = self.stylesheet.copy()  # copied on the loop; parsed in a thread
            problem = await asyncio.to_thread(self.theme_css_problem, theme, sheet)
            if problem is None:
                continue
            if self.theme == theme.name:
                self.theme = DEFAULT_DARK
            self.unregister_theme(theme.name)
            self.notify(problem, title="Theme skipped", severity="error", timeout=10)

    def refresh_css(self, animate: bool = True) -> None:
        # Last line of defence: a theme whose variables break the stylesheet is dropped and the
        # default theme restored, instead of the app exiting with a traceback.
        try:
            super().refresh_css(animate)
        except StylesheetParseError:
            bad = self.theme
            if bad == DEFAULT_DARK:
                raise  # our own theme and CSS: a bug to see, not to hide
            self.notify(
                f"theme {bad!r} cannot style the console; back to {DEFAULT_DARK}",
                title="Theme skipped",
                severity="error",
                timeout=10,
            )
            self.theme = DEFAULT_DARK
            self.unregister_theme(bad)
