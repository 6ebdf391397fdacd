"""`ivcrush` with no sub-command: the Textual console."""

from __future__ import annotations

from ivcrush_tui.config import Settings
from ivcrush_tui.engine.clock import Clock


def run_console(settings: Settings, clock: Clock) -> int:
    """Run the console until the user quits; returns the process exit code."""
    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.app.engine_backend import EngineBackend

    # ui: refresh intervals, keymap, and the theme used until the user picks one in the console.
    # alerts: whether alerts ring the bell (the rules run in the backend).
    app = IvCrushApp(EngineBackend(settings, clock), ui=settings.ui, alerts=settings.alerts)
    app.run()
    return app.return_code or 0
