"""IvCrushApp: modes (watchlist, calendar, health, results), the engine bridge and app-wide state.

The app talks only to a `Backend`. One scan worker on the App (group "engine", exclusive) iterates
`backend.scan(...)` and posts an `AnalysisReady` per result; when it completes the next scan is
armed with a timer (refresh_s, or entry_window_refresh_s inside the entry window), so scans never
overlap. App-level handlers keep the latest result per ticker and publish it on `analysis_signal`;
screens subscribe and coalesce before touching their widgets.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import BindingType
from textual.command import Provider
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.timer import Timer

from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.app import watchlist_edits
from ivcrush_tui.app.backend import PREF_THEME, Backend
from ivcrush_tui.app.bindings import APP_BINDINGS, binding_by_id, key_label, keymap_conflicts
from ivcrush_tui.app.commands import IvCrushCommands
from ivcrush_tui.app.live import consume_live
from ivcrush_tui.app.messages import (
    AlertFired,
    AnalysisReady,
    ErrorRecord,
    ScanFinished,
    ScanStarted,
)
from ivcrush_tui.app.screens.watchlist import WatchlistScreen
from ivcrush_tui.app.theme_guard import ThemeGuard, check_keymap
from ivcrush_tui.app.themes import (
    DEFAULT_DARK,
    load_themes,
    shipped_themes,
    theme_dirs,
)
from ivcrush_tui.config import AlertSettings, UiSettings
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine.last_good import hold_last_good
from ivcrush_tui.exit_codes import EXIT_TERMINATED
from ivcrush_tui.symbols import validate_symbol

_MODAL_BLOCKED = frozenset({"switch_mode", "help", "rescan", "add_ticker"})


# Screens other than the first one are imported when first shown: the drill-down alone pulls in
# the plotting stack, and none of them is needed for the first frame.
def _calendar_screen() -> Screen[Any]:
    from ivcrush_tui.app.screens.calendar import CalendarScreen

    return CalendarScreen()


def _health_screen() -> Screen[Any]:
    from ivcrush_tui.app.screens.health import HealthScreen

    return HealthScreen()


def _results_screen() -> Screen[Any]:
    from ivcrush_tui.app.screens.results import ResultsScreen

    return ResultsScreen()


class IvCrushApp(ThemeGuard):
    """The console. `IvCrushApp()` builds the default backend from the user's config."""

    TITLE = "ivcrush"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "watchlist": WatchlistScreen,
        "calendar": _calendar_screen,
        "health": _health_screen,
        "results": _results_screen,
    }
    DEFAULT_MODE = "watchlist"
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = App.COMMANDS | {
        IvCrushCommands
    }

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        ui: UiSettings | None = None,
        refresh_s: float | None = None,
        entry_window_refresh_s: float | None = None,
        theme: str | None = None,
        keymap: Mapping[str, str] | None = None,
        alerts: AlertSettings | None = None,
    ) -> None:
        """`backend` None: the default backend from the user's config (whose `[ui]` and
        `[alerts]` settings then apply too). `alerts` says whether alerts ring the bell. `ui`
        gives the refresh intervals, the default theme and the keymap; the keyword arguments
        override it. `theme` forces a theme (else the one the user last chose,
        else `ui.theme`). Raises ValueError for a keymap with unknown ids or keys."""
        super().__init__()
        if backend is None:
            # Cheap: reads the config only. The engine, the store and the market are imported
            # and opened by `backend.start()`, in the startup worker after the first frame.
            from ivcrush_tui.app.engine_backend import make_default_backend

            default = make_default_backend()
            backend = default
            ui = ui or default.settings.ui
            alerts = alerts or default.settings.alerts
        ui = ui or UiSettings()
        self.alert_bell = (alerts or AlertSettings()).bell
        self.backend: Backend = backend
        self.refresh_s = max(1.0, float(ui.refresh_s if refresh_s is None else refresh_s))
        self.entry_window_refresh_s = max(
            1.0,
            float(
                ui.entry_window_refresh_s
                if entry_window_refresh_s is None
                else entry_window_refresh_s
            ),
        )
        self._theme_arg = theme
        self._theme_default = ui.theme
        km = dict(ui.keymap_dict() if keymap is None else keymap)
        problems = check_keymap(km)
        if problems:
            raise ValueError("invalid keymap: " + "; ".join(problems))
        # The user's overrides as given (the help screen and the palette show them); Textual
        # replaces the keys of each binding whose id is listed.
        self.user_keymap: dict[str, str] = km
        self.set_keymap(km)
        self.analysis_signal: Signal[Analysis] = Signal(self, "analysis")
        self.watchlist_signal: Signal[tuple[str, ...]] = Signal(self, "watchlist")
        self.scan_signal: Signal[bool] = Signal(self, "scan")  # True: started, False: finished
        self.results: dict[str, Analysis] = {}
        self.watchlist_symbols: tuple[str, ...] = ()
        self.watchlist_loaded = False
        self.recent_errors: deque[ErrorRecord] = deque(maxlen=100)
        self.alerts: list[Alert] = []  # the alerts fired this session (each shown as a toast)
        self.scan_count = 0
        self.live_batches = 0  # batches of streamed re-prices applied (app/live.py)
        self._live_task: asyncio.Task[None] | None = None
        self._scan_running = False
        self._scan_done = 0
        self._scan_total = 0
        self._scan_symbols: frozenset[str] = frozenset()
        self._last_failed = 0
        self._rescan_timer: Timer | None = None
        # Set once backend.start() has returned (or failed): screens wait for it before their
        # first backend call, since a real backend cannot answer before it is started.
        self._backend_started = asyncio.Event()
        loaded = load_themes(theme_dirs())
        self.theme_errors = loaded.errors
        # Checked against the stylesheet after the first frame (a bad variable value would
        # otherwise only fail when the theme is chosen).
        self._user_themes = loaded.user_themes(shipped_themes())
        for t in loaded.themes:
            self.register_theme(t)
        # Textual's ANSI themes ignore our semantic colours; they are not offered.
        for name in ("textual-ansi", "ansi-dark", "ansi-light"):
            self.unregister_theme(name)
        self.theme = DEFAULT_DARK

    def _persist_theme(self, theme: Theme) -> None:
        self.run_worker(self._set_pref(PREF_THEME, theme.name), group="prefs", exit_on_error=False)

    async def _set_pref(self, key: str, value: str) -> None:
        try:
            await self.backend.set_pref(key, value)
        except Exception as exc:
            self.notify(f"Could not save {key}: {exc}", severity="warning")

    def save_pref(self, key: str, value: str) -> None:
        """Persist a UI preference in the background (errors become a warning toast)."""
        self.run_worker(self._set_pref(key, value), group="prefs", exit_on_error=False)

    # -- lifecycle -------------------------------------------------------------------------------

    def key_for(self, binding_id: str) -> str:
        """The key(s) a binding answers to after the keymap, as shown to users ("a", "^q")."""

        def display(key: str) -> str:
            return self.get_key_display(binding_by_id(binding_id).with_key(key, key_display=None))

        return key_label(binding_by_id(binding_id), self.user_keymap, display)

    def on_mount(self) -> None:
        # A service manager's stop (SIGTERM) quits like `q`: the backend stops and flushes in
        # on_unmount and the terminal is restored; the exit code says why (143).
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGTERM, lambda: self.exit(return_code=EXIT_TERMINATED)
            )
        for err in self.theme_errors:
            self.notify(err, title="Theme file skipped", severity="warning", timeout=10)
        for clash in keymap_conflicts(self.user_keymap):
            self.notify(clash, title="Keymap clash", severity="warning", timeout=10)
        # Before the backend starts: alerts fired by the first scan reach the console.
        self.backend.subscribe_alerts(self._hand_over_alert)
        # After the first frame: opening the backend imports and starts the engine, which must
        # not hold up the first paint.
        self.call_after_refresh(self._begin_startup)

    def _begin_startup(self) -> None:
        self.run_worker(self._startup(), group="startup", exit_on_error=False)

    @property
    def backend_ready(self) -> bool:
        return self._backend_started.is_set()

    async def wait_ready(self) -> None:
        """Return once the backend has been started (or has failed to start)."""
        await self._backend_started.wait()

    async def _startup(self) -> None:
        try:
            await self.backend.start()
        except Exception as exc:
            self.record_error("backend", "startup", f"backend failed to start: {exc}", None)
            self.notify(f"Backend failed to start: {exc}", severity="error", timeout=10)
        finally:
            self._backend_started.set()
        await self._check_user_themes()
        name = self._theme_arg
        if name is None:
            try:
                name = await self.backend.get_pref(PREF_THEME)
            except Exception:
                name = None
            if name not in self.available_themes:  # never chosen, or its file has gone
                name = self._theme_default
        if name and name in self.available_themes:
            self.theme = name
        elif name:
            self.notify(f"Unknown theme {name!r}; using {DEFAULT_DARK}", severity="warning")
        # Subscribe after the initial choice so only the user's changes are saved.
        self.theme_changed_signal.subscribe(self, self._persist_theme)
        try:
            symbols = await self.backend.watchlist()
        except Exception as exc:
            symbols = []
            self.record_error("watchlist", "storage", f"could not load the watchlist: {exc}", None)
            self.notify(f"Could not load the watchlist: {exc}", severity="error")
        self.set_watchlist(symbols)
        self.start_scan()
        # A task, not a worker: it lasts as long as the app (workers are waited for).
        self._live_task = asyncio.create_task(consume_live(self), name="live")

    async def on_unmount(self) -> None:
        if self._live_task is not None:
            self._live_task.cancel()
        with contextlib.suppress(Exception):  # shutting down: nothing useful to show any more
            await asyncio.wait_for(self.backend.stop(), timeout=5)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # App keys must not act underneath an open dialog.
        return not (action in _MODAL_BLOCKED and isinstance(self.screen, ModalScreen))

    # -- scanning --------------------------------------------------------------------------------

    @property
    def scan_running(self) -> bool:
        return self._scan_running

    @property
    def scan_progress(self) -> tuple[int, int] | None:
        return (self._scan_done, self._scan_total) if self._scan_running else None

    def start_scan(self, symbols: tuple[str, ...] | None = None) -> bool:
        """Start a scan of `symbols` (default: the watchlist) unless one is running. Returns
        True when started."""
        if self._scan_running:
            return False
        if self._rescan_timer is not None:
            self._rescan_timer.stop()
            self._rescan_timer = None
        self._scan_running = True
        self._scan_worker(self.watchlist_symbols if symbols is None else symbols)
        return True

    @work(group="engine", exclusive=True, exit_on_error=False, name="scan")
    async def _scan_worker(self, symbols: tuple[str, ...]) -> None:
        self.post_message(ScanStarted(symbols))
        count = failed = 0
        error: str | None = None
        try:
            if symbols:
                async for analysis in self.backend.scan(symbols):
                    count += 1
                    failed += analysis.status is Status.ERROR
                    self.post_message(AnalysisReady(analysis))
                    # Results that completed together arrive as one burst: let key presses and
                    # frames in between them instead of behind the whole burst.
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the scan broke as a whole: report it, keep the app alive
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self.post_message(ScanFinished(count, failed, error))

    def _next_delay(self) -> float:
        """Seconds to the next scan: faster inside the entry window, and never sleeping past its
        start."""
        try:
            now = self.backend.now()
            mins = self.backend.calendar.minutes_to_entry_window(now)
        except Exception:
            return self.refresh_s
        if mins <= 0:
            return self.entry_window_refresh_s
        return max(1.0, min(self.refresh_s, mins * 60.0))

    def _arm_next_scan(self) -> None:
        if self._rescan_timer is not None:
            self._rescan_timer.stop()
        self._rescan_timer = self.set_timer(self._next_delay(), self._timer_scan, name="rescan")

    def _timer_scan(self) -> None:
        self._rescan_timer = None
        # Names the market stream keeps current cost no REST refresh (issue 14).
        streamed = self.backend.status().streamed
        todo = tuple(s for s in self.watchlist_symbols if s not in streamed)
        if todo or not self.watchlist_symbols:
            self.start_scan(todo)
        else:
            self._arm_next_scan()

    @on(ScanStarted)
    def _on_scan_started(self, message: ScanStarted) -> None:
        self._scan_done = 0
        self._scan_total = len(message.symbols)
        self._scan_symbols = frozenset(message.symbols)
        self.scan_signal.publish(True)

    @on(AnalysisReady)
    def _on_analysis_ready(self, message: AnalysisReady) -> None:
        received = message.analysis
        if self._scan_running and received.symbol in self._scan_symbols:
            self._scan_done += 1
        prev = self.results.get(received.symbol)
        if received.status is Status.ERROR and received.error is not None:
            err = received.error
            self.record_error(received.symbol, err.code, err.message, err.correlation_id)
        # A failed refresh keeps the last good values, marked stale with the reason.
        self.apply_result(self.hold_last_good(prev, received))

    def apply_result(self, a: Analysis) -> None:
        """Keep `a` as its ticker's latest result and publish it (scan results and streamed
        re-prices alike)."""
        self.results[a.symbol] = a
        self.analysis_signal.publish(a)

    def hold_last_good(self, previous: Analysis | None, received: Analysis) -> Analysis:
        """`engine.last_good.hold_last_good` at the backend's "now" (the one entry point for
        every result the console shows: scans, one-off analyses, the drill-down's fetch)."""
        try:
            now = self.backend.now()
        except Exception:
            now = received.as_of
        return hold_last_good(previous, received, now)

    @on(ScanFinished)
    def _on_scan_finished(self, message: ScanFinished) -> None:
        self._scan_running = False
        self.scan_count += 1
        if message.error is not None:
            self.record_error("scan", "scan_failed", message.error, None)
            self.notify(f"Scan failed: {message.error}", severity="error")
        elif message.failed and not self._last_failed:
            # Once per transition into failures, not on every scan (no toast storms).
            self.notify(
                f"{message.failed} of {message.count} tickers failed;"
                f" see the rows and Health ({self.key_for('app.mode.health')})",
                title="Provider errors",
                severity="warning",
            )
        self._last_failed = message.failed
        self.scan_signal.publish(False)
        self._arm_next_scan()

    def _hand_over_alert(self, alert: Alert) -> None:  # the backend's thread, maybe not ours
        self.post_message(AlertFired(alert))

    @on(AlertFired)
    def _on_alert(self, message: AlertFired) -> None:
        alert = message.alert
        self.alerts.append(alert)
        severity: SeverityLevel = "warning" if alert.kind == "breaker" else "information"
        self.notify(alert.message, title=alert.title, severity=severity, timeout=10)
        if self.alert_bell:
            self.bell()

    def record_error(self, symbol: str, code: str, message: str, corr: str | None) -> None:
        try:
            at = self.backend.now()
        except Exception:
            return
        self.recent_errors.appendleft(ErrorRecord(at, symbol, code, message, corr))

    # -- watchlist edits ---------------------------------------------------------------------------

    def set_watchlist(self, symbols: Iterable[str]) -> None:
        self.watchlist_symbols = tuple(dict.fromkeys(symbols))
        self.watchlist_loaded = True
        self.watchlist_signal.publish(self.watchlist_symbols)

    def add_symbols(self, symbols: Sequence[str], *, checked: bool = True) -> None:
        """Add symbols (already validated when `checked`) and analyse them at once."""
        self.run_worker(
            watchlist_edits.add_symbols(self, tuple(symbols), checked),
            group="edits",
            exit_on_error=False,
        )

    def remove_symbols(self, symbols: Sequence[str]) -> None:
        self.run_worker(
            watchlist_edits.remove_symbols(self, tuple(symbols)), group="edits", exit_on_error=False
        )

    # -- actions -----------------------------------------------------------------------------------

    def action_rescan(self) -> None:
        if not self.start_scan():
            self.notify("A scan is already running")

    def action_help(self) -> None:
        from ivcrush_tui.app.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_add_ticker(self) -> None:
        from ivcrush_tui.app.screens.modals import AddTickerModal

        def done(symbols: tuple[str, ...] | None) -> None:
            if symbols:
                self.add_symbols(symbols)

        self.push_screen(AddTickerModal(), done)

    def open_ticker(self, symbol: str) -> None:
        """Push the drill-down of `symbol` (validated) on the current mode's stack."""
        try:
            sym = validate_symbol(symbol)
        except (IvCrushError, ValueError) as exc:
            self.notify(watchlist_edits.reason(exc), title="Invalid symbol", severity="error")
            return
        from ivcrush_tui.app.screens.ticker import TickerScreen

        self.push_screen(TickerScreen(sym))
