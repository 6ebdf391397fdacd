"""A LiveTable whose rows are built when they are first drawn.

`set_source(keys, cells_of)` gives the display order (a list of keys) and a function that makes
one row's cells. Nothing is built up front: a frame builds the rows on screen (a page), scrolling
builds the next ones, and a re-sort only replaces the key list. So 10,000 decisions cost one key
list and a dict, not 10,000 rows of Rich Text, before the first frame (docs/PERFORMANCE.md,
"Results screen").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.text import Text
from textual.strip import Strip

from ivcrush_tui.app.widgets.live_table import LiveTable
from ivcrush_tui.app.widgets.table_parts import _EMPTY, ColumnSpec, _Row, _Styles

CellsOf = Callable[[str], Mapping[str, Text]]


def _no_cells(_key: str) -> Mapping[str, Text]:
    return {}


class LazyTable(LiveTable):
    """LiveTable (same keys, cursor, messages and look) over a row source; `built` counts the
    rows materialised so far (tests and the benchmark check it stays near a page)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._cells_of: CellsOf = _no_cells
        self.built = 0

    def set_source(self, keys: Sequence[str], cells_of: CellsOf) -> None:
        """Show the rows `keys` in this order, their cells made by `cells_of(key)` when drawn.
        Rows already built are rebuilt (the data may have changed). The highlight stays on its
        row once the user has moved it, else it goes to the top."""
        keep = self.cursor_key() if self._cursor_moved else None
        before = self._visible_keys()
        self._cells_of = cells_of
        self._rows.clear()
        self._order = list(keys)
        self._index = {k: i for i, k in enumerate(self._order)}
        if keep is not None and keep in self._index:
            self._cursor = self._index[keep]
        else:
            self._cursor = 0
            self._cursor_moved = False
        self._cursor = max(0, min(self._cursor, len(self._order) - 1))
        self._rows_changed()
        self._refresh_moved(before)
        self.refresh()
        self._highlighted = None
        self._announce()

    def reorder(self, keys: Sequence[str]) -> None:
        """The same rows (`keys` is a permutation of them) in another order; built rows are
        kept. The highlight follows its row once moved, else stays on the top row."""
        if len(keys) != len(self._order):
            self.set_source(keys, self._cells_of)
            return
        keep = self.cursor_key()
        before = self._visible_keys()
        self._order = list(keys)
        self._index = {k: i for i, k in enumerate(self._order)}
        if keep is not None and self._cursor_moved:
            self._cursor = self._index[keep]
        self._refresh_moved(before)
        self._announce()

    def _built(self, key: str) -> _Row:
        row = self._rows.get(key)
        if row is None:
            cells = self._cells_of(key)
            row = self._rows[key] = _Row([cells.get(k, _EMPTY) for k in self._column_keys])
            self.built += 1
        return row

    def has_row(self, key: str) -> bool:
        return key in self._index

    def get_row(self, key: str) -> list[Text]:
        if key not in self._index:
            raise KeyError(key)
        return list(self._built(key).cells)

    def _row_strip(self, index: int, styles: _Styles, width: int) -> Strip:
        self._built(self._order[index])
        return super()._row_strip(index, styles, width)

    def configure(
        self, specs: Sequence[ColumnSpec], labels: Mapping[str, str] | None = None
    ) -> bool:
        """Columns as LiveTable.configure; the rows stay (rebuilt for the new columns)."""
        order = list(self._order)
        changed = super().configure(specs, labels)
        if changed and order:
            self.set_source(order, self._cells_of)
        return changed
