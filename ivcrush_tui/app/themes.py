"""Colour themes: TOML files turned into Textual `Theme`s carrying the console's semantic variables.

Where themes come from, highest priority first (a name found earlier wins):
  1. `$IVCRUSH_THEMES_DIR` (one folder), then any folder passed by the caller;
  2. the user's themes: `<platform config dir>/themes` (e.g. ~/.config/ivcrush/themes on Linux);
  3. the shipped themes: the repository's top-level `themes/`, installed as the package data
     `ivcrush_tui.themes` (pyproject maps that package to `themes/`, so there is one copy of the
     files) and read with importlib.resources; a source checkout not (re)installed reads
     `themes/` directly.
A theme file holds Textual's base colours (`primary`, `background`, ...) and a `[variables]` table
with the semantic colours below. A missing semantic variable falls back to the theme's own
success/error/warning colours, so every theme (including Textual's builtins) can render the console.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from textual.color import Color, ColorParseError
from textual.theme import Theme

# Discovery needs no Textual (the configuration checks ui.theme with it): re-exported from there.
from ivcrush_tui.theme_names import DEFAULT_DARK as DEFAULT_DARK
from ivcrush_tui.theme_names import DEFAULT_LIGHT as DEFAULT_LIGHT
from ivcrush_tui.theme_names import THEMES_ENV as THEMES_ENV
from ivcrush_tui.theme_names import THEMES_PACKAGE as THEMES_PACKAGE
from ivcrush_tui.theme_names import shipped_themes as shipped_themes
from ivcrush_tui.theme_names import theme_dirs as theme_dirs
from ivcrush_tui.theme_names import theme_files as theme_files
from ivcrush_tui.theme_names import user_themes_dir as user_themes_dir

# The semantic variables every screen relies on ($gain in TCSS, theme_variables["gain"] in code).
SEMANTIC_VARIABLES = (
    "gain",
    "loss",
    "tier-excellent",
    "tier-good",
    "tier-marginal",
    "tier-skip",
    "stale",
)
_BASE_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
_ALLOWED_TOP = {*_BASE_KEYS, "name", "dark", "variables", "luminosity_spread", "text_alpha"}


class ThemeFileError(ValueError):
    """A theme file that cannot be used, with the path and the reason."""


@dataclass(frozen=True, slots=True)
class ThemeLoad:
    """Themes found (first file wins per name) and the problems met on the way."""

    themes: tuple[Theme, ...]
    errors: tuple[str, ...]
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict)  # name -> file

    def user_themes(self, shipped: Traversable | None) -> tuple[Theme, ...]:
        """The themes that came from a file outside the shipped folder (the user's own)."""
        ours = {str(f) for f in theme_files(shipped)} if shipped is not None else set()
        return tuple(
            t for t in self.themes if t.name in self.origins and self.origins[t.name] not in ours
        )


def _color(path: Traversable, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{path}: {key} must be a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ThemeFileError(f"{path}: {key} = {value!r} is not a colour") from exc
    return value


def theme_from_mapping(data: Mapping[str, object], path: Traversable) -> Theme:
    """Validate one parsed theme file and build the Textual Theme (ThemeFileError when invalid)."""
    unknown = sorted(set(data) - _ALLOWED_TOP)
    if unknown:
        raise ThemeFileError(f"{path}: unknown keys {', '.join(unknown)}")
    name = data.get("name", path.name.removesuffix(".toml"))
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"{path}: name must be a non-empty string")
    if "primary" not in data:
        raise ThemeFileError(f"{path}: primary colour missing")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"{path}: dark must be true or false")
    base = {k: _color(path, k, data[k]) for k in _BASE_KEYS if k in data}
    raw_vars = data.get("variables", {})
    if not isinstance(raw_vars, Mapping):
        raise ThemeFileError(f"{path}: [variables] must be a table")
    variables: dict[str, str] = {}
    for key, value in raw_vars.items():
        if not isinstance(value, str):
            raise ThemeFileError(f"{path}: variables.{key} must be a string")
        # Semantic colours are used in Rich styles as well as TCSS, so they must parse.
        variables[str(key)] = (
            _color(path, f"variables.{key}", value) if key in SEMANTIC_VARIABLES else value
        )
    return Theme(
        name=name.strip(),
        primary=base["primary"],
        secondary=base.get("secondary"),
        accent=base.get("accent"),
        foreground=base.get("foreground"),
        background=base.get("background"),
        surface=base.get("surface"),
        panel=base.get("panel"),
        boost=base.get("boost"),
        warning=base.get("warning"),
        error=base.get("error"),
        success=base.get("success"),
        dark=dark,
        variables=variables,
    )


def load_theme_file(path: Traversable) -> Theme:
    """Read and validate one TOML theme file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"{path}: cannot read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path}: invalid TOML ({exc})") from exc
    return theme_from_mapping(data, path)


def load_themes(dirs: Iterable[Traversable]) -> ThemeLoad:
    """Every valid theme in `dirs` (earlier directories win a name clash), plus the errors.
    The built-in fallbacks fill in `ivcrush-dark`/`ivcrush-light` if no file provides them."""
    themes: dict[str, Theme] = {}
    origins: dict[str, str] = {}
    errors: list[str] = []
    for d in dirs:
        for path in theme_files(d):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                errors.append(str(exc))
                continue
            if theme.name not in themes:
                themes[theme.name] = theme
                origins[theme.name] = str(path)
    for fallback in FALLBACK_THEMES:
        themes.setdefault(fallback.name, fallback)
    return ThemeLoad(tuple(themes.values()), tuple(errors), origins)


def semantic_defaults(theme: Theme) -> dict[str, str]:
    """Semantic variables derived from a theme's base colours (for themes that lack them)."""
    success = theme.success or "#3FB950"
    error = theme.error or "#F85149"
    warning = theme.warning or "#E3B341"
    muted = "#8B949E" if theme.dark else "#6E7781"
    return {
        "gain": success,
        "loss": error,
        "tier-excellent": success,
        "tier-good": success,
        "tier-marginal": warning,
        "tier-skip": muted,
        "stale": muted,
    }


# Used only when no theme file can be found (e.g. an install that lost its data files): the same
# colours as the shipped TOML, so the console never starts without its semantic variables.
FALLBACK_THEMES = (
    Theme(
        name=DEFAULT_DARK,
        dark=True,
        primary="#4C9AFF",
        secondary="#A58BFF",
        accent="#FFB454",
        foreground="#D8DEE6",
        background="#0D1117",
        surface="#161B22",
        panel="#1F2630",
        warning="#E3B341",
        error="#F85149",
        success="#3FB950",
        variables={
            "gain": "#3FB950",
            "loss": "#F85149",
            "tier-excellent": "#2EE66B",
            "tier-good": "#8BD5A0",
            "tier-marginal": "#E3B341",
            "tier-skip": "#8B949E",
            "stale": "#6E7681",
        },
    ),
    Theme(
        name=DEFAULT_LIGHT,
        dark=False,
        primary="#0B5CAD",
        secondary="#6F42C1",
        accent="#B35900",
        foreground="#1F2328",
        background="#FFFFFF",
        surface="#F6F8FA",
        panel="#EAEEF2",
        warning="#9A6700",
        error="#CF222E",
        success="#1A7F37",
        variables={
            "gain": "#1A7F37",
            "loss": "#CF222E",
            "tier-excellent": "#116329",
            "tier-good": "#2DA44E",
            "tier-marginal": "#9A6700",
            "tier-skip": "#6E7781",
            "stale": "#8C959F",
        },
    ),
)
