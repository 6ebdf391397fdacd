"""Theme files: the shipped TOML themes load with every semantic variable; bad files reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivcrush_tui.app.themes import (
    DEFAULT_DARK,
    DEFAULT_LIGHT,
    FALLBACK_THEMES,
    SEMANTIC_VARIABLES,
    ThemeFileError,
    load_theme_file,
    load_themes,
    semantic_defaults,
    theme_dirs,
)

SHIPPED = Path(__file__).resolve().parents[2] / "themes"


def test_the_shipped_themes_directory_is_found_from_the_package() -> None:
    assert SHIPPED in theme_dirs()


@pytest.mark.parametrize("name", [DEFAULT_DARK, DEFAULT_LIGHT])
def test_shipped_themes_define_every_semantic_variable(name: str) -> None:
    theme = load_theme_file(SHIPPED / f"{name}.toml")
    assert theme.name == name
    assert set(SEMANTIC_VARIABLES) <= set(theme.variables)
    assert theme.dark is (name == DEFAULT_DARK)


def test_fallbacks_match_the_shipped_files() -> None:
    # The built-in copies exist only for installs that lost their data files; keep them in sync.
    for fallback in FALLBACK_THEMES:
        shipped = load_theme_file(SHIPPED / f"{fallback.name}.toml")
        for key in SEMANTIC_VARIABLES:
            assert fallback.variables[key] == shipped.variables[key], key
        assert fallback.primary == shipped.primary


def test_bad_theme_files_are_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("name = [", encoding="utf-8")
    (tmp_path / "badcolour.toml").write_text(
        'name = "x"\nprimary = "#123456"\n[variables]\ngain = "not-a-colour"\n', encoding="utf-8"
    )
    (tmp_path / "typo.toml").write_text('name = "y"\nprimray = "#123456"\n', encoding="utf-8")
    (tmp_path / "good.toml").write_text('name = "mine"\nprimary = "#123456"\n', encoding="utf-8")
    loaded = load_themes([tmp_path])
    names = {t.name for t in loaded.themes}
    assert "mine" in names
    assert {DEFAULT_DARK, DEFAULT_LIGHT} <= names  # fallbacks fill in
    assert len(loaded.errors) == 3
    joined = "\n".join(loaded.errors)
    assert "invalid TOML" in joined
    assert "variables.gain" in joined
    assert "unknown keys primray" in joined


def test_a_user_theme_overrides_a_shipped_one_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        f'name = "{DEFAULT_DARK}"\nprimary = "#010203"\n', encoding="utf-8"
    )
    loaded = load_themes([tmp_path, SHIPPED])
    dark = next(t for t in loaded.themes if t.name == DEFAULT_DARK)
    assert dark.primary == "#010203"


def test_missing_primary_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\n', encoding="utf-8")
    with pytest.raises(ThemeFileError, match="primary colour missing"):
        load_theme_file(path)


def test_semantic_defaults_derive_from_base_colours() -> None:
    theme = FALLBACK_THEMES[0]
    d = semantic_defaults(theme)
    assert set(d) == set(SEMANTIC_VARIABLES)
    assert d["gain"] == theme.success
    assert d["loss"] == theme.error


def test_the_theme_names_the_configuration_accepts_are_textuals_own() -> None:
    """config checks ui.theme against a list written out (no Textual import at start): it must
    be the pinned Textual's builtins that the app keeps registered."""
    from textual.theme import BUILTIN_THEMES

    from ivcrush_tui.theme_names import TEXTUAL_THEMES, UNOFFERED_THEMES

    assert set(BUILTIN_THEMES) - set(UNOFFERED_THEMES) == TEXTUAL_THEMES
