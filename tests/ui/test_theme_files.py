"""Themes in the running console: shipped as package data, the user's own from the platform config
folder, bad user themes reported and never fatal, the choice remembered."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.backend import PREF_THEME
from ivcrush_tui.app.themes import (
    DEFAULT_DARK,
    DEFAULT_LIGHT,
    THEMES_ENV,
    shipped_themes,
    theme_files,
    user_themes_dir,
)
from ivcrush_tui.config import UiSettings
from tests.ui.fake_backend import FakeBackend, FakeStore
from tests.ui.recording_app import RecordingApp

SIZE = (120, 40)
REPO = Path(__file__).resolve().parents[2]

GOOD = """
name = "mine"
dark = true
primary = "#AA3377"
background = "#101010"
[variables]
gain = "#00FF00"
"""


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty platform config folder (XDG on Linux) whose themes/ the console reads."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(THEMES_ENV, raising=False)
    folder = user_themes_dir()
    assert folder is not None
    assert folder == tmp_path / "config" / "ivcrush" / "themes"
    folder.mkdir(parents=True)
    return folder


def make_app(store: FakeStore | None = None, **kw: Any) -> RecordingApp:
    app = RecordingApp(FakeBackend(store), refresh_s=3600, **kw)
    app.animation_level = "none"
    return app


async def settle(app: IvCrushApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def test_the_shipped_themes_are_the_top_level_files() -> None:
    shipped = shipped_themes()
    assert shipped is not None
    files = {f.name: f.read_text(encoding="utf-8") for f in theme_files(shipped)}
    top = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "themes").glob("*.toml")}
    assert files == top  # one source: the package data *is* themes/
    dark = [tomllib.loads(t).get("dark", True) for t in files.values()]
    assert True in dark
    assert False in dark  # at least one dark and one light theme


def test_pyproject_maps_the_themes_package_onto_the_top_level_folder() -> None:
    conf = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    assert conf["package-dir"]["ivcrush_tui.themes"] == "themes"
    assert "*.toml" in conf["package-data"]["ivcrush_tui.themes"]
    # The package list is explicit (a mapped package cannot be found by packages.find): every
    # package folder of the source tree must be in it, or a wheel would miss it.
    listed = set(conf["packages"])
    found = {
        ".".join(p.relative_to(REPO).parts)
        for p in [REPO / "ivcrush_tui", *(REPO / "ivcrush_tui").rglob("*")]
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    }
    assert found | {"ivcrush_tui.themes"} == listed


async def test_a_user_theme_is_offered_chosen_and_remembered(user_dir: Path) -> None:
    (user_dir / "mine.toml").write_text(GOOD, encoding="utf-8")
    store = FakeStore()
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert {"mine", DEFAULT_DARK, DEFAULT_LIGHT} <= set(app.available_themes)
        app.theme = "mine"
        await settle(app, pilot)
        assert app.theme_variables["gain"] == "#00FF00"
        assert app.theme_variables["loss"]  # missing semantic colours are derived
        assert store.prefs[PREF_THEME] == "mine"
    again = make_app(store, ui=UiSettings(theme=DEFAULT_LIGHT))
    async with again.run_test(size=SIZE) as pilot:
        await settle(again, pilot)
        assert again.theme == "mine"  # the remembered choice beats the config's default
        assert again.notes == []


async def test_the_config_theme_applies_until_the_user_chooses_one(user_dir: Path) -> None:
    app = make_app(ui=UiSettings(theme=DEFAULT_LIGHT))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == DEFAULT_LIGHT


async def test_bad_user_themes_are_reported_and_never_fatal(user_dir: Path) -> None:
    (user_dir / "broken.toml").write_text("name = [", encoding="utf-8")
    (user_dir / "typo.toml").write_text('name = "t"\nprimray = "#123456"\n', encoding="utf-8")
    (user_dir / "badcss.toml").write_text(
        'name = "badcss"\nprimary = "#123456"\n[variables]\nfooter-key-foreground = "nonsense"\n',
        encoding="utf-8",
    )
    (user_dir / "mine.toml").write_text(GOOD, encoding="utf-8")
    store = FakeStore(prefs={PREF_THEME: "badcss"})  # even when it was the remembered choice
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.is_running
        notes = "\n".join(app.notes)
        assert "broken.toml: invalid TOML" in notes
        assert "typo.toml: unknown keys primray" in notes
        assert "theme 'badcss': a [variables] value is not valid CSS" in notes
        assert "footer-key-foreground" in notes
        assert "badcss" not in app.available_themes
        assert app.theme == DEFAULT_DARK
        assert "mine" in app.available_themes  # the good one still loads


async def test_a_theme_that_breaks_the_stylesheet_later_falls_back(user_dir: Path) -> None:
    from textual.theme import Theme

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.register_theme(
            Theme(name="late", primary="#123456", variables={"footer-key-foreground": "x y z"})
        )
        app.theme = "late"
        await settle(app, pilot)
        assert app.is_running
        assert app.theme == DEFAULT_DARK
        assert "late" not in app.available_themes
        assert any("theme 'late' cannot style the console" in n for n in app.notes)
