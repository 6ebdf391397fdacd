"""Byte-compile the package before timing fresh processes.

An installed package has its .pyc files (pip compiles on install); a checkout run with
PYTHONDONTWRITEBYTECODE=1 (as on some CI machines) has none, and every child process would then
compile ~110 modules from source (~0.45 s), which no user pays. compileall writes them regardless
of that variable.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ivcrush_tui"


def compile_package() -> None:
    """Write missing or stale .pyc files of ivcrush_tui (quietly)."""
    compileall.compile_dir(PACKAGE, quiet=1)
