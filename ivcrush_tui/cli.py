"""Entry point `ivcrush`: no sub-command opens the console; sub-commands run headless.

Heavy modules (numpy, scipy, textual, httpx) are imported lazily: `ivcrush --version` stays fast.
Exit codes: 0 ok, 1 some tickers failed (or health degraded), 2 bad usage or config,
130 interrupted, 141 stdout closed by the reader (`ivcrush scan --json | head -1`), 143 terminated
(SIGTERM). `serve` runs until SIGTERM or SIGINT and then exits 0 after its clean stop.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ivcrush_tui import __version__
from ivcrush_tui.exit_codes import EXIT_INTERRUPTED, EXIT_USAGE

EPILOG = """\
examples:
  ivcrush --demo                        open the console on the built-in demo market
  ivcrush scan --json                   today's entry-date names, one JSON object per line
  ivcrush scan AAPL MSFT --as-of 2026-11-23T15:30-05:00
  ivcrush analyze NVDA --json           one ticker, one JSON object
  ivcrush backfill --quarters 12        store earnings history and prices (quota-aware, resumable)
  ivcrush health --json                 provider, database and cache status (exit 1 if degraded)
  ivcrush serve                         scan on a schedule; /health /metrics /analyses on :8787
  ivcrush watchlist add AAPL BRK.B      edit the watchlist (committed at once)
  ivcrush config init                   write a commented config file (mode 0600)
  ivcrush demo-server --port 8765       the demo market over HTTP on loopback (try live mode)
  ivcrush --demo web --port 8000        the console in a browser at http://127.0.0.1:8000/
  ivcrush ledger --summary              settle due decisions; hit rates and P&L per tier
  ivcrush --demo ledger simulate        play the demo's last 12 weeks into the demo ledger
  ivcrush backtest --json               walk-forward of history-based predictions
  ivcrush alerts --json                 the alerts fired so far, one JSON object per line
  ivcrush replay 2026-11-23 --speed 10  the console on a recorded entry window, read-only
