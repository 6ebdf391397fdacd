"""The drill-down of a ledger decision as it was at decision time, from the stored analysis object
(docs/JSON.md). Pure functions of that JSON: every value is read defensively (a payload stored
before a field existed, or damaged, shows "—" where the value should be, never an exception).

Units as in docs/JSON.md: percent numbers, IVs fractions per year, dollars per share, Greeks of
one short contract.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from ivcrush_tui.app.formatting import DASH, fmt_clock_et, fmt_num, fmt_pct, fmt_price, fmt_vol
from ivcrush_tui.app.results_view import HIT_MARK, fmt_pnl

if TYPE_CHECKING:
    from ivcrush_tui.store.repositories.ledger_rows import DecisionRow

Payload = Mapping[str, Any]


def _num(obj: Any, *path: str) -> float | None:
    """The number at `path` in nested objects, or None (missing, null, not a finite number)."""
    cur = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    if isinstance(cur, bool) or not isinstance(cur, int | float):
        return None
    return float(cur) if math.isfinite(cur) else None


def _str(obj: Any, *path: str) -> str | None:
    cur = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur if isinstance(cur, str) and cur else None


def _pair(obj: Payload, key: str) -> tuple[float | None, float | None]:
    v = obj.get(key)
    if isinstance(v, list) and len(v) == 2:
        return _num({"v": v[0]}, "v"), _num({"v": v[1]}, "v")
    return None, None


def _decided_at(p: Payload) -> str:
    text = _str(p, "as_of")
    if text is None:
        return DASH
    try:
        return fmt_clock_et(dt.datetime.fromisoformat(text))
    except ValueError:
        return DASH


def header_text(p: Payload, row: DecisionRow) -> Text:
    """The title line: says this is a stored snapshot, read-only, and when it was taken."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(row.symbol, style=Style(bold=True))
    t.append(" · AT DECISION TIME (read-only snapshot)", style=Style(bold=True, italic=True))
    t.append(f" · decided {row.entry_date:%a %m-%d} {_decided_at(p)} ET")
    t.append(f" · reports {_str(p, 'earnings_date') or DASH} {_str(p, 'timing') or row.timing}")
    exp = _str(p, "expiration")
    if exp:
        t.append(f" · exp {exp}")
    t.append(f" · spot {fmt_price(_num(p, 'spot'))}")
    return t


def straddle_panel(p: Payload) -> RenderableType:
    """ATM legs, straddle, implied move, ranges, breakevens, short-contract Greeks, cost."""
    lines: list[RenderableType] = [Text(f"ATM strike {fmt_price(_num(p, 'atm', 'strike'))}")]
    grid = Table.grid(padding=(0, 2))
    for _ in range(5):
        grid.add_column(justify="right")
    grid.add_row("", "Bid", "Ask", "Mid", "IV")
    for leg in ("call", "put"):
        grid.add_row(
            leg.title(),
            fmt_price(_num(p, "atm", leg, "bid")),
            fmt_price(_num(p, "atm", leg, "ask")),
            fmt_price(_num(p, "atm", leg, "mid")),
            fmt_vol(_num(p, "atm", leg, "iv")),
        )
    lines.append(grid)
    lines.append(
        Text(
            f"Straddle {fmt_price(_num(p, 'atm', 'straddle'))} ATM ·"
            f" {fmt_price(_num(p, 'straddle'))} at spot"
        )
    )
    t = Text("Implied move ")
    t.append(f"±{fmt_pct(_num(p, 'implied_move_pct'))}", style=Style(bold=True))
    t.append(f" · 1σ ±{fmt_pct(_num(p, 'implied_move_1sd_pct'))}")
    lines.append(t)
    lo, hi = _pair(p, "range_1sd")
    lines.append(Text(f"1σ range {fmt_price(lo)} – {fmt_price(hi)}"))
    lo, hi = _pair(p, "breakevens")
    lines.append(Text(f"Breakevens {fmt_price(lo)} / {fmt_price(hi)}"))
    g = p.get("greeks_short_contract")
    if isinstance(g, Mapping):
        lines.append(
            Text(
                f"Short 1 ctr: Δ {fmt_num(_num(g, 'delta'), 1, sign=True)}"
                f" Γ {fmt_num(_num(g, 'gamma'), 2, sign=True)}"
                f" vega {fmt_num(_num(g, 'vega'), 1, sign=True)}"
                f" Θ {fmt_num(_num(g, 'theta'), 1, sign=True)}/d"
            )
        )
    lines.append(
        Text(
            f"Cost {fmt_pct(_num(p, 'cost_pct'))} round trip · RV30"
            f" {fmt_vol(_num(p, 'term', 'rv30'))} · liq {_str(p, 'liquidity_tier') or DASH}"
        )
    )
    return Group(*lines)


