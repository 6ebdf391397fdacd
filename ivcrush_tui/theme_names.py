"""Where theme files are and which theme names exist, without importing Textual.

The configuration checks `ui.theme` at start like every other key, and every command loads the
configuration: importing Textual there would cost each headless command (and break the lazy-import
budget of tests/unit/test_lazy_imports.py). So the discovery lives here, and `app/themes.py` (which
builds the Textual `Theme`s) uses it.

Where themes come from, highest priority first (a name found earlier wins):
  1. `$IVCRUSH_THEMES_DIR` (one folder), then any folder passed by the caller;
  2. the user's themes: `<platform config dir>/themes` (e.g. ~/.config/ivcrush/themes on Linux);
  3. the shipped themes: the repository's top-level `themes/`, installed as the package data
     `ivcrush_tui.themes`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

THEMES_ENV = "IVCRUSH_THEMES_DIR"
THEMES_PACKAGE = "ivcrush_tui.themes"
DEFAULT_DARK = "ivcrush-dark"
DEFAULT_LIGHT = "ivcrush-light"

# Textual's built-in themes that the console offers: textual.theme.BUILTIN_THEMES of the pinned
# Textual (pyproject: textual==8.2.8) without the ANSI ones, which ignore the console's semantic
# colours and are unregistered by the app. Written out so that the check needs no Textual import;
# tests/ui/test_themes.py compares it with Textual's own list, so an upgrade cannot drift apart.
TEXTUAL_THEMES = frozenset(
    {
        "atom-one-dark",
        "atom-one-light",
        "catppuccin-frappe",
        "catppuccin-latte",
        "catppuccin-macchiato",
        "catppuccin-mocha",
        "dracula",
        "flexoki",
        "gruvbox",
        "monokai",
        "nord",
        "rose-pine",
        "rose-pine-dawn",
        "rose-pine-moon",
        "solarized-dark",
        "solarized-light",
        "textual-dark",
        "textual-light",
        "tokyo-night",
    }
)
UNOFFERED_THEMES = ("textual-ansi", "ansi-dark", "ansi-light")


def shipped_themes() -> Traversable | None:
    """The themes shipped with ivcrush: the package data when installed (wheel or editable),
    else the source checkout's top-level `themes/`; None if neither exists."""
    try:
        root = resources.files(THEMES_PACKAGE)
        if root.is_dir():
            return root
    except (ModuleNotFoundError, TypeError):  # a checkout whose install predates the mapping
        pass
    checkout = Path(__file__).resolve().parents[1] / "themes"
    return checkout if checkout.is_dir() else None


def user_themes_dir() -> Path | None:
    """`<platform config dir>/themes`, whether or not it exists (None if it cannot be known)."""
    try:
        from platformdirs import user_config_path

        return user_config_path("ivcrush") / "themes"
    except Exception:  # platformdirs failing must not cost the shipped themes
        return None


def theme_dirs(
    extra: Iterable[Path] = (), env: Mapping[str, str] | None = None
) -> list[Traversable]:
    """Folders searched for `*.toml` themes, highest priority first (existing ones only).
    `env` defaults to the process environment (for `$IVCRUSH_THEMES_DIR`)."""
    candidates: list[Traversable] = []
    folder = (os.environ if env is None else env).get(THEMES_ENV)
    if folder:
        candidates.append(Path(folder).expanduser())
    candidates.extend(extra)
    user = user_themes_dir()
    if user is not None:
        candidates.append(user)
    shipped = shipped_themes()
    if shipped is not None:
        candidates.append(shipped)
    found: list[Traversable] = []
    for c in candidates:
        if c.is_dir() and str(c) not in {str(f) for f in found}:
            found.append(c)
    return found


def theme_files(folder: Traversable) -> list[Traversable]:
    """The `*.toml` files of one folder, by name (an unreadable folder has none)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return sorted((e for e in entries if e.name.endswith(".toml") and e.is_file()), key=str)


def file_theme_name(path: Traversable) -> str | None:
    """The name a theme file declares (its `name`, else the file name without `.toml`); None
    when it cannot be read or parsed (the console reports such a file when it starts)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = data.get("name", path.name.removesuffix(".toml"))
    return name.strip() if isinstance(name, str) and name.strip() else None


def known_theme_names(env: Mapping[str, str] | None = None) -> set[str]:
    """Every theme name `ui.theme` may give: the theme files found (user's and shipped), the
    built-in defaults, and Textual's themes the console offers."""
    names = {DEFAULT_DARK, DEFAULT_LIGHT, *TEXTUAL_THEMES}
    for folder in theme_dirs(env=env):
        for path in theme_files(folder):
            name = file_theme_name(path)
            if name is not None:
                names.add(name)
    return names
