"""LiveTable's building blocks, apart from the widget: column specs and fitting, one cell laid out
at a fixed width (no Rich layout), the one-line Static update that skips unchanged text, and the
row and style records the widget caches its strips in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widgets import Static


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A column: stable key, header label, fixed content width, and priority (0 = never dropped;
    higher numbers are dropped first when the terminal is narrow)."""

    key: str
    label: str
    width: int
    priority: int = 0
    right: bool = False


def fit_columns(
    specs: Sequence[ColumnSpec], available: int, padding: int
) -> tuple[ColumnSpec, ...]:
    """The columns that fit in `available` cells (each costs width + 2·padding), dropping the
    highest priority numbers first; the original order is kept."""
    chosen = list(specs)
    total = sum(s.width + 2 * padding for s in chosen)
    for victim in sorted(specs, key=lambda s: -s.priority):
        if total <= available or victim.priority == 0:
            break
        chosen.remove(victim)
        total -= victim.width + 2 * padding
    return tuple(chosen)


def _same(a: Text, b: Text) -> bool:
    if a is b:
        return True
    return a.plain == b.plain and str(a.style) == str(b.style) and a.spans == b.spans


def update_line(static: Static, content: str | Text) -> None:
    """Show `content` in a one-line Static whose height CSS fixes (a title or detail line next to
    a table): skipped when unchanged, and without a layout pass, which would re-flow the screen
    on every key press and every streamed flush."""
    old = static.content
    if isinstance(old, Text) and isinstance(content, Text):
        unchanged = _same(old, content) and old.justify == content.justify
    else:
        unchanged = type(old) is type(content) and old == content
    if not unchanged:
        static.update(content, layout=False)


def cell_segments(
    text: Text, width: int, justify: str, pre: Style, post: Style, console: Console
) -> list[Segment]:
    """`text` laid out in exactly `width` cells on one line: cropped (never wrapped), justified,
    each piece styled `pre + own style + post` (the cursor colour wins over the cell colour)."""
    if text.cell_len > width:
        text = text.copy()
        text.truncate(width, overflow=text.overflow or "fold")
    fill = width - text.cell_len
    blank = pre + post
    if text.spans:  # the pieces carry the text's own style already
        body = [Segment(s.text, pre + s.style + post) for s in text.render(console) if s.text]
    else:
        own = text.style if isinstance(text.style, Style) else console.get_style(text.style)
        body = [Segment(text.plain, pre + own + post)] if text.plain else []
    if fill <= 0:
        return body
    if justify == "right":
        return [Segment(" " * fill, blank), *body]
    if justify == "center":
        left = fill // 2
        return [Segment(" " * left, blank), *body, Segment(" " * (fill - left), blank)]
    return [*body, Segment(" " * fill, blank)]


_EMPTY = Text("")  # a missing cell (never mutated)
_CELL_MEMO_MAX = 50_000  # rendered cells kept (a few per visible cell and style variant)


@dataclass(slots=True)
class _Row:
    cells: list[Text]
    version: int = 0
    # Rendered strips by (is cursor, stripe parity), valid for `stamp` = (layout generation, width).
    strips: dict[tuple[bool, int], Strip] = field(default_factory=dict)
    stamp: tuple[int, int] = (-1, -1)


@dataclass(frozen=True, slots=True)
class _Styles:
    """The resolved component styles; when any differs (theme, focus) every cached strip goes."""

    base: Style
    header: Style
    cursor: Style
    even: Style
    odd: Style


# DataTable's look (same theme variables), so both themes render as before.
LIVE_TABLE_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .live-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .live-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .live-table--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .live-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .live-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .live-table--odd-row {
        }
        & > .live-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """


def next_sort(
    columns: Sequence[str], current: str, ascending_first: frozenset[str]
) -> tuple[str, bool] | None:
    """The `s` key of a sortable table: the column after `current` (wrapping round) and its first
    direction (True = descending; columns in `ascending_first` start ascending). None without
    columns."""
    if not columns:
        return None
    i = columns.index(current) if current in columns else -1
    col = columns[(i + 1) % len(columns)]
    return col, col not in ascending_first


def header_sort(
    clicked: str, current: str, desc: bool, ascending_first: frozenset[str]
) -> tuple[str, bool]:
    """A click on a column header: the sorted column reverses, another starts in its first
    direction (True = descending)."""
    if clicked == current:
        return clicked, not desc
    return clicked, clicked not in ascending_first
