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


ROOT = PKG.parent
MAX_MODULE_LINES = 500


def _imported(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules an import statement names: `from pkg import mod` counts as `pkg` and, since
    `mod` may be a module, `pkg.mod` too (relative imports are left out)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if not node.module or node.level != 0:
        return set()
    return {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found |= _imported(node)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(path: Path) -> set[str]:
    """The modules imported outside `if TYPE_CHECKING:` blocks (at the top or in a function)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.orelse:  # the `else:` of TYPE_CHECKING does run
                visit(stmt)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_imported(node))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
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
    assert all(m == "ivcrush_tui.domain" or m.startswith("ivcrush_tui.domain.") for m in internal)


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
    sample.write_text(
        "import httpx\nfrom textual.app import App\nfrom ivcrush_tui import cli\n", encoding="utf-8"
    )
    assert {"httpx", "textual.app", "ivcrush_tui.cli"} <= _imports(sample)


def test_nothing_imports_the_entry_point() -> None:
    """The exit codes live in exit_codes.py: commands and the console never import cli.py, which
    imports them (the cycle cli -> commands -> cli is gone)."""
    importers = [
        p.relative_to(PKG).as_posix()
        for p in sorted(PKG.rglob("*.py"))
        if "ivcrush_tui.cli" in _imports(p) and p.name != "__main__.py"
    ]
    assert importers == []


def test_commands_never_import_the_cli() -> None:
    """commands/ take the exit codes from exit_codes.py, not from cli.py (no cli <-> commands
    cycle); the check above covers every module, this one names the package the cycle was in."""
    commands = sorted((PKG / "commands").rglob("*.py"))
    assert commands
    offenders = [
        p.name
        for p in commands
        if any(m == "ivcrush_tui.cli" or m.startswith("ivcrush_tui.cli.") for m in _imports(p))
    ]
    assert offenders == []


def test_the_exit_codes_have_one_home() -> None:
    """The process exit codes are defined in exit_codes.py only (a second EXIT_USAGE = 2 would
    drift); the CLI and the commands import them from there."""
    names = {"EXIT_OK", "EXIT_FAILURES", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_TERMINATED"}
    defined_elsewhere = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "exit_codes.py" and path.parent == PKG:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (
                node.targets if isinstance(node, ast.Assign)
                else [node.target] if isinstance(node, ast.AnnAssign) else []
            )  # fmt: skip
            defined_elsewhere += [
                f"{path.relative_to(PKG).as_posix()}: {t.id}"
                for t in targets
                if isinstance(t, ast.Name) and t.id in names
            ]
    assert defined_elsewhere == []
    assert "ivcrush_tui.exit_codes" in _imports(PKG / "cli.py")


_APP_MODULES = ("ivcrush_tui.app.app", "ivcrush_tui.app.IvCrushApp")
_SCREENS_AND_WIDGETS = sorted([*_files("app/screens"), *_files("app/widgets")])


@pytest.mark.parametrize("path", _SCREENS_AND_WIDGETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_screens_and_widgets_import_the_app_only_for_typing(path: Path) -> None:
    """A screen reaches the app through `self.app` (typed with a TYPE_CHECKING import): a runtime
    import of app.py would make screens and the app import each other."""
    assert not _runtime_imports(path) & set(_APP_MODULES)


def test_the_screens_check_sees_a_runtime_import(tmp_path: Path) -> None:
    sample = tmp_path / "screen.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ivcrush_tui.app.app import IvCrushApp\n"
        "def f() -> None:\n    from ivcrush_tui.app import IvCrushApp\n",
        encoding="utf-8",
    )
    assert _runtime_imports(sample) & set(_APP_MODULES) == {"ivcrush_tui.app.IvCrushApp"}
    assert "ivcrush_tui.app.app" in _imports(sample)


def _sources() -> list[Path]:
    return sorted([*PKG.rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_package_or_benchmark_module_is_over_500_lines() -> None:
    """Small modules with one job each (the project's standard): split by responsibility."""
    sources = _sources()
    assert any(p.parent.name == "benchmarks" for p in sources)
    too_long = {
        p.relative_to(ROOT).as_posix(): n for p in sources if (n := _lines(p)) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_the_size_check_counts_lines(tmp_path: Path) -> None:
    sample = tmp_path / "long.py"
    sample.write_text("x = 1\n" * (MAX_MODULE_LINES + 1), encoding="utf-8")
    assert _lines(sample) == MAX_MODULE_LINES + 1
