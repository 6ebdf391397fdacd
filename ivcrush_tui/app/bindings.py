"""Every key binding of the console, with a stable id (for keymap overrides), a description for the
footer and the help screen, and a tooltip. Screens take their BINDINGS from here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from textual.binding import Binding

SCREENS_GROUP = Binding.Group("Screens", compact=True)
WEEK_GROUP = Binding.Group("Week", compact=True)

APP_BINDINGS: list[Binding] = [
    Binding(
        "1",
        "switch_mode('watchlist')",
        "Watchlist",
        id="app.mode.watchlist",
        tooltip="Show the watchlist",
        group=SCREENS_GROUP,
    ),
    Binding(
        "2",
        "switch_mode('calendar')",
        "Calendar",
        id="app.mode.calendar",
        tooltip="Show the earnings calendar",
        group=SCREENS_GROUP,
    ),
    Binding(
        "3",
        "switch_mode('health')",
        "Health",
        id="app.mode.health",
        tooltip="Show provider and component health",
        group=SCREENS_GROUP,
    ),
    Binding(
        "4",
        "switch_mode('results')",
        "Results",
        id="app.mode.results",
        tooltip="Show the ledger's decisions and how each tier has done",
        group=SCREENS_GROUP,
    ),
    Binding("r", "rescan", "Rescan", id="app.rescan", tooltip="Scan the watchlist now"),
    Binding(
        "question_mark",
        "help",
        "Help",
        key_display="?",
        id="app.help",
        tooltip="List every key",
    ),
    Binding(
        "ctrl+p",
        "command_palette",
        "Palette",
        show=False,  # Textual's own palette binding (same look), given an id for the keymap
        priority=True,
        id="app.command_palette",
        tooltip="Command palette: add or go to a ticker, rescan, screens, themes",
    ),
    Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit ivcrush"),
]

WATCHLIST_BINDINGS: list[Binding] = [
    Binding("a", "add", "Add", id="watchlist.add", tooltip="Add a ticker to the watchlist"),
    Binding(
        "d,delete",
        "remove",
        "Remove",
        key_display="d",
        id="watchlist.remove",
        tooltip="Remove the highlighted ticker (asks first)",
    ),
    Binding("s", "cycle_sort", "Sort", id="watchlist.sort", tooltip="Sort by the next column"),
    Binding(
        "S",
        "reverse_sort",
        "Reverse",
        show=False,  # listed in help; keeps the footer readable at 80 columns
        key_display="S",
        id="watchlist.sort_reverse",
        tooltip="Reverse the sort direction",
    ),
    Binding(
        "slash",
        "filter",
        "Filter",
        key_display="/",
        id="watchlist.filter",
        tooltip="Filter the rows by ticker, tier or recommendation",
    ),
    Binding(
        "escape",
        "clear_filter",
        "Clear filter",
        show=False,
        id="watchlist.clear_filter",
        tooltip="Clear the filter",
    ),
    Binding(
        "enter",
        "open",
        "Details",
        id="watchlist.open",
        tooltip="Open the highlighted ticker's drill-down",
    ),
]

CALENDAR_BINDINGS: list[Binding] = [
    Binding(
        "left",
        "week(-1)",
        "Prev week",
        key_display="←",
        priority=True,
        id="calendar.prev_week",
        tooltip="Show the previous week",
        group=WEEK_GROUP,
    ),
    Binding(
        "right",
        "week(1)",
        "Next week",
        key_display="→",
        priority=True,
        id="calendar.next_week",
        tooltip="Show the next week",
        group=WEEK_GROUP,
    ),
    Binding(
        "t",
        "this_week",
        "This week",
        show=False,
        id="calendar.this_week",
        tooltip="Back to the current week",
    ),
    Binding(
        "enter",
        "open",
        "Details",
        id="calendar.open",
        tooltip="Open the highlighted ticker's drill-down",
    ),
    Binding(
        "w",
        "watch",
        "Watch",
        id="calendar.watch",
        tooltip="Add the highlighted ticker to the watchlist",
    ),
]

HEALTH_BINDINGS: list[Binding] = [
    Binding(
        "u",
        "refresh_health",
        "Update",
        id="health.refresh",
        tooltip="Check every provider and component now",
    ),
]

RESULTS_BINDINGS: list[Binding] = [
    Binding(
        "enter",
        "open",
        "Drill-down",
        id="results.open",
        tooltip="Open the highlighted decision's drill-down as it was at decision time",
    ),
    Binding("s", "cycle_sort", "Sort", id="results.sort", tooltip="Sort by the next column"),
    Binding(
        "S",
        "reverse_sort",
        "Reverse",
        show=False,
        key_display="S",
        id="results.sort_reverse",
        tooltip="Reverse the sort direction",
    ),
    Binding(
        "r",
        "reload",
        "Reload",
        id="results.refresh",
        tooltip="Read the ledger again (settlements since the screen opened)",
    ),
]

SNAPSHOT_BINDINGS: list[Binding] = [
    Binding("escape", "back", "Back", id="snapshot.back", tooltip="Back to the Results screen"),
]

TICKER_BINDINGS: list[Binding] = [
    Binding("escape", "back", "Back", id="ticker.back", tooltip="Back to the previous screen"),
    Binding(
        "r",
        "refresh",
        "Refresh",
        id="ticker.refresh",
        tooltip="Fetch this ticker again",
    ),
    Binding(
        "j",
        "scroll_body('down')",
        "Down",
        show=False,  # listed in help; arrows, pgup/pgdn, home/end also scroll
        id="ticker.scroll_down",
        tooltip="Scroll the drill-down down",
    ),
    Binding(
        "k",
        "scroll_body('up')",
        "Up",
        show=False,
        id="ticker.scroll_up",
        tooltip="Scroll the drill-down up",
    ),
]

MODAL_BINDINGS: list[Binding] = [
    Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Close without changes"),
]

CONFIRM_BINDINGS: list[Binding] = [
    *MODAL_BINDINGS,
    Binding("y", "confirm", "Yes", id="modal.yes", tooltip="Confirm"),
    Binding("n", "cancel", "No", id="modal.no", tooltip="Keep as is"),
]

HELP_BINDINGS: list[Binding] = [
    Binding(
        "escape,question_mark,q",
        "close",
        "Close",
        key_display="esc",
        id="help.close",
        tooltip="Close the help",
    ),
]

# For the help screen: every context and its bindings, in reading order.
ALL_BINDINGS: tuple[tuple[str, list[Binding]], ...] = (
    ("Everywhere", APP_BINDINGS),
    ("Watchlist", WATCHLIST_BINDINGS),
    ("Calendar", CALENDAR_BINDINGS),
    ("Health", HEALTH_BINDINGS),
    ("Results", RESULTS_BINDINGS),
    ("Drill-down", TICKER_BINDINGS),
    ("Decision snapshot", SNAPSHOT_BINDINGS),
    ("Dialogs", CONFIRM_BINDINGS),
)
EXTRA_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Watchlist", "click header", "Sort by that column (again: reverse)"),
    ("Watchlist", "↑ ↓ j k pgup pgdn home end", "Move the highlight"),
    ("Results", "click header", "Sort by that column (again: reverse)"),
    ("Results", "↑ ↓ j k pgup pgdn home end", "Move the highlight"),
    ("Results", "tab", "Focus the summary and charts (↑ ↓ scroll them when narrow)"),
    ("Drill-down", "↑ ↓ pgup pgdn home end", "Scroll the panels and charts"),
    ("Decision snapshot", "↑ ↓ pgup pgdn home end", "Scroll the snapshot"),
)

# Where bindings act together (a screen's own keys plus the app's), to find keymap overrides that
# take a key another binding of the same place already answers to.
KEY_CONTEXTS: tuple[tuple[str, list[Binding]], ...] = (
    ("the watchlist", [*WATCHLIST_BINDINGS, *APP_BINDINGS]),
    ("the calendar", [*CALENDAR_BINDINGS, *APP_BINDINGS]),
    ("the health screen", [*HEALTH_BINDINGS, *APP_BINDINGS]),
    ("the results screen", [*RESULTS_BINDINGS, *APP_BINDINGS]),
    ("the decision snapshot", [*SNAPSHOT_BINDINGS, *APP_BINDINGS]),
    ("the drill-down", [*TICKER_BINDINGS, *APP_BINDINGS]),
    ("dialogs", CONFIRM_BINDINGS),
    ("the help screen", HELP_BINDINGS),
)

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "left": "←",
    "right": "→",
    "escape": "esc",
    "delete": "del",
}


def binding_by_id(binding_id: str) -> Binding:
    """The binding with this id (KeyError when there is none)."""
    for _, bindings in (*ALL_BINDINGS, ("Help", HELP_BINDINGS)):
        for b in bindings:
            if b.id == binding_id:
                return b
    raise KeyError(binding_id)


def effective_keys(b: Binding, keymap: Mapping[str, str]) -> list[str]:
    """The keys a binding answers to: the keymap's (which replace the defaults) or its own."""
    keys = keymap.get(b.id) if b.id else None
    return [k.strip() for k in (keys or b.key).split(",") if k.strip()]


