"""`ivcrush ledger [simulate]` and `ivcrush backtest`: the forward test and its verdict (METHODS
§12, docs/JSON.md). Settling runs first; JSON goes to stdout only, messages to stderr."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ivcrush_tui.analytics.outcomes import (
    GroupStats,
    Outcome,
    backtest_stats,
    summarize,
    threshold_sweep,
    walk_forward,
)
from ivcrush_tui.config import Settings
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine.clock import Clock, SteppedClock
from ivcrush_tui.exit_codes import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from ivcrush_tui.store.repositories import LedgerDecision
from ivcrush_tui.symbols import validate_symbol

if TYPE_CHECKING:
    from rich.console import Console


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def decision_json(d: LedgerDecision) -> dict[str, Any]:
    """The documented `ledger --json` object of one decision (docs/JSON.md)."""
    return {
        "symbol": d.symbol,
        "entry_date": d.entry_date.isoformat(),
        "earnings_date": d.earnings_date.isoformat(),
        "timing": d.timing,
        "mode": d.mode,
        "decided_at": d.decided_at.isoformat(),
        "spot": _r(d.spot),
        "atm_strike": d.atm_strike,
        "implied_move_pct": _r(d.implied_move_pct),
        "reaction_implied_move_pct": _r(d.reaction_implied_move_pct),
        "vrp_ratio": _r(d.vrp_ratio),
        "vrp_reaction_ratio": _r(d.vrp_reaction_ratio),
        "tier": d.tier,
        "tier_basis": d.tier_basis,
        "recommendation": d.recommendation,
        "status": d.status,
        "reaction_date": d.reaction_date.isoformat(),
        "realized_gap_pct": _r(d.realized_gap_pct),
        "realized_close_pct": _r(d.realized_close_pct),
        "hit": d.hit,
        "pnl_per_contract": _r(d.pnl_per_contract, 2),
        "pnl_estimated": d.pnl_estimated,
    }


def outcome_of(d: LedgerDecision) -> Outcome:
    return Outcome(
        tier=d.tier,
        recommendation=d.recommendation,
        status=d.status,
        implied_move_pct=d.implied_move_pct,
        realized_close_pct=d.realized_close_pct,
        hit=d.hit,
        pnl_per_contract=d.pnl_per_contract,
        tiering_ratio=d.tiering_ratio,
    )


def _group_json(g: GroupStats) -> dict[str, Any]:
    out = asdict(g)
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in out.items()}


def outcomes_of_rows(rows: Sequence[tuple[Any, ...]]) -> list[Outcome]:
    """Outcomes from `DecisionsRepo.outcome_rows` (the summary's fast path)."""
    return [
        Outcome(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else bool(r[5]), r[6], r[7])
        for r in rows
    ]


def summary_json(outcomes: Sequence[Outcome], mode: str) -> dict[str, Any]:
    """The documented `ledger --summary --json` object."""
    s = summarize(outcomes)
    return {
        "mode": mode,
        "n_settled": s.n_settled,
        "n_open": s.n_open,
        "n_void": s.n_void,
        "by_tier": {k: _group_json(v) for k, v in s.by_tier.items()},
        "by_recommendation": {k: _group_json(v) for k, v in s.by_recommendation.items()},
    }


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr when it is a terminal; None otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _print_table(decisions: Sequence[LedgerDecision]) -> None:
    from rich.table import Table

    t = Table(title=f"ledger: {len(decisions)} decisions")
    for col in (
        "entry", "symbol", "timing", "tier", "rec", "implied %", "status", "close %",
        "gap %", "hit", "P&L $",
    ):  # fmt: skip
        t.add_column(col, justify="right" if "%" in col or col == "P&L $" else "left")
    for d in decisions:
        pnl = _pct(d.pnl_per_contract, 0)
        if d.pnl_estimated:
            pnl += " est"
        t.add_row(
            d.entry_date.isoformat(),
            d.symbol,
            d.timing,
            d.tier or "—",
            d.recommendation or "—",
            _pct(d.implied_move_pct),
            d.status if d.status != "open" or not d.reason else f"open: {d.reason}",
            _pct(d.realized_close_pct),
            _pct(d.realized_gap_pct),
            "—" if d.hit is None else ("yes" if d.hit else "no"),
            pnl,
        )
    _wide_console().print(t)


def _wide_console() -> Console:
    """The terminal's width on a terminal; 160 columns into a pipe or file (rich would otherwise
    squeeze the table into 80)."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _print_summary(obj: dict[str, Any]) -> None:
    from rich.table import Table

    out = _wide_console()
    out.print(
        f"{obj['mode'].upper()} ledger: {obj['n_settled']} settled, {obj['n_open']} open,"
        f" {obj['n_void']} void"
    )
    for key, title in (("by_tier", "tier"), ("by_recommendation", "recommendation")):
        t = Table(title=f"by {title}")
        for col in (title, "n", "hits", "hit rate", "90% Wilson", "mean P&L $", "median P&L $",
                    "calibration"):  # fmt: skip
            t.add_column(col, justify="left" if col == title else "right")
        for name, g in obj[key].items():

            def pc(x: float | None) -> str:
                return "—" if x is None else f"{100 * x:.0f}%"

            t.add_row(
                name,
                str(g["n"]),
                str(g["hits"]),
                pc(g["hit_rate"]),
                f"{pc(g['hit_rate_lo'])}–{pc(g['hit_rate_hi'])}",
                _pct(g["mean_pnl"], 0),
                _pct(g["median_pnl"], 0),
                _pct(g["calibration"]),
            )
        out.print(t)


async def ledger(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from ivcrush_tui.engine.ledger_settle import settle_due
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.store.repositories import DecisionsRepo

    if getattr(args, "action", None) == "simulate":
        return await simulate(args, settings, clock)
    now = clock.now()
    async with open_runtime(settings, clock) as rt:
        with _progress("settling", not args.json) as progress:
            report = await settle_due(rt, now, progress)
        repo = DecisionsRepo(rt.db)
        if args.summary:
            outcomes = outcomes_of_rows(await repo.outcome_rows(mode=settings.mode))
        else:
            decisions = await repo.all(mode=settings.mode)
    if report.due:
        print(
            f"ivcrush: settled {report.settled}, void {report.voided}, still open"
            f" {report.still_open} of {report.due} due ({report.history_requests} history"
            " requests)",
            file=sys.stderr,
        )
    if args.summary:
        obj = summary_json(outcomes, settings.mode)
        if args.json:
            _emit(obj)
        else:
            _print_summary(obj)
    elif args.json:
        for d in decisions:
            _emit(decision_json(d))
    else:
        _print_table(decisions)
    return EXIT_OK


async def simulate(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.engine.simulate import simulate as run_simulation

    if not settings.demo:
        print("ivcrush: ledger simulate runs on the demo market only (add --demo)", file=sys.stderr)
        return EXIT_USAGE
    weeks = args.weeks
    if not 1 <= weeks <= 52:
        print("ivcrush: --weeks must be between 1 and 52", file=sys.stderr)
        return EXIT_USAGE
    now = clock.now()
    stepped = SteppedClock(now)
    async with open_runtime(settings, stepped) as rt:
        with _progress(f"simulating {weeks} weeks", True) as progress:
            report = await run_simulation(rt, stepped, now, weeks, progress)
    s = report.settle
    print(
        f"ivcrush: simulated {report.sessions} sessions, {report.analyses} analyses"
        f" ({report.failures} not ok); settled {s.settled if s else 0},"
        f" void {s.voided if s else 0}, open {s.still_open if s else 0}",
        file=sys.stderr,
    )
    return EXIT_OK


async def backtest(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from ivcrush_tui.analytics.history import earnings_moves
    from ivcrush_tui.calendar import NY
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.store.repositories import DecisionsRepo, EventsRepo, PricesRepo

    try:
        wanted = list(dict.fromkeys(validate_symbol(s) for s in args.symbols))
    except IvCrushError as exc:
        print(f"ivcrush: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    now = clock.now()
    today = now.astimezone(NY).date()
    rows: list[dict[str, Any]] = []
    all_points = []
    n_all = 0
    async with open_runtime(settings, clock) as rt:
        symbols = wanted or [
            str(r[0])
            for r in await rt.db.fetchall(
                "SELECT DISTINCT symbol FROM earnings_events WHERE report_date < ? ORDER BY symbol",
                (today.isoformat(),),
            )
        ]
        events_repo, prices = EventsRepo(rt.db), PricesRepo(rt.db)
        params = settings.analysis_params()
        with _progress("backtest", not args.json) as progress:
            for i, sym in enumerate(symbols, start=1):
                events = await events_repo.past(sym, before=today, limit=1000)
                bars = await prices.bars(sym, dt.date(1990, 1, 1), today)
                moves = earnings_moves(
                    bars, events, as_of=today, max_events=1000, calendar=rt.calendar
                ).moves
                points = walk_forward(moves, params)
                all_points.extend(points)
                n_all += len(moves)
                rows.append(
                    {"kind": "symbol", "symbol": sym, **_stats(backtest_stats(points, len(moves)))}
                )
                if progress is not None:
                    progress(i, len(symbols))
        outcomes = outcomes_of_rows(await DecisionsRepo(rt.db).outcome_rows(mode=settings.mode))
    rows.append({"kind": "overall", "symbol": None, **_stats(backtest_stats(all_points, n_all))})
    settled = [o for o in outcomes if o.status == "settled"]
    if settled:
        for p in threshold_sweep(settled):
            rows.append(
                {
                    "kind": "sweep",
                    "cut": p.cut,
                    "n": p.n,
                    "hit_rate": _r(p.hit_rate),
                    "mean_pnl": _r(p.mean_pnl, 2),
                    "mode": settings.mode,
                }
            )
    if args.json:
        for row in rows:
            _emit(row)
    else:
        _print_backtest(rows)
    missing = [r["symbol"] for r in rows if r["kind"] == "symbol" and r["n_events"] == 0]
    if wanted and missing:
        print(
            f"ivcrush: no stored history for {', '.join(missing)} (run backfill)", file=sys.stderr
        )
        return EXIT_FAILURES
    return EXIT_OK


def _stats(s: Any) -> dict[str, Any]:
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in asdict(s).items()}


def _print_backtest(rows: Sequence[dict[str, Any]]) -> None:
    from rich.table import Table

    out = _wide_console()
    t = Table(title="walk-forward: |actual| vs mean |move| of the 12 events before")
    for col in ("symbol", "events", "predicted", "|actual|/pred", ">1x", ">1.5x", ">2x",
                "misses", "flag rate misses", "flag rate others"):  # fmt: skip
        t.add_column(col, justify="left" if col == "symbol" else "right")

    def pc(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.0f}%"

    for r in rows:
        if r["kind"] == "sweep":
            continue
        t.add_row(
            r["symbol"] or "ALL",
            str(r["n_events"]),
            str(r["n_predicted"]),
            _pct(r["ratio_mean"]),
            pc(r["beyond_1x"]),
            pc(r["beyond_1_5x"]),
            pc(r["beyond_2x"]),
            str(r["misses"]),
            pc(r["flag_rate_misses"]),
            pc(r["flag_rate_others"]),
        )
    out.print(t)
    sweep = [r for r in rows if r["kind"] == "sweep"]
    if sweep:
        s = Table(title="threshold sweep over settled decisions (tiering ratio ≥ cut)")
        for col in ("cut", "n", "hit rate", "mean P&L $"):
            s.add_column(col, justify="right")
        for r in sweep:
            s.add_row(f"{r['cut']:.1f}", str(r["n"]), pc(r["hit_rate"]), _pct(r["mean_pnl"], 0))
        out.print(s)
