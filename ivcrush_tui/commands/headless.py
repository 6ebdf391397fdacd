"""The headless sub-commands: analyze, scan, backfill, health, watchlist, config init.

`--json` output goes to stdout only (one object, or JSON Lines flushed per ticker); every log and
message goes to stderr. rich is imported only where a human table or message is printed: a `--json`
run does not pay its import (a fixed start-up cost of every process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivcrush_tui.config import Settings
from ivcrush_tui.domain import IvCrushError, ProviderError
from ivcrush_tui.engine.clock import Clock, parse_day
from ivcrush_tui.exit_codes import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from ivcrush_tui.symbols import validate_symbol

if TYPE_CHECKING:
    import ssl

    from rich.console import Console


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _described(exc: IvCrushError) -> str:
    """The message of a failure, naming provider and endpoint when it has them."""
    if isinstance(exc, ProviderError):
        return f"{exc.provider} {exc.endpoint}: {exc.message}"
    return exc.message


def _symbols(raw: Sequence[str]) -> list[str]:
    """Validate every symbol before any request (raises IvCrushError invalid_symbol)."""
    return list(dict.fromkeys(validate_symbol(s) for s in raw))


def _tls_in_background(settings: Settings) -> Callable[[], ssl.SSLContext | None]:
    """Start building the providers' TLS context in a thread; returns a function that waits for it.

    OpenSSL reads the CA bundle without holding the GIL, so the 20-60 ms it takes run on another
    core beside the command's imports (the engine) and the store's opening, instead of before
    its first request: open_runtime waits for it only when it makes the connection pools.
    None (open_runtime then makes what it needs itself) when no provider is reached over https
    (the demo market, a loopback server over http), or on a failure.
    """
    if not settings.uses_tls:
        return lambda: None
    import certifi
    import httpx

    # Resolved here, so that the thread imports nothing: it never waits on an import lock.
    certifi.where()
    built: list[ssl.SSLContext] = []

    def build() -> None:
        try:
            built.append(httpx.create_ssl_context())
        except Exception:  # open_runtime builds it again in the main thread and reports the error
            return

    thread = threading.Thread(target=build, name="ivcrush-tls", daemon=True)
    thread.start()

    def result() -> ssl.SSLContext | None:
        thread.join()
        return built[0] if built else None

    return result


def _stderr() -> Console:
    from rich.console import Console

    # soft_wrap: a message is one line in a log or a pipe, whatever the terminal width.
    return Console(stderr=True, soft_wrap=True)


# The width of human output on a pipe or in a file without $COLUMNS. Rich's default there is 80,
# which cut `health | tee status.txt` details with an ellipsis and dropped scan columns; a reader
# of a file or a pager has no width to fit, so lines are as long as their content.
PIPE_WIDTH = 4096


def _stdout() -> Console:
    import os

    from rich.console import Console

    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=PIPE_WIDTH)
    return console


async def analyze(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    tls = _tls_in_background(settings)  # first: it overlaps with the imports below
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.engine.service import Engine
    from ivcrush_tui.engine.warm_up import warm_up_analytics

    (symbol,) = _symbols([args.ticker])
    warm_up = functools.partial(warm_up_analytics, clock.now())
    async with open_runtime(settings, clock, tls_context=tls, on_first_request=warm_up) as rt:
        engine = Engine(rt)
        try:
            result = await engine.analyze(symbol, clock.now())
        finally:
            await engine.aclose()
        lost = engine.lost_writes
    from ivcrush_tui.engine.schema import analysis_to_json  # after the requests: see warm_up

    row = analysis_to_json(result)
    if args.json:
        _emit_json(row)
    else:
        from ivcrush_tui.commands.render import analysis_panel

        analysis_panel(row, _stdout())
    if lost:
        print(
            "ivcrush: the ledger write failed: this decision is not stored (see the log; is the"
            " database writable?)",
            file=sys.stderr,
        )
    return EXIT_FAILURES if lost or row["status"] == "error" else EXIT_OK


async def scan(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    tls = _tls_in_background(settings)  # first: it overlaps with the imports below
    from ivcrush_tui.calendar import NY
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.engine.service import Engine
    from ivcrush_tui.engine.warm_up import warm_up_analytics

    symbols = _symbols(args.tickers)
    now = clock.now()
    day: dt.date | None = None
    if args.date is not None:  # "" is an error, not "today"
        if symbols:  # --date picks names; with names given it would silently mean nothing
            print(
                "ivcrush: scan takes TICKER arguments or --date, not both "
                "(--date picks the names with entry on that day)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            day = parse_day(args.date)
        except ValueError as exc:
            print(f"ivcrush: {exc}", file=sys.stderr)
            return EXIT_USAGE
    rows: list[dict[str, Any]] = []
    err: Console | None = None  # made when there is a message for a human: rich's import is lazy
    warm_up = functools.partial(warm_up_analytics, now)
    async with open_runtime(settings, clock, tls_context=tls, on_first_request=warm_up) as rt:
        engine = Engine(rt)
        try:
            if not symbols:
                day = day or rt.calendar.next_entry_window(now)[0].astimezone(NY).date()
                try:
                    entering, watched = await engine.candidate_groups(day, now)
                except IvCrushError as exc:
                    # Loud, never "0 names": without a fresh calendar the day's names are unknown.
                    print(
                        f"ivcrush: cannot list the names with entry on {day.isoformat()}: "
                        f"{exc.code}: {_described(exc)}",
                        file=sys.stderr,
                    )
                    return EXIT_FAILURES
                symbols = entering + watched
                closed = "" if rt.calendar.is_session(day) else " (not a trading day)"
                # Plain text: one line on stderr, also in --json mode (no rich needed for it).
                print(scan_header(day, closed, len(entering), len(watched)), file=sys.stderr)
            async for result in engine.scan(symbols, now):
                # Imported with the first result, not before the first request (see warm_up).
                from ivcrush_tui.engine.schema import analysis_to_json

                row = analysis_to_json(result)
                rows.append(row)
                if args.json:
                    _emit_json(row)
                elif row["status"] == "error":
                    from rich.markup import escape

                    e = row["error"]
                    err = err or _stderr()
                    err.print(
                        f"[red]{row['ticker']}[/red]: {escape(e['code'])}: {escape(e['message'])}"
                    )
        finally:
            await engine.aclose()
        lost = engine.lost_writes
        # Decisions whose reaction session has closed are settled on every scan (METHODS §12);
        # after the results, so the scan's stream is not held up.
        from ivcrush_tui.engine.ledger_settle import settle_in_background

        await settle_in_background(rt, now)
    if not args.json:
        from ivcrush_tui.commands.render import scan_table, summary_line

        if rows:
            out = _stdout()
            out.print(scan_table(rows, width=out.width))
        (err or _stderr()).print(summary_line(rows))
    if lost:
        print(
            f"ivcrush: {lost} ledger write{'s' if lost != 1 else ''} failed: those decisions are"
            " not stored (see the log; is the database writable?)",
            file=sys.stderr,
        )
    failed = lost or any(r["status"] == "error" for r in rows)
    return EXIT_FAILURES if failed else EXIT_OK


def scan_header(day: dt.date, closed: str, entering: int, watched: int) -> str:
    """What a scan of a day's names covers, each group counted for what it is: the watchlist
    names enter later, so they are not "names with entry on" the day."""
    head = f"{entering} names with entry on {day.isoformat()}{closed}"
    if not watched:
        return head
    from ivcrush_tui.engine.service import WATCHLIST_SOON_DAYS

    by = day + dt.timedelta(days=WATCHLIST_SOON_DAYS)
    return (
        f"{entering + watched} names to scan: {head}, plus {watched} watchlist "
        f"name{'s' if watched != 1 else ''} reporting by {by.isoformat()}"
    )


async def backfill(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    tls = _tls_in_background(settings)  # first: it overlaps with the imports below
    from ivcrush_tui.engine.backfill import run_backfill
    from ivcrush_tui.engine.runtime import open_runtime

    symbols = _symbols(args.tickers)
    if not 1 <= args.quarters <= 40:
        print("ivcrush: --quarters must be between 1 and 40", file=sys.stderr)
        return EXIT_USAGE
    async with open_runtime(settings, clock, tls_context=tls) as rt:
        if args.json:
            # JSON Lines on stdout; the human lines (and the progress bar) are not printed.
            from rich.console import Console

            report = await run_backfill(
                rt, symbols, quarters=args.quarters, out=Console(stderr=True, quiet=True),
                emit=_emit_json,
            )  # fmt: skip
        else:
            report = await run_backfill(rt, symbols, quarters=args.quarters, out=_stderr())
    return EXIT_OK if report.complete and not report.failed else EXIT_FAILURES


async def health(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    tls = _tls_in_background(settings)  # first: it overlaps with the imports below
    from ivcrush_tui.engine.health import check_health, health_table, store_down_report
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.store.db import StorageError

    try:
        async with open_runtime(settings, clock, tls_context=tls) as rt:
            report = await check_health(rt, probe=True)  # the command is the question: always ask
    except StorageError as exc:
        # The store cannot be opened (damaged, read-only folder, ...): that IS the answer, and a
        # monitor still gets its document (the providers are not checked without a store).
        report = store_down_report(clock.now(), settings.demo, exc.message)
    if args.json:
        _emit_json(report.to_json())
    else:
        out = _stdout()
        table = health_table(report)
        if out.width >= PIPE_WIDTH:
            table.expand = False  # as wide as its content, not padded to PIPE_WIDTH
        out.print(table)
    return EXIT_OK if report.healthy else EXIT_FAILURES


async def watchlist(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from ivcrush_tui.store.db import Database
    from ivcrush_tui.store.repositories import WatchlistRepo

    symbols = _symbols(getattr(args, "symbols", []))
    async with await Database.open(
        settings.database_path, clock=clock.now, mode=settings.mode
    ) as db:
        repo = WatchlistRepo(db)
        missing: list[str] = []
        if args.action == "add":
            await repo.add(symbols)
        elif args.action == "remove":
            # The members are removed; a symbol that was not on the list is an error (a typo
            # must not pass for a removal), reported after the others are done.
            removed = set(await repo.remove(symbols))
            missing = [s for s in symbols if s not in removed]
        names = await repo.list()
    if args.json:
        _emit_json({"symbols": list(names)})
    else:
        for name in names:
            print(name)
    if missing:
        print(f"ivcrush: not on the watchlist: {', '.join(missing)}", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def config_init(args: argparse.Namespace) -> int:
    import os

    from ivcrush_tui.config import default_config_path, write_default_config

    target = Path(args.config) if args.config else default_config_path(os.environ)
    try:
        path = write_default_config(target, force=args.force)
    except IvCrushError as exc:
        print(f"ivcrush: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    print(f"ivcrush: wrote {path} (mode 0600)", file=sys.stderr)
    return EXIT_OK
