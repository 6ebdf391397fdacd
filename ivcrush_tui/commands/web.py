"""`ivcrush web`: the same console in a browser, served by textual-serve.

Every browser tab that opens the page starts its own console process: the command below, which is
`ivcrush` itself with the global options passed through. Secrets never go on that command line (the
console reads them from the environment and the config file, as in a terminal), so they are neither
on the page nor in a URL nor in `ps`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ivcrush_tui.commands.web_server import ConsoleServer
from ivcrush_tui.exit_codes import EXIT_OK, EXIT_USAGE
from ivcrush_tui.loopback import is_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def console_command(args: argparse.Namespace, python: str = sys.executable) -> str:
    """The shell command that runs the console for one browser tab (textual-serve runs it with a
    shell, so every part is quoted)."""
    parts = [python, "-m", "ivcrush_tui"]
    if args.demo:
        parts.append("--demo")
    if args.config:
        parts += ["--config", str(Path(args.config).expanduser().resolve())]
    if args.as_of is not None:
        parts += ["--as-of", args.as_of]
    # exec: the shell becomes the console, so the server's child is the console itself.
    return "exec " + shlex.join(parts)


def no_auth_warning(host: str, port: int) -> str | None:
    """The warning for a bind that other machines can reach, or None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"ivcrush: warning: serving on {host}:{port} with no authentication: anyone who can "
        "reach this port can use the console (prefer the loopback default and SSH port "
        "forwarding, docs/DEPLOYMENT.md)"
    )


def run_web(args: argparse.Namespace) -> int:
    """Serve the console until SIGINT or SIGTERM; returns the exit code."""
    host: str = args.host
    port: int = args.port
    if not 1 <= port <= 65535:
        print(f"ivcrush: --port must be 1-65535, not {port}", file=sys.stderr)
        return EXIT_USAGE
    warning = no_auth_warning(host, port)
    if warning:
        print(warning, file=sys.stderr)
    server = ConsoleServer(console_command(args), host=host, port=port)
    try:
        # textual-serve turns SIGINT and SIGTERM into aiohttp's graceful exit: the server stops
        # listening, each open console is told to quit, and serve() returns.
        server.serve()
    except OSError as exc:  # the port is taken, the address is not on this machine, ...
        print(f"ivcrush: cannot serve on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print("ivcrush web: stopped", file=sys.stderr)
    return EXIT_OK
