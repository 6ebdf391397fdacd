"""`[ui.keymap]` in the console: remapped keys act, the old keys stop acting, and the footer, the
help screen and the palette show the keys in effect."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.bindings import keymap_conflicts
from ivcrush_tui.app.screens.help import HelpScreen
from ivcrush_tui.app.screens.watchlist import WatchlistScreen
from ivcrush_tui.config import UiSettings
from tests.ui.fake_backend import FakeBackend
from tests.ui.recording_app import RecordingApp

SIZE = (120, 40)


def make_app(keymap: dict[str, str], **kw: Any) -> RecordingApp:
    app = RecordingApp(FakeBackend(), refresh_s=3600, keymap=keymap, **kw)
    app.animation_level = "none"
    return app


async def settle(app: IvCrushApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def showing(app: IvCrushApp, kind: type[Screen[Any]]) -> bool:
    return isinstance(app.screen, kind)


def footer_keys(app: IvCrushApp) -> dict[str, str]:
    """Footer description -> key shown."""
    return {k.description: k.key_display for k in app.screen.query(FooterKey)}


def help_text(app: IvCrushApp) -> str:
    content = app.screen.query_one("#help-table", Static).content
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


def help_row(text: str, description: str) -> str:
    """The first help line describing `description` (key column first)."""
    return next(line for line in text.splitlines() if f" {description} — " in line)


async def test_a_remapped_key_acts_and_the_old_key_no_longer_does() -> None:
    app = make_app({"app.mode.calendar": "c", "app.rescan": "f5"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        scans = app.scan_count
        await pilot.press("2")
        await settle(app, pilot)
        assert app.current_mode == "watchlist"  # 2 was replaced, not kept
        await pilot.press("c")
        await settle(app, pilot)
        assert app.current_mode == "calendar"
        await pilot.press("1")
        await settle(app, pilot)
        assert app.current_mode == "watchlist"  # untouched bindings keep their keys
        await pilot.press("r")
        await settle(app, pilot)
        assert app.scan_count == scans
        await pilot.press("f5")
        await settle(app, pilot)
        assert app.scan_count == scans + 1


async def test_several_keys_and_the_palette_can_be_remapped() -> None:
    app = make_app({"app.quit": "q,ctrl+q,f10", "app.command_palette": "ctrl+k"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f10")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


async def test_footer_and_help_show_the_remapped_keys() -> None:
    app = make_app({"app.help": "f1", "watchlist.add": "n", "app.quit": "ctrl+q"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        keys = footer_keys(app)
        assert keys["Help"] == "f1"
        assert keys["Add"] == "n"
        assert keys["Quit"] == "^q"
        await pilot.press("question_mark")
        await pilot.pause()
        assert not showing(app, HelpScreen)  # ? no longer opens the help
        await pilot.press("f1")
        await pilot.pause()
        assert showing(app, HelpScreen)
        text = help_text(app)
        assert help_row(text, "Help").split()[0] == "f1"
        assert help_row(text, "Add").split()[0] == "n"
        assert help_row(text, "Quit").split()[0] == "^q"
        assert help_row(text, "Sort").split()[0] == "s"  # not remapped: the default
        await pilot.press("escape")
        await pilot.pause()
        assert showing(app, WatchlistScreen)
        await pilot.press("n")  # the remapped add opens the add dialog
        await pilot.pause()
        assert type(app.screen).__name__ == "AddTickerModal"


async def test_palette_help_texts_follow_the_keymap() -> None:
    app = make_app({"app.mode.health": "h"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.key_for("app.mode.health") == "h"
        assert app.key_for("watchlist.remove") == "d / del"
        from ivcrush_tui.app.commands import IvCrushCommands

        provider = IvCrushCommands(app.screen)
        helps = {name: help_text for name, _, help_text in provider.commands()}
        assert helps["screen: health"].endswith("(h)")
        assert helps["screen: calendar"].endswith("(2)")


async def test_a_key_taken_from_another_binding_is_reported() -> None:
    app = make_app({"watchlist.add": "r"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert any(
            "r is bound to Add (watchlist.add) and Rescan (app.rescan) on the watchlist" in n
            for n in app.notes
        ), app.notes
        assert app.is_running


def test_defaults_that_share_a_key_on_purpose_are_not_conflicts() -> None:
    assert keymap_conflicts({}) == []  # e.g. r: rescan, and refresh in the drill-down
    assert keymap_conflicts({"app.rescan": "f5"}) == []
    assert keymap_conflicts({"ticker.refresh": "q"}) == [
        "q is bound to Refresh (ticker.refresh) and Quit (app.quit) on the drill-down"
    ]


def test_the_ui_settings_keymap_is_applied_and_bad_ones_are_refused() -> None:
    ui = UiSettings(keymap=(("app.help", "f1"),))
    app = IvCrushApp(FakeBackend(), ui=ui)
    assert app.user_keymap == {"app.help": "f1"}
    with pytest.raises(ValueError, match=r"unknown binding id 'app\.hlep'"):
        IvCrushApp(FakeBackend(), keymap={"app.hlep": "f1"})
    with pytest.raises(ValueError, match="modifiers are"):
        IvCrushApp(FakeBackend(), keymap={"app.help": "ctlr+h"})
