"""What `[ui.keymap]` may contain: the ids of the console's bindings and the grammar of a key.

Textual-free on purpose: config validation runs for every command (the engine and the headless CLI
import it), so a typo in the keymap is reported at load with exit code 2 instead of being silently
ignored by the console. The bindings themselves live in `app/bindings.py`; a unit test keeps the
two lists identical.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Every remappable binding id, grouped by where it acts (the order of the help screen).
BINDING_IDS: Final[tuple[str, ...]] = (
    "app.mode.watchlist",
    "app.mode.calendar",
    "app.mode.health",
    "app.mode.results",
    "app.rescan",
    "app.help",
    "app.command_palette",
    "app.quit",
    "watchlist.add",
    "watchlist.remove",
    "watchlist.sort",
    "watchlist.sort_reverse",
    "watchlist.filter",
    "watchlist.clear_filter",
    "watchlist.open",
    "calendar.prev_week",
    "calendar.next_week",
    "calendar.this_week",
    "calendar.open",
    "calendar.watch",
    "health.refresh",
    "results.open",
    "results.sort",
    "results.sort_reverse",
    "results.refresh",
    "ticker.back",
    "ticker.refresh",
    "ticker.scroll_down",
    "ticker.scroll_up",
    "snapshot.back",
    "modal.cancel",
    "modal.yes",
    "modal.no",
    "help.close",
)

MODIFIERS: Final = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
# Textual's names of non-character keys (textual.keys.Keys without modifiers).
NAMED_KEYS: Final = frozenset(
    {
        "escape",
        "enter",
        "return",
        "tab",
        "space",
        "backspace",
        "delete",
        "insert",
        "home",
        "end",
        "pageup",
        "pagedown",
        "up",
        "down",
        "left",
        "right",
        *(f"f{n}" for n in range(1, 25)),
    }
)
# Textual shortens a few Unicode character names (textual.keys.KEY_NAME_REPLACEMENTS).
_SHORT_NAMES: Final = {
    "slash": "solidus",
    "backslash": "reverse solidus",
    "at": "commercial at",
    "minus": "hyphen-minus",
    "plus": "plus sign",
    "underscore": "low line",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _is_key_name(name: str) -> bool:
    if len(name) == 1 and name.isprintable() and not name.isspace():
        return True  # "a", "S", "?", "/": Textual normalises printable characters itself
    if name in NAMED_KEYS:
        return True
    if not _NAME.match(name):
        return False
    # Characters by their Unicode name, as Textual spells them: question_mark, full_stop, comma.
    try:
        char = unicodedata.lookup(_SHORT_NAMES.get(name, name.replace("_", " ")))
    except KeyError:
        return False
    return len(char) == 1 and char.isprintable()


def key_problem(key: str) -> str | None:
    """Why one key ("ctrl+q", "f5", "?", "question_mark") is not a key Textual can bind, or
    None when it is."""
    if not key or key != key.strip() or " " in key:
        return f"{key!r} is not a key (no spaces; separate several keys with commas)"
    *mods, name = key.split("+") if key != "+" else ["+"]
    bad = [m for m in mods if m not in MODIFIERS]
    if bad or not name:
        return f"{key!r}: modifiers are {', '.join(sorted(MODIFIERS))}, joined with '+'"
    if not _is_key_name(name):
        return f"{key!r}: unknown key {name!r} (e.g. a, S, ?, f5, enter, pageup, ctrl+q)"
    return None
