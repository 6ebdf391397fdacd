"""Human output of headless commands: rich tables, tier colours, one-line summaries.

Everything renders from the JSON rows (engine/schema.py), so the screen shows exactly what
`--json` prints. `scan_table` drops its least important columns on narrow terminals (all of
them fit at 80 columns); `analysis_view` is a vertical key/value layout for one ticker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

TIER_STYLE = {
    "excellent": "bold green",
    "good": "green",
    "marginal": "yellow",
    "skip": "dim",
}
REC_STYLE = {"SELL": "bold green", "WATCH": "yellow", "SKIP": "dim"}
LIQ_STYLE = {"excellent": "green", "good": "green", "warning": "yellow", "reject": "red"}
# A glyph with every colour cue, so tiers survive 256-colour terminals and colour blindness.
TIER_GLYPH = {"excellent": "▲▲", "good": "▲", "marginal": "•", "skip": "·"}
SCORED = ("ok", "insufficient_history")
TIMING_SHORT = {"UNKNOWN": "UNK"}  # keeps the Earnings column at 14 characters

Row = dict[str, Any]


def fmt_num(value: float | None, fmt: str = "{:.2f}", suffix: str = "") -> str:
    return "n/a" if value is None else fmt.format(value) + suffix


def _pct(value: float | None, digits: int = 2) -> str:
    """A percent number (9.16 -> '9.16 %')."""
    return fmt_num(value, f"{{:.{digits}f}}", " %")


def _vol(value: float | None) -> str:
    """A volatility fraction per year (0.297 -> '29.7 %')."""
    return "n/a" if value is None else f"{100 * value:.1f} %"


# Trails the VRP when the tier is read from the straddle VRP (METHODS §5: no term-structure
# decomposition, so the ratio is not horizon-matched); as in the console.
STRADDLE_MARK = "*"


def tiering_ratio(row: Row) -> float | None:
    """The ratio the tier is read from: vrp_reaction_ratio on the reaction basis, else vrp_ratio."""
    if row.get("tier_basis") == "reaction":
        return row.get("vrp_reaction_ratio")
    return row.get("vrp_ratio")


def _vrp_cell(row: Row) -> Text:
    tier = row.get("tier")
    mark = STRADDLE_MARK if row.get("tier_basis") == "straddle" else ""
    text = fmt_num(tiering_ratio(row), "{:.2f}", "×" + mark)
    if tier:
        text = f"{text} {TIER_GLYPH.get(tier, '')}"
    return Text(text, style=TIER_STYLE.get(tier or "", ""))


def _rec_cell(row: Row) -> Text:
    if row["status"] not in SCORED:
        err = row.get("error") or {}
        return Text(str(err.get("code") or row["status"]), style="red")
    rec = row.get("recommendation") or ""
    return Text(rec, style=REC_STYLE.get(rec, ""))


def _event_cell(row: Row) -> str:
    if not row.get("earnings_date"):
        return ""
    timing = str(row.get("timing") or "")
    return f"{row['earnings_date']} {TIMING_SHORT.get(timing, timing)}".strip()


def _ci_cell(row: Row) -> str:
    ci = row.get("tiering_interval")  # beside the tiering VRP: that ratio's own interval
    return f"{ci[0]:.2f}–{ci[1]:.2f}" if ci and None not in ci else ""


def _liq_cell(row: Row) -> Text:
    tier = row.get("liquidity_tier") or "n/a"
    return Text(tier, style=LIQ_STYLE.get(tier, ""))


def _scored(get: Callable[[Row], str | Text]) -> Callable[[Row], str | Text]:
    """Cells that only mean something for analysed rows stay blank on failures."""
    return lambda row: get(row) if row["status"] in SCORED else ""


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    justify: str
    width: int  # widest usual cell (or header), characters: for choosing the columns
    cell: Callable[[Row], str | Text]
    priority: int  # 0: always shown; higher numbers are dropped first when narrow


_COLUMNS = (
    _Column("Ticker", "left", 6, lambda r: str(r["ticker"]), 0),
    _Column("Earnings", "left", 14, _event_cell, 0),
    _Column("Entry", "left", 10, lambda r: str(r.get("entry_date") or ""), 3),
    _Column("Spot", "right", 9, lambda r: fmt_num(r.get("spot")) if r.get("spot") else "", 2),
    _Column("Impl %", "right", 6, _scored(lambda r: fmt_num(r.get("implied_move_pct"))), 0),
    _Column("Hist %", "right", 6, _scored(lambda r: fmt_num(r.get("hist_mean_abs_move_pct"))), 0),
    _Column("VRP", "right", 9, _scored(_vrp_cell), 0),
    _Column("90% CI", "right", 11, _scored(_ci_cell), 4),
    _Column("Liq", "left", 9, _scored(_liq_cell), 1),
    _Column("Skew", "left", 7, _scored(lambda r: (r.get("skew") or {}).get("shape") or "n/a"), 5),
    _Column("TRR", "right", 5, _scored(lambda r: fmt_num(r.get("trr"))), 5),
    _Column("Rec", "left", 12, _rec_cell, 0),  # longer error codes fold onto a second line
)
# Between columns: one space of padding each side plus the separator; none at the edges.
_GAP = 3


def _fit_columns(width: int) -> list[_Column]:
    """The columns that fit `width` characters, dropping the highest priorities first."""
    chosen = list(_COLUMNS)
    for drop in range(max(c.priority for c in _COLUMNS), 0, -1):
        if _table_width(chosen) <= width:
            break
        chosen = [c for c in chosen if c.priority < drop]
    return chosen


def _table_width(columns: Sequence[_Column]) -> int:
    return sum(c.width for c in columns) + _GAP * (len(columns) - 1)


def sort_key(row: Row) -> tuple[int, float]:
    """Scored rows first, by the tiering VRP descending; failures last."""
    ratio = tiering_ratio(row)
    return (0 if ratio is not None else 1, -(ratio or 0.0))


def scan_table(rows: Sequence[Row], width: int = 120) -> Table:
    """The scan results, best VRP first; columns chosen to fit `width` characters."""
    columns = _fit_columns(width)
    table = Table(
        box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False, expand=False
    )
    for col in columns:
        wrap = col.name == "Rec"
        table.add_column(
            col.name,
            justify=col.justify,  # type: ignore[arg-type]
            no_wrap=not wrap,
            overflow="fold" if wrap else "ellipsis",
        )
    for row in sorted(rows, key=sort_key):
        table.add_row(*(col.cell(row) for col in columns))
    return table


def summary_line(rows: Sequence[Row]) -> str:
    recs = Counter(r.get("recommendation") for r in rows if r["status"] == "ok")
    failed = sum(1 for r in rows if r["status"] == "error")
    other = len(rows) - sum(recs.values()) - failed
    return (
        f"{len(rows)} scanned: {recs.get('SELL', 0)} SELL, {recs.get('WATCH', 0)} WATCH, "
        f"{recs.get('SKIP', 0)} SKIP, {other} not scored, {failed} failed"
    )


def _range(pair: Sequence[float | None] | None, sep: str = " – ") -> str:
    """A [low, high] pair of dollar prices ("n/a" when either is missing)."""
    if not pair or None in pair:
        return "n/a"
    return f"${pair[0]:,.2f}{sep}${pair[1]:,.2f}"


def _join(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def analysis_view(row: Row) -> RenderableType:
    """One ticker as a vertical key/value layout (fits 80 columns; long values wrap)."""
    head = Text(row["ticker"], style="bold")
    if row["status"] in SCORED:
        rec = row.get("recommendation") or ""
        head.append("  ")
        head.append(rec, style=REC_STYLE.get(rec, ""))
        if row.get("tier"):
            head.append("  VRP ")
            head.append_text(_vrp_cell(row))
            head.append(f" {row['tier']}", style=TIER_STYLE.get(row["tier"], ""))
        if row["status"] == "insufficient_history":
            head.append("  (insufficient history: not scored)", style="yellow")
    else:
        head.append(f"  {row['status']}", style="red")

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")

    def add(key: str, value: str | Text) -> None:
        if value:
            grid.add_row(key, value)

    if row.get("earnings_date"):
        timing = row.get("timing", "")
        if row.get("timing_inferred"):
            timing += " (inferred)"
        add(
            "Event",
            _join(
                f"{row['earnings_date']} {timing}",
                f"entry {row.get('entry_date')}",
                f"reaction {row.get('reaction_date')}",
                f"expiration {row.get('expiration') or 'n/a'}",
            ),
        )
    if row.get("spot") is not None:
        add("Spot", f"${row['spot']:,.2f}")
    if row["status"] not in SCORED:
        err = row.get("error") or {}
        msg = Text(f"{err.get('code', row['status'])}: {err.get('message', '')}", style="red")
        if err.get("correlation_id"):
            msg.append(f"  [{err['correlation_id']}]", style="dim")
        add("Why", msg)
        return Group(head, grid)

    term = row.get("term") or {}
    skew = row.get("skew") or {}
    # The console's convention: what a seller holds, one short contract (docs/JSON.md).
    greeks = row.get("greeks_short_contract") or {}
    add(
        "Implied move",
        _join(
            f"{_pct(row.get('implied_move_pct'))} (1σ {_pct(row.get('implied_move_1sd_pct'))})",
            f"straddle ${fmt_num(row.get('straddle'))}",
            f"event-only {_pct(row.get('event_move_pct'))}",
            f"reaction-session {_pct(row.get('reaction_implied_move_pct'))}",
        ),
    )
    add(
        "History",
        _join(
            f"mean |move| {_pct(row.get('hist_mean_abs_move_pct'))}",
            f"mean |gap| {_pct(row.get('hist_mean_abs_gap_pct'))}",
            f"{row.get('n_events', 0)} events",
            f"TRR {fmt_num(row.get('trr'))}",
            f"trend {fmt_num(row.get('trend_pp_per_qtr'), '{:+.2f}', ' pp/qtr')}",
        ),
    )
    ci = _ci_cell(row)
    basis = row.get("tier_basis")
    add(
        "VRP",
        _join(
            f"reaction {fmt_num(row.get('vrp_reaction_ratio'), '{:.2f}', '×')}"
            + (" (tiers)" if basis == "reaction" else ""),
            f"straddle {fmt_num(row.get('vrp_ratio'), '{:.2f}', '×')}"
            + (" (tiers)" if basis == "straddle" else "")
            + (f" (90 % CI {ci})" if ci else ""),
            f"gap VRP {fmt_num(row.get('vrp_gap_ratio'), '{:.2f}', '×')}",
            f"net {fmt_num(row.get('net_vrp'), '{:.2f}', '×')} after cost "
            f"{_pct(row.get('cost_pct'))}",
        ),
    )
    add("Liquidity", _liq_cell(row))
    add(
        "Term",
        _join(
            f"front IV {_vol(term.get('front_iv'))}",
            f"back {_vol(term.get('back_iv'))}",
            f"IV30 {_vol(term.get('iv30'))}",
            f"RV30 {_vol(term.get('rv30'))}",
            f"IV/RV {fmt_num(term.get('iv_rv_ratio'))}",
            f"slope {fmt_num(term.get('ts_slope_0_45'), '{:+.3f}', ' vol pts/day')}",
        ),
    )
    add(
        "Skew",
        _join(
            skew.get("shape") or "n/a",
            f"ATM IV {_vol(skew.get('atm_iv'))}",
            f"slope {fmt_num(skew.get('slope'), '{:+.3f}')}",
            f"curvature {fmt_num(skew.get('curvature'), '{:.3f}')}",
            "RR25 "
            + fmt_num(
                None if skew.get("rr25") is None else 100 * skew["rr25"], "{:+.1f}", " vol pts"
            ),
        ),
    )
    add(
        "Ranges",
        _join(
            f"1σ {_range(row.get('range_1sd'))}",
            f"2σ {_range(row.get('range_2sd'))}",
            f"breakevens {_range(row.get('breakevens'), ' / ')}",
        ),
    )
    add(
        "Greeks",
        "short 1 contract: "
        + _join(
            f"Δ {fmt_num(greeks.get('delta'), '{:+.1f}')}",
            f"Γ {fmt_num(greeks.get('gamma'), '{:+.2f}')}",
            f"vega {fmt_num(greeks.get('vega'), '{:+.1f}', '/vol pt')}",
            f"θ {fmt_num(greeks.get('theta'), '{:+.1f}', '/day')}",
        ),
    )
    reasons = row.get("reasons") or []
    if reasons:
        add("Reasons", "\n".join(f"• {r}" for r in reasons))
    return Group(head, grid)


def analysis_panel(row: Row, console: Console) -> None:
    """Print `analysis_view(row)` on `console`."""
    console.print(analysis_view(row))
