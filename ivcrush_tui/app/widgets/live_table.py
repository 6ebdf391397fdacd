"""A DataTable for live data: fixed column widths, cell-level diffs, order set from outside.

Why: every `update_cell` invalidates the whole table's render caches (O(rows) on the next frame),
and `update_width=True` re-measures a column. So widths are fixed, unchanged cells are skipped,
updates are applied by the caller inside `app.batch_update()` a few times a second, and the rows are
only re-ordered when the order actually changed. The table is never rebuilt for a data update; only
a change of the visible column set (terminal resized across a breakpoint) clears it.

Rows are keyed by a string, and the first column must display exactly that key (it is how the order
is applied through the public `sort` API).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


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


def _same(a: object, b: object) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and str(a.style) == str(b.style) and a.spans == b.spans
    return a == b


class LiveTable(DataTable[Text]):
    """DataTable with `configure` (fixed columns), `upsert`/`remove_key` (cell diffs) and
    `apply_order` (reorder without rebuilding)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type="row",
            zebra_stripes=True,
            cell_padding=1,
        )
        self.specs: tuple[ColumnSpec, ...] = ()
        self.cell_updates = 0  # cells actually written (for tests and the benchmark)

    @property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.specs)

    def configure(
        self, specs: Sequence[ColumnSpec], labels: Mapping[str, str] | None = None
    ) -> bool:
        """Set the visible columns. Returns True when the set changed (the rows were cleared and
        must be added again), False when nothing had to change."""
        specs = tuple(specs)
        if specs == self.specs:
            return False
        self.clear(columns=True)
        self.specs = specs
        for s in specs:
            label = (labels or {}).get(s.key, s.label)
            self.add_column(
                Text(label, justify="right" if s.right else "left", no_wrap=True),
                width=s.width,
                key=s.key,
            )
        return True

    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Change header labels in place (e.g. the sort arrow)."""
        changed = False
        for s in self.specs:
            col = self.columns.get(s.key)  # type: ignore[call-overload]
            if col is None:
                continue
            want = labels.get(s.key, s.label)
            if col.label.plain != want:
                col.label = Text(want, justify="right" if s.right else "left", no_wrap=True)
                changed = True
        if changed:
            self.notify_style_update()

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(r.key.value) for r in self.ordered_rows]

    def has_row(self, key: str) -> bool:
        return key in self.rows

    def upsert(self, key: str, cells: Mapping[str, Text]) -> int:
        """Add the row, or write only the cells whose content changed. Returns cells written."""
        values = [cells.get(k, Text("")) for k in self.column_keys]
        if key not in self.rows:
            self.add_row(*values, key=key)
            self.cell_updates += len(values)
            return len(values)
        written = 0
        try:
            current = self.get_row(key)
        except RowDoesNotExist:
            return 0
        for col, old, new in zip(self.column_keys, current, values, strict=True):
            if not _same(old, new):
                try:
                    self.update_cell(key, col, new, update_width=False)
                except (CellDoesNotExist, RowDoesNotExist):
                    continue
                written += 1
        self.cell_updates += written
        return written

    def remove_key(self, key: str) -> None:
        if key in self.rows:
            self.remove_row(key)

    def retain(self, keys: Iterable[str]) -> None:
        """Remove every row whose key is not in `keys`."""
        keep = set(keys)
        for k in [k for k in self.row_keys() if k not in keep]:
            self.remove_row(k)

    def cursor_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        if self.row_count == 0:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except (CellDoesNotExist, RowDoesNotExist):
            return None

    def apply_order(self, order: Sequence[str]) -> bool:
        """Display the rows in `order` (keys not listed go last). Keeps the highlight on the same
        row. Returns True when the order changed."""
        if not self.specs or self.row_count == 0:
            return False
        rank = {k: i for i, k in enumerate(order)}
        current = self.row_keys()
        wanted = sorted(current, key=lambda k: rank.get(k, len(rank)))
        if wanted == current:
            return False
        keep = self.cursor_key()
        first = self.specs[0].key
        self.sort(first, key=lambda cell: rank.get(str(cell), len(rank)))
        if keep is not None:
            self.move_cursor(row=self.get_row_index(keep), animate=False, scroll=False)
        return True
