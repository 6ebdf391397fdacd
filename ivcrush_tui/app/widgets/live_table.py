"""A table for live data on the line API: fixed column widths, cell diffs, a per-row strip cache.

Why not DataTable: it renders every cell through Rich `Padding` (~0.25 ms a cell) and keys its
caches on a counter that every `update_cell`, `sort` and resize bumps, so each streamed update,
sort or page re-renders every visible cell (docs/PERFORMANCE.md, "Console"). Here:

- a row is a record (cells as Rich `Text`, a version bumped when a cell changes); the display order
  is a list of keys plus a key -> index map, so a sort only reorders keys;
- a row is rendered to one `Strip` by laying out each cell at its fixed width directly (crop,
  justify, pad: no Rich layout), cached per row by (cursor?, stripe parity) and dropped when the
  row's cells, the columns, the width or the theme change. Moving a row keeps its strips;
- only the lines that changed are refreshed: an update to a row off screen repaints nothing.

Line 0 is the header (fixed, not scrolled); data rows follow. Rows are keyed by a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ivcrush_tui.app.widgets.table_parts import (
    _CELL_MEMO_MAX,
    _EMPTY,
    LIVE_TABLE_CSS,
    ColumnSpec,
    _Row,
    _same,
    _Styles,
    cell_segments,
    fit_columns,
    update_line,
)

__all__ = ["ColumnSpec", "LiveTable", "cell_segments", "fit_columns", "update_line"]


class _TableMessage(Message):
    """A message from a LiveTable; `control` is the table (for `@on(..., selector)`)."""

    def __init__(self, table: LiveTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> LiveTable:
        return self.table


class LiveTable(ScrollView, can_focus=True):
    """Rows keyed by string with `configure` (fixed columns), `upsert`/`remove_key`/`retain` (cell
    diffs) and `apply_order` (reorder without re-rendering rows)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up,k", "cursor_up", "Cursor up", show=False),
        Binding("down,j", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header",
        "live-table--cursor",
        "live-table--even-row",
        "live-table--odd-row",
    }

    DEFAULT_CSS = LIVE_TABLE_CSS  # DataTable's look (table_parts)

    class RowHighlighted(_TableMessage):
        """The cursor moved to another row (`key`)."""

        def __init__(self, table: LiveTable, key: str) -> None:
            super().__init__(table)
            self.key = key

    class RowSelected(_TableMessage):
        """Enter (or a click on the highlighted row) on row `key`."""

        def __init__(self, table: LiveTable, key: str) -> None:
            super().__init__(table)
            self.key = key

    class HeaderSelected(_TableMessage):
        """A click on the header of `column` (a column key)."""

        def __init__(self, table: LiveTable, column: str) -> None:
            super().__init__(table)
            self.column = column

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.specs: tuple[ColumnSpec, ...] = ()
        self.cell_padding = 1
        self.cell_updates = 0  # cells actually written (for tests and the benchmark)
        self._table_width = 0
        self._column_keys: tuple[str, ...] = ()
        self._labels: dict[str, str] = {}
        self._rows: dict[str, _Row] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._cursor = 0
        # Until the cursor is moved (keys, a click, `move_cursor`), a reorder leaves it on the
        # top row: a fresh sort shows the best row highlighted, not the one that happened to be
        # first before. Once moved, the highlight follows its row.
        self._cursor_moved = False
        self._highlighted: str | None = None  # the key last announced by RowHighlighted
        self._layout_gen = 0  # bumped when columns change or the styles change
        self._styles: _Styles | None = None
        self._header: tuple[tuple[int, int], Strip] | None = None  # ((layout gen, width), strip)
        # Rendered cells by (id of the Text, width, justify, row style, post style); the Text is
        # kept in the value so a recycled id can never match.
        self._cell_memo: dict[tuple[int, int, str, Style, Style], tuple[Text, list[Segment]]] = {}

    # -- columns ---------------------------------------------------------------------------------

    @property
    def column_keys(self) -> tuple[str, ...]:
        return self._column_keys

    @property
    def table_width(self) -> int:
        """Cells taken by the columns (content widths plus padding on both sides)."""
        return self._table_width

    def configure(
        self, specs: Sequence[ColumnSpec], labels: Mapping[str, str] | None = None
    ) -> bool:
        """Set the visible columns. Returns True when the set changed (the rows were cleared and
        must be added again), False when nothing had to change."""
        specs = tuple(specs)
        if specs == self.specs:
            return False
        self.specs = specs
        self._table_width = sum(s.width + 2 * self.cell_padding for s in specs)
        self._column_keys = tuple(s.key for s in specs)
        self._labels = {s.key: (labels or {}).get(s.key, s.label) for s in specs}
        self._layout_gen += 1
        self.clear()
        return True

    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Change header labels in place (e.g. the sort arrow); columns not named get their spec's
        label back. Repaints the header line only."""
        want = {s.key: labels.get(s.key, s.label) for s in self.specs}
        if want != self._labels:
            self._labels = want
            self._header = None
            self.refresh(Region(0, 0, max(self.size.width, self.table_width), 1))

    # -- rows ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    def has_row(self, key: str) -> bool:
        return key in self._rows

    def get_row(self, key: str) -> list[Text]:
        """The cells of row `key` in column order (KeyError when there is no such row)."""
        return list(self._rows[key].cells)

    def get_row_index(self, key: str) -> int:
        """The display index of row `key` (KeyError when there is no such row)."""
        return self._index[key]

    def upsert(self, key: str, cells: Mapping[str, Text]) -> int:
        """Add the row (at the end), or write only the cells whose content changed. Returns the
        cells written; repaints the row's line only if it is on screen."""
        values = [cells.get(k, _EMPTY) for k in self._column_keys]
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = _Row(values)
            self._index[key] = len(self._order)
            self._order.append(key)
            self.cell_updates += len(values)
            self._rows_changed()
            self._refresh_index(len(self._order) - 1)
            if self._highlighted is None:
                self._announce()  # the first row is highlighted
            return len(values)
        written = 0
        for i, (old, new) in enumerate(zip(row.cells, values, strict=True)):
            if not _same(old, new):
                row.cells[i] = new
                written += 1
        if written:
            row.version += 1
            row.strips.clear()
            self.cell_updates += written
            self._refresh_index(self._index[key])
        return written

    def remove_key(self, key: str) -> None:
        if key in self._rows:
            self._remove({key})

    def retain(self, keys: Iterable[str]) -> None:
        """Remove every row whose key is not in `keys`."""
        keep = set(keys)
        gone = {k for k in self._order if k not in keep}
        if gone:
            self._remove(gone)

    def clear(self) -> None:
        """Remove every row (the columns stay); the cursor and the scroll go back to the top."""
        self._rows.clear()
        self._order.clear()
        self._index.clear()
        self._cursor = 0
        self._cursor_moved = False
        self._highlighted = None
        self._header = None
        self._rows_changed()
        if self.scroll_offset != (0, 0):
            self.scroll_to(0, 0, animate=False, force=True)
        self.refresh()

    def apply_order(self, order: Sequence[str]) -> bool:
        """Display the rows in `order` (keys not listed go last, in their current order). Keeps the
        highlight on the same row (without scrolling) once the cursor has been moved, else on the
        top row. Returns True when the order changed."""
        if not self._order:
            return False
        rank = {k: i for i, k in enumerate(order)}
        last = len(rank)
        wanted = sorted(self._order, key=lambda k: rank.get(k, last))
        if wanted == self._order:
            return False
        keep = self.cursor_key()
        before = self._visible_keys()
        self._order = wanted
        self._index = {k: i for i, k in enumerate(wanted)}
        if keep is not None and self._cursor_moved:
            self._cursor = self._index[keep]
        self._refresh_moved(before)
        self._announce()
        return True

    def _remove(self, gone: set[str]) -> None:
        keep = self.cursor_key()
        before = self._visible_keys()
        for k in gone:
            del self._rows[k]
        self._order = [k for k in self._order if k not in gone]
        self._index = {k: i for i, k in enumerate(self._order)}
        if keep is not None and keep in self._index:
            self._cursor = self._index[keep]
        self._cursor = max(0, min(self._cursor, len(self._order) - 1))
        self._rows_changed()
        self._refresh_moved(before)
        self._announce()

    def _rows_changed(self) -> None:
        size = Size(self.table_width, len(self._order) + 1)
        if self.virtual_size != size:
            self.virtual_size = size

    # -- cursor ----------------------------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """The display index of the highlighted row (0 when empty)."""
        return self._cursor

    def cursor_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        if not self._order:
            return None
        return self._order[self._cursor]

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Highlight the row at display index `row` (clamped), scrolling it into view."""
        if not self._order:
            return
        row = max(0, min(row, len(self._order) - 1))
        self._cursor_moved = True
        old = self._cursor
        if row != old:
            self._cursor = row
            self._refresh_index(old)
            self._refresh_index(row)
        if scroll:
            self._scroll_cursor_into_view(animate=animate)
        self._announce()

    def _announce(self) -> None:
        key = self.cursor_key()
        if key != self._highlighted:
            self._highlighted = key
            if key is not None:
                self.post_message(self.RowHighlighted(self, key))

    def _data_height(self) -> int:
        """Data rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self, *, animate: bool = False) -> None:
        top = round(self.scroll_target_y)
        height = self._data_height()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=animate, force=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=animate, force=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_down(self) -> None:
        height = self._data_height()
        self.scroll_to(y=self.scroll_target_y + height, animate=False, force=True)
        self.move_cursor(row=self._cursor + height)

    def action_page_up(self) -> None:
        height = self._data_height()
        self.scroll_to(y=self.scroll_target_y - height, animate=False, force=True)
        self.move_cursor(row=self._cursor - height)

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_select_cursor(self) -> None:
        key = self.cursor_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            x = offset.x + self.scroll_offset.x
            for spec in self.specs:
                x -= spec.width + 2 * self.cell_padding
                if x < 0:
                    self.post_message(self.HeaderSelected(self, spec.key))
                    return
            return
        index = self.scroll_offset.y + offset.y - 1
        if not 0 <= index < len(self._order):
            return
        if index == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row=index, scroll=True)

    # -- refreshing ------------------------------------------------------------------------------

    def _visible_keys(self) -> list[str | None]:
        order = self._order
        top = self.scroll_offset.y
        return [
            order[i] if i < len(order) else None
            for i in range(top, top + max(0, self.size.height - 1))
        ]

    def _refresh_index(self, index: int) -> None:
        """Repaint the line of the row at display index `index` if it is on screen."""
        top = round(self.scroll_y)
        if top <= index < top + self.size.height - 1:
            self.refresh_line(index + 1)

    def _refresh_moved(self, before: list[str | None]) -> None:
        """Repaint the on-screen lines whose row (or the cursor) differs from `before`."""
        top = self.scroll_offset.y
        for line, (old, new) in enumerate(zip(before, self._visible_keys(), strict=True)):
            if old != new or top + line == self._cursor:
                self.refresh_line(top + line + 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self.refresh()

    # -- rendering -------------------------------------------------------------------------------

    def _resolve_styles(self) -> _Styles:
        get = self.get_component_rich_style
        styles = _Styles(
            base=self.rich_style,
            header=get("live-table--header"),
            cursor=get("live-table--cursor"),
            even=get("live-table--even-row"),
            odd=get("live-table--odd-row"),
        )
        if styles != self._styles:
            self._styles = styles
            self._layout_gen += 1  # every cached strip was drawn with the old colours
        return styles

    def render_lines(self, crop: Region) -> list[Strip]:
        self._resolve_styles()  # once per paint: a theme or focus change shows up here
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        styles = self._styles or self._resolve_styles()
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._header_strip(styles, width)
        else:
            index = scroll_y + y - 1
            if index >= len(self._order):
                return Strip.blank(width, styles.base)
            strip = self._row_strip(index, styles, width)
        if scroll_x or strip.cell_length != width:
            strip = strip.crop_extend(scroll_x, scroll_x + width, styles.base)
        return strip

    def _row_strip(self, index: int, styles: _Styles, width: int) -> Strip:
        row = self._rows[self._order[index]]
        stamp = (self._layout_gen, width)
        if row.stamp != stamp:
            row.strips.clear()
            row.stamp = stamp
        variant = (index == self._cursor, index % 2)
        strip = row.strips.get(variant)
        if strip is None:
            strip = row.strips[variant] = self._render_row(row.cells, variant, styles, width)
        return strip

    def _render_row(
        self, cells: list[Text], variant: tuple[bool, int], styles: _Styles, width: int
    ) -> Strip:
        """One data row as a strip at least `width` cells wide (the row colour fills the rest)."""
        cursor, parity = variant
        row_style = styles.odd if parity else styles.even
        post = Style.null()
        if cursor:
            row_style += styles.cursor
            post = Style.from_color(color=styles.cursor.color)
        return self._render_cells(cells, row_style, post, width)

    def _header_strip(self, styles: _Styles, width: int) -> Strip:
        stamp = (self._layout_gen, width)
        if self._header is None or self._header[0] != stamp:
            labels = [Text(self._labels.get(s.key, s.label)) for s in self.specs]
            strip = self._render_cells(labels, styles.header, Style.null(), width, header=True)
            self._header = (stamp, strip)
        return self._header[1]

    def _render_cells(
        self, cells: list[Text], style: Style, post: Style, width: int, *, header: bool = False
    ) -> Strip:
        console = self.app.console
        memo = self._cell_memo
        if len(memo) > _CELL_MEMO_MAX:
            memo.clear()
        pad = self.cell_padding
        segments: list[Segment] = []
        for spec, text in zip(self.specs, cells, strict=True):
            justify = "right" if spec.right else "left"
            if not header and text.justify in ("right", "center", "left"):
                justify = text.justify
            # Unchanged cells are the same Text object (the screens memoise them), so a row that
            # changed in one cell reuses the others' segments.
            key = (id(text), spec.width, justify, style, post)
            hit = memo.get(key)
            if hit is None or hit[0] is not text:
                body = cell_segments(text, spec.width, justify, style, post, console)
                if pad:
                    blank = Segment(" " * pad, style + post)
                    body = [blank, *body, blank]
                hit = memo[key] = (text, body)
            segments.extend(hit[1])
        used = self.table_width
        if width > used:
            segments.append(Segment(" " * (width - used), style))
        return Strip(list(Segment.simplify(segments)), max(width, used))