def stats_panel(p: Payload) -> RenderableType:
    """VRP (both bases) and intervals, historical means, consistency, term and skew figures."""
    lines = [Text(f"Events used {int(_num(p, 'n_events') or 0)}")]
    tier = _str(p, "tier") or "not scored"
    basis = _str(p, "tier_basis") or DASH
    ratio = _num(p, "vrp_reaction_ratio") if basis == "reaction" else _num(p, "vrp_ratio")
    t = Text("VRP ")
    t.append(f"{fmt_num(ratio)} ({tier})", style=Style(bold=True))
    t.append(f" · tiered on {basis}")
    lines.append(t)
    lo, hi = _pair(p, "tiering_interval")
    lines.append(
        Text(
            f"Reaction {fmt_num(_num(p, 'vrp_reaction_ratio'))} · implied"
            f" {fmt_pct(_num(p, 'reaction_implied_move_pct'))} · 90% {fmt_num(lo)}–{fmt_num(hi)}"
        )
    )
    lo, hi = _pair(p, "vrp_interval")
    lines.append(
        Text(f"Straddle {fmt_num(_num(p, 'vrp_ratio'))} · 90% {fmt_num(lo)}–{fmt_num(hi)}")
    )
    lines.append(
        Text(
            f"Gap ratio {fmt_num(_num(p, 'vrp_gap_ratio'))} · net of cost"
            f" {fmt_num(_num(p, 'net_vrp'))}"
        )
    )
    lines.append(
        Text(
            f"Mean |close| {fmt_pct(_num(p, 'hist_mean_abs_move_pct'))} · |gap|"
            f" {fmt_pct(_num(p, 'hist_mean_abs_gap_pct'))}"
        )
    )
    lines.append(
        Text(
            f"Trend {fmt_num(_num(p, 'trend_pp_per_qtr'), sign=True)} pp/qtr · TRR"
            f" {fmt_num(_num(p, 'trr'))} · P90/implied"
            f" {fmt_num(_num(p, 'consistency', 'p90_to_implied'))}"
        )
    )
    lines.append(
        Text(
            f"IV30 {fmt_vol(_num(p, 'term', 'iv30'))} · front/back"
            f" {fmt_num(_num(p, 'term', 'front_back_ratio'))} · event move"
            f" {fmt_pct(_num(p, 'event_move_pct'))}"
        )
    )
    rr = _num(p, "skew", "rr25")
    lines.append(
        Text(
            f"Skew {_str(p, 'skew', 'shape') or DASH} · RR25"
            f" {DASH if rr is None else f'{100 * rr:+.1f}'} vol pts"
        )
    )
    return Group(*lines)


def recommendation_panel(p: Payload, variables: Mapping[str, str]) -> RenderableType:
    rec = _str(p, "recommendation")
    if rec is None:
        return Text(f"No recommendation ({_str(p, 'status') or 'status n/a'})", style="italic")
    role = {"SELL": "gain", "WATCH": "tier-marginal", "SKIP": "tier-skip"}.get(rec)
    lines = [Text(rec, style=Style(color=variables.get(role or ""), bold=True))]
    reasons = p.get("reasons")
    if isinstance(reasons, list):
        lines += [Text(f"• {r}") for r in reasons if isinstance(r, str)]
    return Group(*lines)


def outcome_panel(row: DecisionRow) -> RenderableType:
    """What happened next (from the ledger, not the snapshot)."""
    lines = [Text(f"Status {row.status} · reaction session {row.reaction_date}")]
    if row.status == "settled":
        lines.append(
            Text(
                f"Close {fmt_pct(row.realized_close_pct, sign=True)} · gap"
                f" {fmt_pct(row.realized_gap_pct, sign=True)} vs implied"
                f" {fmt_pct(row.implied_move_pct)} · hit {HIT_MARK[row.hit]}"
            )
        )
        est = " (estimated exit)" if row.pnl_estimated else ""
        lines.append(Text(f"P&L {fmt_pnl(row.pnl_per_contract, False)} $/contract{est}"))
    if row.reason:
        lines.append(Text(row.reason, style="italic"))
    return Group(*lines)


def past_moves_panel(p: Payload) -> RenderableType:
    """The past events the decision rested on, most recent first (percent, signed)."""
    moves = p.get("past_moves")
    if not isinstance(moves, list) or not moves:
        return Text("No past earnings moves stored", style="italic")
    t = Table(box=None, padding=(0, 1), pad_edge=False)
    for col in ("Report", "Tm", "Close%", "Gap%"):
        t.add_column(col, justify="left" if col in ("Report", "Tm") else "right")
    for m in moves:
        if not isinstance(m, Mapping):
            continue
        t.add_row(
            _str(m, "earnings_date") or DASH,
            (_str(m, "timing") or DASH)[:3],
            fmt_num(_num(m, "close_pct"), sign=True),
            fmt_num(_num(m, "gap_pct"), sign=True),
        )
    return t
