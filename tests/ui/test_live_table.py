"""LiveTable on its own: cell diffs, repaint only what changed, order, cursor, messages, layout."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot
from textual.strip import Strip

from ivcrush_tui.app.widgets.live_table import ColumnSpec, LiveTable

SPECS = (
    ColumnSpec("key", "Key", 5),
    ColumnSpec("num", "Num", 6, right=True),
    ColumnSpec("word", "Word", 4),
)
WIDTH = sum(s.width + 2 for s in SPECS)  # 21 cells with the padding


def row(
    key: str, num: str = "1.00", word: str = "w", *, style: str | Style = ""
) -> dict[str, Text]:
    return {
        "key": Text(key),
        "num": Text(num, justify="right", style=style),
        "word": Text(word),
    }


class CountingTable(LiveTable):
    """Counts lines painted and rows rendered (strip cache misses)."""

    def __init__(self) -> None:
        super().__init__(id="t")
        self.lines_painted = 0
        self.rows_rendered = 0

    def render_line(self, y: int) -> Strip:
        self.lines_painted += 1
        return super().render_line(y)

    def _render_row(self, *args: object, **kwargs: object) -> Strip:
        self.rows_rendered += 1
        return super()._render_row(*args, **kwargs)  # type: ignore[arg-type]


class TableApp(App[None]):
    def __init__(self, n: int = 40) -> None:
        super().__init__()
        self.n = n
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield CountingTable()

    def on_mount(self) -> None:
        table = self.table
        table.configure(SPECS)
        for i in range(self.n):
            table.upsert(f"R{i:02d}", row(f"R{i:02d}", f"{i}.00"))
        table.focus()

    @property
    def table(self) -> CountingTable:
        return self.query_one(CountingTable)

    @on(LiveTable.RowHighlighted)
    @on(LiveTable.RowSelected)
    @on(LiveTable.HeaderSelected)
    def _record(self, message: Message) -> None:
        self.messages.append(message)

    def last(self, kind: type[Message]) -> Message | None:
        found = [m for m in self.messages if isinstance(m, kind)]
        return found[-1] if found else None


SIZE = (40, 10)  # header + 9 data rows visible


def style_at(strip: Strip, x: int) -> Style:
    """The style of the cell at column `x` of a rendered line."""
    for seg in strip:
        if x < len(seg.text):
            return seg.style or Style.null()
        x -= len(seg.text)
    raise IndexError(x)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.pause()


async def test_upsert_writes_only_the_cells_that_changed() -> None:
    app = TableApp(n=3)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        assert table.cell_updates == 9  # 3 new rows of 3 cells
        assert table.upsert("R01", row("R01", "1.00")) == 0
        assert table.upsert("R01", row("R01", "1.50")) == 1
        assert table.upsert("R01", row("R01", "1.50", style="bold")) == 1  # a style is a change
        assert table.upsert("R01", row("R01", "1.50", "x", style="bold")) == 1
        assert table.cell_updates == 12
        assert [t.plain for t in table.get_row("R01")] == ["R01", "1.50", "x"]
        assert table.upsert("NEW", row("NEW")) == 3
        assert table.row_keys() == ["R00", "R01", "R02", "NEW"]  # new rows go last
        assert table.has_row("NEW")
        assert not table.has_row("nope")


async def test_an_update_off_screen_repaints_nothing_and_on_screen_one_line() -> None:
    app = TableApp(n=40)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        assert table.lines_painted > 0
        table.lines_painted = table.rows_rendered = 0
        assert table.upsert("R30", row("R30", "99.00")) == 1  # row 30: far below the screen
        await settle(pilot)
        assert table.lines_painted == 0
        assert table.rows_rendered == 0
        assert table.upsert("R03", row("R03", "77.00")) == 1  # on screen, line 4 (after header)
        await settle(pilot)
        assert table.lines_painted == 1
        assert table.rows_rendered == 1
        assert "77.00" in table.render_line(4).text


async def test_cursor_moves_repaint_two_lines_from_the_strip_cache() -> None:
    app = TableApp(n=40)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        await pilot.press("down")  # both cursor variants of rows 0 and 1 are now cached
        await pilot.press("up")
        await settle(pilot)
        table.lines_painted = table.rows_rendered = 0
        await pilot.press("down")
        await settle(pilot)
        assert table.lines_painted == 2  # the old and the new cursor line
        assert table.rows_rendered == 0


async def test_apply_order_reorders_and_keeps_the_cursor_on_the_same_row() -> None:
    app = TableApp(n=10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        table.move_cursor(row=table.get_row_index("R03"))
        await settle(pilot)
        # Rotate by two: every row keeps its stripe parity, so the strips drawn before are
        # reused; only R09, which comes onto the screen for the first time, is rendered.
        rendered = table.rows_rendered
        rotated = [f"R{(i + 2) % 10:02d}" for i in range(10)]
        assert table.apply_order(rotated)
        await settle(pilot)
        assert table.rows_rendered - rendered == 1
        assert table.cursor_key() == "R03"
        assert table.cursor_row == 1
        order = [f"R{i:02d}" for i in reversed(range(10))]
        assert table.apply_order(order)
        assert table.row_keys() == order
        assert table.cursor_key() == "R03"
        assert table.cursor_row == 6
        assert not table.apply_order(order)  # unchanged: nothing to do
        assert table.apply_order(["R05", "R04"])  # keys not listed keep their order, last
        assert table.row_keys()[:3] == ["R05", "R04", "R09"]
        assert table.cursor_key() == "R03"


async def test_before_the_cursor_is_moved_a_reorder_highlights_the_top_row() -> None:
    app = TableApp(n=10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        assert table.cursor_key() == "R00"
        order = [f"R{i:02d}" for i in reversed(range(10))]
        assert table.apply_order(order)  # a first sort: the best row is highlighted
        await settle(pilot)
        assert table.cursor_row == 0
        assert table.cursor_key() == "R09"
        highlighted = app.last(LiveTable.RowHighlighted)
        assert isinstance(highlighted, LiveTable.RowHighlighted)
        assert highlighted.key == "R09"  # announced, so the detail line follows
        table.action_cursor_down()  # the user moves: from now on the highlight follows its row
        assert table.apply_order(sorted(order))
        assert table.cursor_key() == "R08"
        assert table.cursor_row == 8


async def test_remove_and_retain_keep_the_cursor_sensible() -> None:
    app = TableApp(n=10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        table.move_cursor(row=table.get_row_index("R05"))
        table.remove_key("R02")
        assert table.cursor_key() == "R05"  # the row above went; the highlight stays put
        table.remove_key("R05")
        assert table.cursor_key() == "R06"  # the highlighted row went: the next one
        table.remove_key("missing")  # no error
        table.retain(["R00", "R09", "R06", "ZZZ"])
        assert table.row_keys() == ["R00", "R06", "R09"]
        assert table.row_count == 3
        assert table.virtual_size.height == 4  # header + rows
        assert table.virtual_size.width == WIDTH
        table.move_cursor(row=2)
        table.retain(["R00"])
        assert table.cursor_key() == "R00"
        table.clear()
        assert table.cursor_key() is None
        assert table.row_keys() == []


async def test_header_click_posts_header_selected_with_the_column_key() -> None:
    app = TableApp(n=3)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click(CountingTable, offset=(9, 0))  # "Num": cells 7..14
        await settle(pilot)
        msg = app.last(LiveTable.HeaderSelected)
        assert isinstance(msg, LiveTable.HeaderSelected)
        assert msg.column == "num"
        await pilot.click(CountingTable, offset=(16, 0))  # "Word": cells 15..20
        await settle(pilot)
        msg = app.last(LiveTable.HeaderSelected)
        assert isinstance(msg, LiveTable.HeaderSelected)
        assert msg.column == "word"
        assert app.table.cursor_key() == "R00"  # a header click does not move the cursor


async def test_enter_and_a_second_click_select_the_highlighted_row() -> None:
    app = TableApp(n=5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        msg = app.last(LiveTable.RowSelected)
        assert isinstance(msg, LiveTable.RowSelected)
        assert msg.key == "R00"
        app.messages.clear()
        await pilot.click(CountingTable, offset=(2, 3))  # line 3 = row 2: highlight only
        await settle(pilot)
        assert app.table.cursor_key() == "R02"
        assert app.last(LiveTable.RowSelected) is None
        await pilot.click(CountingTable, offset=(2, 3))  # again: select
        await settle(pilot)
        msg = app.last(LiveTable.RowSelected)
        assert isinstance(msg, LiveTable.RowSelected)
        assert msg.key == "R02"


async def test_cursor_keys_post_row_highlighted_and_keep_the_cursor_visible() -> None:
    app = TableApp(n=40)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        app.messages.clear()
        await pilot.press("down", "j")
        await settle(pilot)
        keys = [m.key for m in app.messages if isinstance(m, LiveTable.RowHighlighted)]
        assert keys == ["R01", "R02"]
        await pilot.press("k")
        await settle(pilot)
        assert table.cursor_key() == "R01"
        visible = SIZE[1] - 1
        await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor_row == 1 + visible
        top = table.scroll_offset.y
        assert top <= table.cursor_row < top + visible
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_key() == "R39"
        assert table.scroll_offset.y == 40 - visible
        assert table.render_line(SIZE[1] - 1).text.startswith(" R39")
        await pilot.press("pageup")
        await settle(pilot)
        top = table.scroll_offset.y
        assert top <= table.cursor_row < top + visible
        await pilot.press("home")
        await settle(pilot)
        assert table.cursor_key() == "R00"
        assert table.scroll_offset.y == 0
        assert isinstance(app.last(LiveTable.RowHighlighted), LiveTable.RowHighlighted)


async def test_a_row_renders_at_fixed_widths_right_justified_and_cropped_never_wrapped() -> None:
    app = TableApp(n=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table
        table.upsert("A", row("A", "1.5", "toolongword", style="bold #ff0000"))
        table.upsert("B", row("B", "12345678", "ok"))
        await settle(pilot)
        header = table.render_line(0)
        # Each cell: one space, the text justified in its width, one space.
        assert header.text == " Key   " + "    Num " + " Word " + " " * (SIZE[0] - WIDTH)
        first = table.render_line(1)  # the cursor row
        assert first.cell_length == SIZE[0]
        assert first.text[:WIDTH] == " A     " + "    1.5 " + " tool "
        second = table.render_line(2)
        assert second.text[:WIDTH] == " B     " + " 123456 " + " ok   "
        assert table.render_line(3).text.strip() == ""  # no wrapped continuation line
        # The cursor's colour wins over the cell's on the cursor row; elsewhere the cell's shows.
        x = first.text.index("1.5")
        cursor = table.get_component_rich_style("live-table--cursor")
        assert style_at(first, x).color == cursor.color
        assert style_at(first, x).bold
        table.move_cursor(row=1)
        await settle(pilot)
        plain = style_at(table.render_line(1), x)
        assert plain.color is not None
        assert plain.color.name == "#ff0000"
        assert plain.bold
        assert style_at(table.render_line(1), 1).color != plain.color  # the key cell is plain


async def test_a_theme_switch_restyles_the_cached_lines() -> None:
    app = TableApp(n=3)
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "textual-dark"
        await settle(pilot)
        table = app.table

        def header_bg() -> object:
            return next(s.style.bgcolor for s in table.render_line(0) if s.style is not None)

        def row_bg(y: int) -> object:
            return next(s.style.bgcolor for s in table.render_line(y) if s.style is not None)

        dark_header, dark_row = header_bg(), row_bg(2)
        app.theme = "textual-light"
        await settle(pilot)
        assert header_bg() != dark_header
        assert row_bg(2) != dark_row
        assert header_bg() == table.get_component_rich_style("live-table--header").bgcolor
