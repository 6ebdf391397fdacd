"""`ivcrush serve`: run the engine unattended behind loopback HTTP endpoints (ivcrush_tui.serve).

SIGTERM (a service manager's stop) and SIGINT (Ctrl-C) both ask for a clean stop: the listener
closes, the scan in flight is cancelled (committed ledger rows stay), queued cache writes are
flushed and the store is closed, then the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from ivcrush_tui.config import Settings
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine.clock import Clock
from ivcrush_tui.exit_codes import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from ivcrush_tui.loopback import is_loopback

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def bind_warning(host: str) -> str | None:
    """The warning printed when `host` is not loopback: the endpoints have no authentication."""
    if is_loopback(host):
        return None
    return (
        f"serving on {host}, not loopback: /health, /metrics and /analyses have no"
        " authentication; anyone who can reach this port can read them"
    )


async def _serve(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    from ivcrush_tui.serve.app import run_serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:

        def listening(port: int) -> None:
            mode = "DEMO" if settings.demo else "LIVE"
            print(
                f"ivcrush: serving {mode} on http://{args.host}:{port} (/health /metrics"
                " /analyses); SIGTERM or Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )

        await run_serve(
            settings, clock, host=args.host, port=args.port, stop=stop, on_listening=listening
        )
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def serve(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Run until SIGTERM or SIGINT; returns the exit code (0 after a clean stop)."""
    warning = bind_warning(args.host)
    if warning is not None:
        print(f"ivcrush: warning: {warning}", file=sys.stderr)
    try:
        asyncio.run(_serve(args, settings, clock))
    except OSError as exc:  # the address is taken, or not one of this machine's
        print(f"ivcrush: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILURES
    except IvCrushError as exc:
        print(f"ivcrush: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.code == "config" else EXIT_FAILURES
    print("ivcrush: serve stopped", file=sys.stderr)
    return EXIT_OK
