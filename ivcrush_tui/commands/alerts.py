"""`ivcrush alerts [--json] [--limit N]`: the stored alerts of this market (live or demo), oldest
first; with `--as-of T`, those fired at or before T. JSON Lines on stdout (docs/JSON.md)."""

from __future__ import annotations

import argparse
import json
import sys

from ivcrush_tui.alerts.model import Alert, alert_to_json
from ivcrush_tui.calendar import NY
from ivcrush_tui.config import Settings
from ivcrush_tui.engine.clock import Clock
from ivcrush_tui.exit_codes import EXIT_OK, EXIT_USAGE


async def alerts(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from ivcrush_tui.store.db import Database
    from ivcrush_tui.store.repositories import AlertsRepo

    limit = args.limit
    if limit is not None and limit < 1:
        print("ivcrush: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    until = clock.now() if args.as_of is not None else None
    async with await Database.open(
        settings.database_path, clock=clock.now, mode=settings.mode
    ) as db:
        found = await AlertsRepo(db).list(until=until, limit=limit)
    if args.json:
        for alert in found:
            line = json.dumps(alert_to_json(alert, settings.mode), separators=(",", ":"))
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    else:
        _print_table(found, settings.mode)
    return EXIT_OK


def _print_table(found: tuple[Alert, ...], mode: str) -> None:
    from rich.console import Console
    from rich.table import Table

    if not found:
        print(f"ivcrush: no {mode} alerts stored", file=sys.stderr)
        return
    t = Table(title=f"{mode.upper()} alerts: {len(found)}")
    for col in ("fired (ET)", "rule", "symbol", "window", "message"):
        t.add_column(col)
    for a in found:
        t.add_row(
            a.fired_at.astimezone(NY).strftime("%Y-%m-%d %H:%M:%S"),
            a.rule,
            a.symbol,
            a.window.isoformat(),
            a.message,
        )
    (Console() if sys.stdout.isatty() else Console(width=160)).print(t)
