"""Every key binding of the console, with a stable id (for keymap overrides), a description for the
footer and the help screen, and a tooltip. Screens take their BINDINGS from here."""

from __future__ import annotations

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
    Binding("r", "rescan", "Rescan", id="app.rescan", tooltip="Scan the watchlist now"),
    Binding(
        "question_mark",
        "help",
        "Help",
        key_display="?",
        id="app.help",
        tooltip="List every key",
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

TICKER_BINDINGS: list[Binding] = [
    Binding("escape", "back", "Back", id="ticker.back", tooltip="Back to the previous screen"),
    Binding(
        "r",
        "refresh",
        "Refresh",
        id="ticker.refresh",
        tooltip="Fetch this ticker again",
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
    ("Drill-down", TICKER_BINDINGS),
    ("Dialogs", CONFIRM_BINDINGS),
)
EXTRA_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Everywhere", "ctrl+p", "Command palette: add or go to a ticker, rescan, screens, themes"),
    ("Watchlist", "click header", "Sort by that column (again: reverse)"),
    ("Watchlist", "↑ ↓ pgup pgdn", "Move the highlight"),
)