"""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and one clear line on bad usage (no usage dump on stderr spam)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"ivcrush: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _common(*, suppress: bool) -> _Parser:
    """Global options, accepted before or after the sub-command.

    The sub-command copies use SUPPRESS defaults so they never overwrite a value given earlier
    (argparse otherwise resets `ivcrush --demo scan` to demo=False).
    """
    d = argparse.SUPPRESS if suppress else None
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=d, help="config file")
    common.add_argument(
        "--as-of",
        metavar="ISO-8601",
        default=d,
        help="'now' is this instant (e.g. 2026-11-23T15:30-05:00): fixed for one-shot commands,"
        " running on from it in the console and serve",
    )
    common.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="force the built-in demo market",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more log output on stderr (-vv: debug, with tracebacks)",
    )
    return common


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return port


def _listen(p: argparse.ArgumentParser, *, port: int, zero: str = "") -> None:
    """--host (loopback by default) and --port (checked as a TCP port) of a command that
    listens; `zero` says what port 0 means, if anything."""
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback)"
    )
    p.add_argument("--port", type=_port, default=port, help=f"TCP port (default {port}{zero})")


def _speed(text: str) -> float:
    from ivcrush_tui.commands.replay import speed_arg

    return speed_arg(text)


def build_parser() -> argparse.ArgumentParser:
    common = _common(suppress=True)
    p = _Parser(
        prog="ivcrush",
        description="Console and headless tools for selling options into earnings (IV crush).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(suppress=False)],
    )
    p.add_argument("--version", action="version", version=f"ivcrush {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    a = sub.add_parser("analyze", parents=[common], help="analyze one ticker")
    a.add_argument("ticker")
    a.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("scan", parents=[common], help="scan tickers or a date's entry names")
    s.add_argument("tickers", nargs="*", metavar="TICKER")
    s.add_argument("--date", metavar="YYYY-MM-DD", help="entry date (default: today, ET)")
    s.add_argument("--json", action="store_true", help="JSON Lines, one object per ticker")

    b = sub.add_parser("backfill", parents=[common], help="store earnings history and prices")
    b.add_argument("tickers", nargs="*", metavar="TICKER")
    b.add_argument("--quarters", type=int, default=12, help="quarters of history (default 12)")
    b.add_argument("--json", action="store_true", help="progress as JSON Lines, one per ticker")

    h = sub.add_parser("health", parents=[common], help="provider, database and cache status")
    h.add_argument("--json", action="store_true", help="print one JSON object")

    sv = sub.add_parser(
        "serve", parents=[common], help="run unattended: scheduled scans, /health /metrics"
    )
    _listen(sv, port=8787, zero="; 0: any")

    w = sub.add_parser("watchlist", parents=[common], help="list, add or remove symbols")
    wsub = w.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    wl = wsub.add_parser("list", parents=[common], help="print the watchlist")
    wl.add_argument("--json", action="store_true", help='print {"symbols": [...]}')
    for name in ("add", "remove"):
        x = wsub.add_parser(name, parents=[common], help=f"{name} symbols")
        x.add_argument("symbols", nargs="+", metavar="SYMBOL")
        x.add_argument("--json", action="store_true", help="print the resulting list as JSON")

    wb = sub.add_parser("web", parents=[common], help="serve the console to a browser")
    _listen(wb, port=8000)

    lg = sub.add_parser(
        "ledger", parents=[common], help="settle due decisions, then print the ledger"
    )
    lg.add_argument(
        "action", nargs="?", choices=["simulate"], help="simulate: play the demo's past weeks"
    )
    lg.add_argument("--json", action="store_true", help="JSON Lines, one decision per line")
    lg.add_argument("--summary", action="store_true", help="per-tier and per-recommendation")
    lg.add_argument("--weeks", type=int, default=12, help="simulate: weeks to play (default 12)")

    bt = sub.add_parser("backtest", parents=[common], help="walk-forward on stored history")
    bt.add_argument("symbols", nargs="*", metavar="SYMBOL")
    bt.add_argument("--json", action="store_true", help="JSON Lines")

    al = sub.add_parser("alerts", parents=[common], help="list the alerts fired (stored)")
    al.add_argument("--json", action="store_true", help="JSON Lines, one alert per line")
    al.add_argument("--limit", type=int, metavar="N", help="only the latest N alerts")
    rp = sub.add_parser(
        "replay", parents=[common], help="the console on a recorded day (read-only)"
    )
    rp.add_argument("date", metavar="DATE", help="the exchange day recorded (YYYY-MM-DD)")
    rp.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="replay clock speed, times real time (default 1)",
    )

    c = sub.add_parser("config", parents=[common], help="configuration helpers")
    csub = c.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    ci = csub.add_parser("init", parents=[common], help="write a commented config file")
    ci.add_argument("--force", action="store_true", help="overwrite an existing file")

    # Its options are the server's own parser's (`ivcrush demo-server --help`): main() hands the
    # rest of the command line to it. Listed here for `ivcrush --help`.
    sub.add_parser(
        DEMO_SERVER,
        add_help=False,
        help="serve the demo market on 127.0.0.1 (Tradier and Alpha Vantage formats)",
    )
    return p


DEMO_SERVER = "demo-server"


def _demo_server(argv: list[str]) -> int | None:
    """`ivcrush demo-server ...`: the demo loopback server's own command line (its module's
    `main`, so `python -m ivcrush_tui.providers.demo.server` keeps working and both spell the
    same options). None when `argv` is another command."""
    if DEMO_SERVER not in argv:
        return None
    at = argv.index(DEMO_SERVER)
    # Only global flags may come before it (`ivcrush -v demo-server`); they mean nothing to the
    # server. Anything else (a sub-command's argument spelled demo-server) is not this command.
    if not all(w.startswith("-") for w in argv[:at]):
        return None
    from ivcrush_tui.providers.demo.server import main as serve

    return serve(argv[at + 1 :], prog=f"ivcrush {DEMO_SERVER}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ivcrush` with `argv` (default: sys.argv[1:]); returns the exit code."""
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        served = _demo_server(words)
        if served is not None:
            return served
        try:
            args = build_parser().parse_args(words)
        except SystemExit as exc:  # --help, --version, bad usage: a code, also in process
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if args.command == DEMO_SERVER:  # `--config X demo-server`: no options of its own
            from ivcrush_tui.providers.demo.server import main as serve

            return serve([], prog=f"ivcrush {DEMO_SERVER}")
        from ivcrush_tui.commands.dispatch import run

        return run(args)
    except KeyboardInterrupt:  # Ctrl-C outside the event loop (imports, config, the console)
        print("ivcrush: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
