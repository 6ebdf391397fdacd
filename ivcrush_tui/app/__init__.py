"""The Textual console. Public API: `from ivcrush_tui.app import IvCrushApp`.

`IvCrushApp` is imported on first use (PEP 562), so importing a light submodule such as
`ivcrush_tui.app.bindings` does not load the whole console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivcrush_tui.app.app import IvCrushApp

__all__ = ["IvCrushApp"]


def __getattr__(name: str) -> Any:
    if name == "IvCrushApp":
        from ivcrush_tui.app.app import IvCrushApp

        return IvCrushApp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
