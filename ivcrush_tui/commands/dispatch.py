"""Runs a parsed command line: settings, logging, clock, then the command; maps failures to
exit codes.

No traceback ever reaches the user's screen unless asked for with -vv; secrets never reach output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE

# Commands whose clock runs on from --as-of (None: the console); the others keep it fixed.
RUNNING_CLOCK_COMMANDS: frozenset[str | None] = frozenset({None, "serve"})


class _Terminated(Exception):
    """SIGTERM arrived: the command was cancelled and has shut down cleanly."""


async def _until_sigterm(command: Coroutine[Any, Any, int]) -> int:
    """Run `command`; SIGTERM cancels it like Ctrl-C does (its `finally` blocks flush queued
    writes and close the store), then raises _Terminated. Without a handler the process would
    die at once with 143, skipping that shutdown."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError):  # no signal support (Windows, not main thread)
        return await command
    try:
        return await command
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"ivcrush: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from ivcrush_tui.config import ConfigError, load_settings
    from ivcrush_tui.engine.clock import (
        Clock,
        FixedClock,
        RunningClock,
        SystemClock,
        parse_as_of,
    )

    if args.command == "config":
        from ivcrush_tui.commands.headless import config_init

        return config_init(args)

    try:
        settings = load_settings(
            Path(args.config) if args.config else None, os.environ, force_demo=args.demo
        )
    except ConfigError as exc:
        source = args.config or os.environ.get("IVCRUSH_CONFIG") or "the configuration"
        print(f"ivcrush: {source} has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE

    for warning in settings.warnings:
        print(f"ivcrush: warning: {warning}", file=sys.stderr)

    clock: Clock = SystemClock()
    if args.as_of is not None:  # "" is an error, not "now"
        try:
            start = parse_as_of(args.as_of)
        except ValueError as exc:
            return _fail(str(exc))
        # The long-running modes run on from --as-of (countdowns, schedules and ledger decisions
        # move as they would live); one-shot commands keep the instant fixed (reproducible).
        clock = RunningClock(start) if args.command in RUNNING_CLOCK_COMMANDS else FixedClock(start)

    from ivcrush_tui.resilience.logs import configure_logging

    secrets = [
        s.reveal() for s in (settings.tradier.token, settings.alphavantage.api_key) if s is not None
    ]
    configure_logging(
        verbosity=args.verbose,
        log_dir=settings.storage.log_dir,
        secrets=secrets,
        demo=settings.demo,
    )
    # One line per run in the log file says which market and which database it used.
    logging.getLogger("ivcrush_tui.commands").info(
        "%s %s mode, database %s",
        args.command or "console",
        "DEMO" if settings.demo else "LIVE",
        settings.database_path,
    )

    if args.command == "replay":  # no provider is called: no keys needed
        from ivcrush_tui.commands.replay import run_replay

        return run_replay(args, settings, clock)

    missing = settings.live_missing_keys()
    if settings.demo:
        if not args.demo:
            print(
                "ivcrush: no API keys configured: using the built-in DEMO market", file=sys.stderr
            )
    elif missing:
        return _fail(f"live mode needs {', '.join(missing)} (or run with --demo)")

    if args.command == "web":
        from ivcrush_tui.commands.web import run_web

        return run_web(args)

    if args.command is None:
        from ivcrush_tui.commands.console import run_console

        return run_console(settings, clock)

    if args.command == "serve":
        from ivcrush_tui.commands.serve import serve

        return serve(args, settings, clock)

    # Only the command's own module: the ledger's (evidence) costs a scan ~15 ms of imports.
    if args.command in ("ledger", "backtest"):
        from ivcrush_tui.commands import evidence

        handler = evidence.ledger if args.command == "ledger" else evidence.backtest
    elif args.command == "alerts":
        from ivcrush_tui.commands import alerts

        handler = alerts.alerts
    else:
        from ivcrush_tui.commands import headless

        handler = {
            "analyze": headless.analyze,
            "scan": headless.scan,
            "backfill": headless.backfill,
            "health": headless.health,
            "watchlist": headless.watchlist,
        }[args.command]
    try:
        return asyncio.run(_until_sigterm(handler(args, settings, clock)))
    except KeyboardInterrupt:
        print("ivcrush: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated:
        print("ivcrush: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The reader went away (`ivcrush scan --json | head -1`): stop quietly, like a Unix tool
        # killed by SIGPIPE, and keep the interpreter's final flush from failing again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except IvCrushError as exc:
        return _fail(exc.message, EXIT_USAGE if exc.code in ("config", "invalid_symbol") else 1)
    finally:
        if "ivcrush_tui.engine.warm_up" in sys.modules:  # a command that never opened one: none
            from ivcrush_tui.engine.warm_up import finish_warm_up

            finish_warm_up()
