"""Entry point `ivcrush` (placeholder until the engine lands)."""

from __future__ import annotations

import sys

from ivcrush_tui import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--version" in args:
        print(f"ivcrush {__version__}")
        return 0
    print("ivcrush: the console is not built yet", file=sys.stderr)
    return 2
