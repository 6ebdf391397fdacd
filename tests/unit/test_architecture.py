"""The layering rules of ARCHITECTURE.md, checked on the source (imports point downward only)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "ivcrush_tui"

IO_MODULES = {
    "asyncio", "httpx", "aiosqlite", "sqlite3", "socket", "textual", "rich", "urllib",
    "http", "ssl", "subprocess", "tenacity", "platformdirs", "logging", "os", "pathlib",
    "shutil", "io", "tempfile",
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _files(sub: str) -> list[Path]:
    return sorted((PKG / sub).rglob("*.py"))


@pytest.mark.parametrize("path", _files("analytics"), ids=lambda p: p.name)
def test_analytics_has_no_io_asyncio_or_ui(path: Path) -> None:
    bad = {m for m in _imports(path) if _top(m) in IO_MODULES}
    internal = {m for m in _imports(path) if _top(m) == "ivcrush_tui"}
    # symbols: the pure ticker/OCC helpers (checked below), so OCC roots have one definition.
    allowed_internal = (
        "ivcrush_tui.analytics", "ivcrush_tui.domain", "ivcrush_tui.calendar",
        "ivcrush_tui.symbols",
    )  # fmt: skip
    bad |= {m for m in internal if not m.startswith(allowed_internal)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_symbols_is_pure() -> None:
    path = PKG / "symbols.py"
    internal = {m for m in _imports(path) if _top(m) == "ivcrush_tui"}
    assert not {m for m in _imports(path) if _top(m) in IO_MODULES}
    assert internal <= {"ivcrush_tui.domain"}


# The modules below the console: the layers, the package's own root modules (calendar, symbols,
# priority, holiday_cache, ...) and config, except the entry points (the CLI opens the console).
_BELOW_APP = [
    *(p for sub in ("engine", "providers", "resilience", "store", "analytics", "config", "serve",
                    "alerts")
      for p in _files(sub)),
    *(p for p in sorted(PKG.glob("*.py")) if p.name not in ("cli.py", "__main__.py")),
]  # fmt: skip


@pytest.mark.parametrize("path", _BELOW_APP, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_engine_and_below_never_import_textual(path: Path) -> None:
    imported = _imports(path)
    assert not {m for m in imported if _top(m) == "textual"}
    assert not {m for m in imported if m.startswith("ivcrush_tui.app")}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import httpx\nfrom textual.app import App\n", encoding="utf-8")
    assert {"httpx", "textual.app"} <= _imports(sample)


def test_nothing_imports_the_entry_point() -> None:
    """The exit codes live in exit_codes.py: commands and the console never import cli.py, which
    imports them (the cycle cli -> commands -> cli is gone)."""
    importers = [
        p.relative_to(PKG).as_posix()
        for p in sorted(PKG.rglob("*.py"))
        if "ivcrush_tui.cli" in _imports(p) and p.name != "__main__.py"
    ]
    assert importers == []
