"""Imports a fresh process will need, done in daemon threads while the event loop waits.

A CLI command is a fresh process: what it imports on the event loop is paid before its first
request or its first line. Two waits leave the loop idle while the GIL is free: the opening of
the store (SQLite works without the GIL) and the first round trips. Here:

- `preload_http_stack` (started by `open_runtime` before the store opens): httpcore, h11 and the
  parts of anyio the first request imports (~20 ms of imports, otherwise between the store being
  open and the first request leaving).
- `warm_up_analytics` (started just after the first request): numpy and the analysis (~0.1-0.2 s
  of CPU), and the trading calendar's holiday years.

While such a thread imports, the GIL is handed back to a waiting thread (the event loop, woken by
a response or the store) after SWITCH_INTERVAL_S instead of the default 5 ms. The imports are safe
beside the event loop importing the same modules (Python's per-module import locks).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import sys
import threading
from collections.abc import Iterator

from ivcrush_tui.calendar import NY, default_calendar

log = logging.getLogger(__name__)

# What a process imports for its first analysis beyond the engine's own modules: the analysis with
# numpy, and the ledger; see `warm_up_analytics` (which also loads the calendar's holiday year).
# ANALYTICS_LAZY_MODULES are never imported with the engine and CLI modules (tests check it);
# the analysis module is (for its types), lazily, but its first import pulls in numpy (~0.1-0.2 s
# of CPU): the warm-up imports it, so that it does not stall the event loop when the first
# responses arrive (the ledger no longer imports it at module level).
ANALYTICS_LAZY_MODULES = ("ivcrush_tui.engine.ledger",)
# numpy 2 imports these submodules on their first use, and the first analysis uses both (the VRP
# bootstrap: `np.random.default_rng`; `np.percentile` -> `np.unique` -> `np.ma.is_masked`): ~10 ms
# of imports on the event loop after the last response of a fresh process, before its first line.
NUMPY_LAZY_SUBMODULES = ("numpy.random", "numpy.ma")
WARM_UP_MODULES = (
    "ivcrush_tui.analytics.analysis",
    *NUMPY_LAZY_SUBMODULES,
    *ANALYTICS_LAZY_MODULES,
)
# httpx imports httpcore when a connection pool is made; anyio (httpcore's asyncio backend)
# imports these of its parts lazily, with the first request (anyio 4: attributes of the package).
HTTP_STACK_MODULES = ("httpcore",)
ANYIO_FIRST_REQUEST_NAMES = (
    "Lock",
    "Event",
    "Semaphore",
    "CancelScope",
    "fail_after",
    "connect_tcp",
    "sleep",
    "EndOfStream",
    "BrokenResourceError",
    "ClosedResourceError",
)

SWITCH_INTERVAL_S = 0.0005
_WARM_UP_HORIZON_DAYS = 120

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0
_warm_up_lock = threading.Lock()
_warm_up_thread: threading.Thread | None = None
_preload_thread: threading.Thread | None = None


@contextlib.contextmanager
def _short_switch_interval() -> Iterator[None]:
    """SWITCH_INTERVAL_S while at least one warm-up thread runs; the interval before, after."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL_S))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _preload_http() -> None:
    with _short_switch_interval():
        try:
            for name in HTTP_STACK_MODULES:
                importlib.import_module(name)
            anyio = importlib.import_module("anyio")
            for attr in ANYIO_FIRST_REQUEST_NAMES:
                getattr(anyio, attr, None)
        except Exception:  # only a preload: the first request imports what it needs itself
            log.debug("HTTP stack preload failed", exc_info=True)


def preload_http_stack() -> threading.Thread | None:
    """Import httpcore and the parts of anyio the first request uses, in a daemon thread; None
    when httpcore is imported already (anyio's parts come with the first request)."""
    global _preload_thread
    if all(name in sys.modules for name in HTTP_STACK_MODULES):
        return None
    _preload_thread = threading.Thread(target=_preload_http, name="ivcrush-preload", daemon=True)
    _preload_thread.start()
    return _preload_thread


def _warm_up(day: dt.date) -> None:
    with _short_switch_interval():
        try:
            # The holidays of the years a scan asks for (the file's, else the package's): today's,
            # and the year of the events and expirations ahead (the calendar feed looks 3 months
            # out).
            for d in (day, day + dt.timedelta(days=_WARM_UP_HORIZON_DAYS)):
                default_calendar().is_session(d)
            for name in WARM_UP_MODULES:
                importlib.import_module(name)
        except Exception:  # only a warm-up: the analysis imports what it needs itself, and reports
            log.debug("analytics warm-up failed", exc_info=True)


def warm_up_analytics(now: dt.datetime) -> threading.Thread | None:
    """Load the trading calendar of `now`'s year and import the analysis in a daemon thread.

    For a fresh process that is sending its first requests (open_runtime's `on_first_request`):
    the imports (~0.2 s of CPU: numpy and the analytics; the holidays package too when its year
    is not kept yet) then run while the first round trips are in flight instead of after them,
    when the first analysis needs them; started earlier, they would compete with the event
    loop's own start (store reads) for the GIL. Returns the thread (the running one if a warm-up
    is under way), or None when everything is loaded already.
    """
    global _warm_up_thread
    if all(name in sys.modules for name in WARM_UP_MODULES):
        return None
    with _warm_up_lock:  # one at a time
        if _warm_up_thread is None or not _warm_up_thread.is_alive():
            day = now.astimezone(NY).date()
            _warm_up_thread = threading.Thread(
                target=_warm_up, args=(day,), name="ivcrush-warm-up", daemon=True
            )
            _warm_up_thread.start()
        return _warm_up_thread


def finish_warm_up(timeout_s: float = 3.0) -> None:
    """Wait (at most `timeout_s` seconds each) for warm-up threads still importing. A command
    that ends early (a bad ticker, an outage) would otherwise let the interpreter finalise while
    a daemon thread is inside a C extension's import (numpy), which can crash the process at
    exit (SIGSEGV)."""
    for thread in (_preload_thread, _warm_up_thread):
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout_s)
