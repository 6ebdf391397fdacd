"""`ivcrush replay DATE [--speed N]`: the console on a recorded day, read-only.

The recording is loaded and checked before the console opens: a day with no recording, a
damaged one, or a database that cannot be read is one clear line on stderr and exit 2 (no
traceback). The database is the mode's own (`--demo` replays the demo market's recordings) and is
closed again before the console starts: the replay holds the day in memory and writes nothing.
The ledger (the Results screen) is read with the day; a decision's snapshot (and its exact
analysis) is read when opened.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from ivcrush_tui.config import Settings
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine.clock import Clock, parse_day
from ivcrush_tui.exit_codes import EXIT_USAGE

if TYPE_CHECKING:
    from ivcrush_tui.app.results_model import ResultsData
    from ivcrush_tui.engine.replay import Recording
    from ivcrush_tui.store.db import Database

MAX_SPEED = 10_000.0


def speed_arg(text: str) -> float:
    """argparse type of --speed: a number in (0, MAX_SPEED]."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{text!r} is not a speed in (0, {MAX_SPEED:g}]")
    return value


def _fail(message: str) -> int:
    print(f"ivcrush: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _load(
    settings: Settings, day: dt.date, clock: Clock
) -> tuple[Recording, dict[str, str], ResultsData]:
    from ivcrush_tui.app.backend import PREF_SORT_COLUMN, PREF_SORT_DIR, PREF_THEME
    from ivcrush_tui.app.results_model import build_results
    from ivcrush_tui.engine.replay import load_recording
    from ivcrush_tui.store.db import Database
    from ivcrush_tui.store.repositories import PrefsRepo
    from ivcrush_tui.store.repositories.ledger_rows import decision_rows

    async with await Database.open(
        settings.database_path, clock=clock.now, mode=settings.mode
    ) as db:
        recording = await load_recording(db, day)
        prefs: dict[str, str] = {}
        for key in (PREF_THEME, PREF_SORT_COLUMN, PREF_SORT_DIR):
            value = await PrefsRepo(db).get(key)
            if value is not None:
                prefs[key] = value
        rows, skipped = await decision_rows(db, settings.mode)
    return recording, prefs, build_results(rows, settings.mode, skipped)


_T = TypeVar("_T")


def _store_reader(
    settings: Settings, clock: Clock, read: Callable[[Database, int], Awaitable[_T]]
) -> Callable[[int], Awaitable[_T]]:
    """`read(db, snapshot_id)` on the mode's store, opened for that one read (the replay keeps
    no connection open): the decision's snapshot or its exact analysis, when Enter asks."""

    async def read_one(snapshot_id: int) -> _T:
        from ivcrush_tui.store.db import Database as Store

        async with await Store.open(
            settings.database_path, clock=clock.now, mode=settings.mode
        ) as db:
            return await read(db, snapshot_id)

    return read_one


def run_replay(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Load the recording of `args.date`, then run the console on it; the exit code."""
    try:
        day = parse_day(args.date, "DATE")
    except ValueError as exc:
        return _fail(str(exc))
    path = settings.database_path
    market = "demo" if settings.demo else "live"
    if not path.exists():
        return _fail(f"no recording of {day.isoformat()}: the {market} database {path} is absent")
    try:
        recording, prefs, ledger = asyncio.run(_load(settings, day, clock))
    except IvCrushError as exc:
        return _fail(exc.message)

    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.app.replay_backend import ReplayBackend, ReplayClock
    from ivcrush_tui.engine.ledger import decision_analysis, decision_snapshot

    replay_clock = ReplayClock(recording.start, recording.end, speed=args.speed)
    backend = ReplayBackend(
        recording,
        demo=settings.demo,
        clock=replay_clock,
        prefs=prefs,
        ledger=ledger,
        snapshots=_store_reader(settings, clock, decision_snapshot),
        analyses=_store_reader(settings, clock, decision_analysis),
    )
    # Rescans are in-memory lookups: once a second, so the rows follow the recording's clock.
    app = IvCrushApp(backend, ui=settings.ui, refresh_s=1.0, entry_window_refresh_s=1.0)
    app.run()
    return app.return_code or 0