def key_label(
    b: Binding,
    keymap: Mapping[str, str] | None = None,
    display: Callable[[str], str] | None = None,
) -> str:
    """How a binding's keys are written for humans ("d / del", "?"); `display` formats keys the
    table does not name (the app's `get_key_display`, so help and footer agree)."""
    names = [
        KEY_NAMES.get(k) or (display(k) if display else k) for k in effective_keys(b, keymap or {})
    ]
    return " / ".join(names)


def keymap_conflicts(keymap: Mapping[str, str]) -> list[str]:
    """One sentence per key that a remapped binding shares with another binding of the same
    place (then only one of them can act). Defaults that share a key on purpose are not
    reported: only clashes that involve a remapped binding."""
    out: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for place, bindings in KEY_CONTEXTS:
        by_key: dict[str, list[Binding]] = {}
        for b in bindings:
            for key in effective_keys(b, keymap):
                by_key.setdefault(key, []).append(b)
        for key, owners in by_key.items():
            ids = frozenset(b.id for b in owners if b.id)
            if len(ids) < 2 or not ids & set(keymap) or (key, ids) in seen:
                continue
            seen.add((key, ids))
            names = " and ".join(f"{b.description} ({b.id})" for b in owners)
            out.append(f"{KEY_NAMES.get(key, key)} is bound to {names} on {place}")
    return out
