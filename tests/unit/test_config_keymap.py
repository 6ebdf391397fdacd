"""`[ui.keymap]`: binding ids and key names are checked at load (exit 2 from the CLI), and the
Textual-free id list stays identical to the console's bindings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ivcrush_tui.app.bindings import ALL_BINDINGS, HELP_BINDINGS
from ivcrush_tui.config import ConfigError, load_settings
from ivcrush_tui.keymap import BINDING_IDS, key_problem


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_binding_ids_match_the_console_bindings() -> None:
    ids = [b.id for _, bindings in (*ALL_BINDINGS, ("Help", HELP_BINDINGS)) for b in bindings]
    named = [i for i in ids if i is not None]
    assert len(named) == len(ids)  # every console binding has an id
    # Each id once in the config's list; the dialogs share MODAL/CONFIRM bindings, hence the set.
    assert sorted(set(named)) == sorted(BINDING_IDS)
    assert len(set(BINDING_IDS)) == len(BINDING_IDS)


@pytest.mark.parametrize(
    "key",
    ["a", "S", "?", "/", "f5", "f24", "ctrl+q", "ctrl+shift+left", "question_mark", "slash",
     "full_stop", "enter", "escape", "pageup", "delete", "space", "plus", "+"],
)  # fmt: skip
def test_keys_textual_understands_are_accepted(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("ctlr+q", "modifiers are"),
        ("ctrl+", "modifiers are"),
        ("F5", "unknown key 'F5'"),  # Textual's key names are lower case: this never fires
        ("Enter", "unknown key"),
        ("foo", "unknown key 'foo'"),
        ("a b", "no spaces"),
        ("", "is not a key"),
    ],
)
def test_keys_that_would_never_fire_are_refused(key: str, why: str) -> None:
    problem = key_problem(key)
    assert problem is not None
    assert why in problem


def test_every_default_key_passes_the_check() -> None:
    for _, bindings in (*ALL_BINDINGS, ("Help", HELP_BINDINGS)):
        for b in bindings:
            for key in b.key.split(","):
                assert key_problem(key.strip()) is None, (b.id, key)


def test_an_unknown_id_lists_the_valid_ones_and_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, '[ui.keymap]\n"app.rescna" = "f5"\n"app.quit" = "ctrl+q"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    (problem,) = info.value.problems
    assert problem.key_path == "ui.keymap.app.rescna"
    assert "did you mean 'app.rescan'?" in problem.why
    for binding_id in BINDING_IDS:
        assert binding_id in problem.why


def test_valid_keymaps_are_kept_in_file_order_with_keys_trimmed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        [ui.keymap]
        watchlist.add = "n, a"
        "app.help" = "f1"
        """,
    )
    assert load_settings(path, {}).ui.keymap == (("watchlist.add", "n,a"), ("app.help", "f1"))


def test_the_cli_exits_2_on_an_unknown_binding_id(tmp_path: Path) -> None:
    path = _write(tmp_path, '[ui.keymap]\n"watchlist.sort_reversed" = "x"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "ivcrush_tui", "--config", str(path), "watchlist", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "ui.keymap.watchlist.sort_reversed: unknown binding id" in proc.stderr
    assert "did you mean 'watchlist.sort_reverse'?" in proc.stderr
    assert "valid ids: app.mode.watchlist" in proc.stderr
    assert proc.stdout == ""
