"""The Results screen's text, apart from the widgets: the decisions table's columns and cells (with
raw values for sorting), the detail line of one decision, the summary tables and the title.
Pure functions of `DecisionRow` / `ResultsData`; the numbers come from the ledger and
`analytics.outcomes.summarize` (nothing is recomputed here).

Units: percent numbers shown with "%" where the column label does not say it; P&L in dollars per
contract; an estimated exit price (no captured quote, METHODS §12) is marked with EST_MARK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from ivcrush_tui.analytics.outcomes import GroupStats
from ivcrush_tui.analytics.recommendation import Action
from ivcrush_tui.analytics.vrp import Tier
from ivcrush_tui.app.formatting import (
    ACTION_ROLE,
    DASH,
    TIER_GLYPH,
    TIER_ROLE,
    Cell,
    SortValue,
    fmt_num,
    fmt_pct,
)
from ivcrush_tui.app.results_model import ResultsData
from ivcrush_tui.app.widgets.table_parts import ColumnSpec

if TYPE_CHECKING:
    from ivcrush_tui.store.repositories.ledger_rows import DecisionRow

EST_MARK = "~"  # trails a P&L whose exit price is estimated, not a captured quote
HIT_MARK = {True: "✓", False: "✗", None: DASH}

# Fixed widths; priority 0 is never dropped, higher numbers go first when narrow.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("entry", "Entry", 10, 0),
    ColumnSpec("symbol", "Sym", 6, 0),
    ColumnSpec("timing", "Tm", 3, 7),
    ColumnSpec("tier", "Tier", 11, 2),
    ColumnSpec("rec", "Rec", 5, 3),
    ColumnSpec("implied", "Impl%", 6, 0, right=True),
    ColumnSpec("realized", "Real%", 7, 0, right=True),
    ColumnSpec("ratio", "R/I", 5, 5, right=True),
    ColumnSpec("gap", "Gap%", 7, 6, right=True),
    ColumnSpec("hit", "Hit", 3, 0),
    ColumnSpec("pnl", "P&L $", 8, 0, right=True),
    ColumnSpec("status", "Status", 7, 1),
)
SPEC_BY_KEY = {s.key: s for s in COLUMNS}
# Columns where "first" is ascending (names, dates); the rest sort descending first.
ASCENDING_FIRST = frozenset({"entry", "symbol", "timing", "status"})
DEFAULT_SORT = ("entry", True)  # newest decisions on top

_TIER_RANK = {"excellent": 3.0, "good": 2.0, "marginal": 1.0, "skip": 0.0}
_REC_RANK = {"SELL": 2.0, "WATCH": 1.0, "SKIP": 0.0}
_STATUS_ROLE = {"open": "warning", "settled": None, "void": "stale"}
RoleOf = Callable[[str], str | None]  # the colour role of a tier or recommendation name


def _tier(value: str | None) -> Tier | None:
    try:
        return Tier(value) if value else None
    except ValueError:
        return None


def _action(value: str | None) -> Action | None:
    try:
        return Action(value) if value else None
    except ValueError:
        return None


def realized_ratio(row: DecisionRow) -> float | None:
    """|realised close move| / implied move (plain number; < 1: the market over-priced it)."""
    if row.realized_close_pct is None or not row.implied_move_pct:
        return None
    return abs(row.realized_close_pct) / row.implied_move_pct


def fmt_pnl(pnl: float | None, estimated: bool | None) -> str:
    """Dollars per contract, signed, no cents ("+85", "-1,240~" when estimated)."""
    if pnl is None:
        return DASH
    text = f"{pnl:+,.0f}"
    return text + EST_MARK if estimated else text


def row_cells(row: DecisionRow) -> dict[str, Cell]:
    """The table cells of one decision, by column key; `raw` holds the sort value."""
    tier = _tier(row.tier)
    action = _action(row.recommendation)
    ratio = realized_ratio(row)
    pnl = row.pnl_per_contract
    return {
        "entry": Cell(row.entry_date.isoformat(), None, row.entry_date.isoformat()),
        "symbol": Cell(row.symbol, None, row.symbol, bold=True),
        "timing": Cell(row.timing[:3], None, row.timing),
        "tier": Cell(
            f"{TIER_GLYPH[tier]} {tier.value}" if tier else DASH,
            TIER_ROLE[tier] if tier else "stale",
            _TIER_RANK.get(row.tier or ""),
        ),
        "rec": Cell(
            action.value if action else DASH,
            ACTION_ROLE[action] if action else "stale",
            _REC_RANK.get(row.recommendation or ""),
        ),
        "implied": Cell(fmt_num(row.implied_move_pct), None, row.implied_move_pct, right=True),
        "realized": Cell(
            fmt_num(row.realized_close_pct, sign=True), None, row.realized_close_pct, right=True
        ),
        "ratio": Cell(
            fmt_num(ratio),
            None if ratio is None else ("gain" if ratio < 1 else "loss"),
            ratio,
            right=True,
        ),
        "gap": Cell(
            fmt_num(row.realized_gap_pct, sign=True), None, row.realized_gap_pct, right=True
        ),
        "hit": Cell(
            HIT_MARK[row.hit],
            None if row.hit is None else ("gain" if row.hit else "loss"),
            None if row.hit is None else float(row.hit),
        ),
        "pnl": Cell(
            fmt_pnl(pnl, row.pnl_estimated),
            None if pnl is None else ("gain" if pnl >= 0 else "loss"),
            pnl,
            right=True,
        ),
        "status": Cell(row.status, _STATUS_ROLE.get(row.status), row.status),
    }


# The raw sort value of each column, straight from the row (the same values `row_cells` puts in
# `Cell.raw`, without building any cell: a sort of 10,000 rows builds none).
SORT_VALUE: dict[str, Callable[[DecisionRow], SortValue]] = {
    "entry": lambda r: r.entry_date.isoformat(),
    "symbol": lambda r: r.symbol,
    "timing": lambda r: r.timing,
    "tier": lambda r: _TIER_RANK.get(r.tier or ""),
    "rec": lambda r: _REC_RANK.get(r.recommendation or ""),
    "implied": lambda r: r.implied_move_pct,
    "realized": lambda r: r.realized_close_pct,
    "ratio": realized_ratio,
    "gap": lambda r: r.realized_gap_pct,
    "hit": lambda r: None if r.hit is None else float(r.hit),
    "pnl": lambda r: r.pnl_per_contract,
    "status": lambda r: r.status,
}


def row_detail(row: DecisionRow) -> str:
    """One line about a decision: its dates, moves against both implied moves, P&L and why it is
    open or void."""
    parts = [f"{row.symbol} {row.timing} · entry {row.entry_date} · reaction {row.reaction_date}"]
    parts.append(
        f"implied {fmt_pct(row.implied_move_pct)}"
        + (
            f" (reaction {fmt_pct(row.reaction_implied_move_pct)})"
            if row.reaction_implied_move_pct is not None
            else ""
        )
    )
    parts += outcome_parts(row)
    parts.append("enter: drill-down at decision time" if row.snapshot_id is not None else "")
    return " · ".join(p for p in parts if p)


def outcome_parts(row: DecisionRow) -> list[str]:
    """What happened to a decision, as phrases: a settled one's close and gap moves (signed
    percent) and P&L in dollars per contract, else its status; then why it is open or void."""
    parts: list[str] = []
    if row.status == "settled":
        parts.append(
            f"close {fmt_pct(row.realized_close_pct, sign=True)}"
            f" gap {fmt_pct(row.realized_gap_pct, sign=True)}"
        )
        if row.pnl_per_contract is not None:
            how = "estimated exit" if row.pnl_estimated else "captured exit"
            parts.append(f"P&L {fmt_pnl(row.pnl_per_contract, False)} $/contract ({how})")
    else:
        parts.append(row.status)
    if row.reason:
        parts.append(row.reason)
    return parts


def _pc(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:.0f}%"


def _group_table(
    title: str, groups: Mapping[str, GroupStats], variables: Mapping[str, str], role_of: RoleOf
) -> Table:
    t = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, expand=False)
    t.add_column(title, style="bold", no_wrap=True, min_width=9)
    for name in ("n", "hit", "90% CI", "mean $", "calib"):
        t.add_column(name, justify="right", no_wrap=True)
    if not groups:
        t.add_row(Text("none settled", style="italic"), "", "", "", "", "")
    for name, g in groups.items():
        role = role_of(name)
        color = variables.get(role) if role else None
        lo_hi = (
            DASH
            if g.hit_rate_lo is None or g.hit_rate_hi is None
            else f"{_pc(g.hit_rate_lo)}–{_pc(g.hit_rate_hi)}"
        )
        calib = Text(fmt_num(g.calibration))
        if g.calibration is not None:
            calib.stylize(variables.get("gain" if g.calibration < 1 else "loss", ""))
        t.add_row(
            Text(name, style=Style(color=color) if color else ""),
            str(g.n),
            _pc(g.hit_rate),
            lo_hi,
            fmt_pnl(g.mean_pnl, False),
            calib,
        )
    return t


def _tier_role(name: str) -> str | None:
    tier = _tier(name)
    return TIER_ROLE[tier] if tier else None


def _rec_role(name: str) -> str | None:
    action = _action(name)
    return ACTION_ROLE[action] if action else None


def summary_renderable(data: ResultsData, variables: Mapping[str, str]) -> RenderableType:
    """Per-tier and per-recommendation tables of the settled decisions: n, hit rate with its
    90 % Wilson interval, mean P&L ($/contract) and calibration (mean |realised| / implied;
    below 1 is the edge the tool claims)."""
    s = data.summary
    return Group(
        _group_table("Tier", s.by_tier, variables, _tier_role),
        Text(""),
        _group_table("Rec", s.by_recommendation, variables, _rec_role),
        Text(""),
        Text(
            f"hit: |close| < implied · calib: mean |close|/implied · {EST_MARK} estimated exit",
            style="italic",
        ),
    )


def title_text(data: ResultsData | None, sort_label: str, loading: bool) -> str:
    """The title line: mode, counts, sort and what the user can do next."""
    if data is None:
        return "Results · loading the ledger…"
    s = data.summary
    parts = [f"Results · {data.mode.upper()}"]
    if data.empty:
        parts.append("no decisions yet")
    else:
        parts.append(
            f"{len(data.rows):,} decisions: {s.n_settled:,} settled, {s.n_open:,} open,"
            f" {s.n_void:,} void"
        )
        parts.append(f"sorted by {sort_label}")
    if data.skipped:
        parts.append(f"{data.skipped} unreadable skipped")
    if loading:
        parts.append("refreshing…")
    return " · ".join(parts)


def empty_text(demo: bool) -> str:
    """What an empty ledger says (and how to fill it)."""
    if demo:
        how = "run `ivcrush --demo ledger simulate --weeks 12` to play the last 12 weeks"
    else:
        how = "decisions are recorded from analyses made inside an entry window (15:00-16:00 ET)"
    return f"No ledger decisions yet: {how}."
