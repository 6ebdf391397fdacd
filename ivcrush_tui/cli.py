"""Entry point `ivcrush`: no sub-command opens the console; sub-commands run headless.

Heavy modules (numpy, scipy, textual, httpx) are imported lazily: `ivcrush --version` stays fast.
Exit codes: 0 ok, 1 some tickers failed (or health degraded), 2 bad usage or config,
130 interrupted, 141 stdout closed by the reader (`ivcrush scan --json | head -1`), 143 terminated
(SIGTERM).
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
  ivcrush watchlist add AAPL BRK.B      edit the watchlist (committed at once)
  ivcrush config init                   write a commented config file (mode 0600)
  ivcrush ledger --summary              settle due decisions; hit rates and P&L per tier
  ivcrush --demo ledger simulate        play the demo's last 12 weeks into the demo ledger
  ivcrush backtest --json               walk-forward of history-based predictions
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
        "--as-of", metavar="ISO-8601", default=d, help="fix 'now' (e.g. 2026-11-23T15:30-05:00)"
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

    h = sub.add_parser("health", parents=[common], help="provider, database and cache status")
    h.add_argument("--json", action="store_true", help="print one JSON object")

    w = sub.add_parser("watchlist", parents=[common], help="list, add or remove symbols")
    wsub = w.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    wsub.add_parser("list", parents=[common], help="print the watchlist")
    for name in ("add", "remove"):
        x = wsub.add_parser(name, parents=[common], help=f"{name} symbols")
        x.add_argument("symbols", nargs="+", metavar="SYMBOL")

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

    c = sub.add_parser("config", parents=[common], help="configuration helpers")
    csub = c.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    ci = csub.add_parser("init", parents=[common], help="write a commented config file")
    ci.add_argument("--force", action="store_true", help="overwrite an existing file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ivcrush` with `argv` (default: sys.argv[1:]); returns the exit code."""
    try:
        try:
            args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        except SystemExit as exc:  # --help, --version, bad usage: a code, also in process
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        from ivcrush_tui.commands.dispatch import run

        return run(args)
    except KeyboardInterrupt:  # Ctrl-C outside the event loop (imports, config, the console)
        print("ivcrush: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
