"""Human output of headless commands: rich tables, tier colours, one-line summaries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

TIER_STYLE = {
    "excellent": "bold green",
    "good": "green",
    "marginal": "yellow",
    "skip": "dim",
}
REC_STYLE = {"SELL": "bold green", "WATCH": "yellow", "SKIP": "dim"}
# A glyph with every colour cue, so tiers survive 256-colour terminals and colour blindness.
TIER_GLYPH = {"excellent": "▲▲", "good": "▲", "marginal": "•", "skip": "·"}


def fmt_num(value: float | None, fmt: str = "{:.2f}", suffix: str = "") -> str:
    return "n/a" if value is None else fmt.format(value) + suffix


def _vrp_cell(row: dict[str, Any]) -> Text:
    tier = row.get("tier")
    ratio = row.get("vrp_ratio")
    text = fmt_num(ratio, "{:.2f}", "×")
    if tier:
        text = f"{text} {TIER_GLYPH.get(tier, '')}"
    return Text(text, style=TIER_STYLE.get(tier or "", ""))


def sort_key(row: dict[str, Any]) -> tuple[int, float]:
    """Scored rows first, by VRP descending; failures last."""
    ratio = row.get("vrp_ratio")
    return (0 if ratio is not None else 1, -(ratio or 0.0))


def scan_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title=None, header_style="bold", expand=False, pad_edge=False)
    for name, justify in (
        ("Ticker", "left"),
        ("Earnings", "left"),
        ("Entry", "left"),
        ("Spot", "right"),
        ("Impl %", "right"),
        ("Hist %", "right"),
        ("VRP", "right"),
        ("90% CI", "right"),
        ("Liq", "left"),
        ("Skew", "left"),
        ("TRR", "right"),
        ("Rec", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in sorted(rows, key=sort_key):
        if row["status"] not in ("ok", "insufficient_history"):
            err = row.get("error") or {}
            table.add_row(
                row["ticker"],
                f"{row.get('earnings_date', '')} {row.get('timing', '')}".strip(),
                row.get("entry_date", ""),
                fmt_num(row.get("spot")),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                Text(f"{row['status']}: {err.get('code', '')}", style="red"),
            )
            continue
        ci = row.get("vrp_interval")
        rec = row.get("recommendation") or ""
        table.add_row(
            row["ticker"],
            f"{row['earnings_date']} {row['timing']}",
            row["entry_date"],
            fmt_num(row["spot"]),
            fmt_num(row["implied_move_pct"]),
            fmt_num(row["hist_mean_abs_move_pct"]),
            _vrp_cell(row),
            f"{ci[0]:.2f}–{ci[1]:.2f}" if ci and None not in ci else "n/a",
            row.get("liquidity_tier") or "n/a",
            (row.get("skew") or {}).get("shape") or "n/a",
            fmt_num(row.get("trr")),
            Text(rec, style=REC_STYLE.get(rec, "")),
        )
    return table


def summary_line(rows: Sequence[dict[str, Any]]) -> str:
    recs = Counter(r.get("recommendation") for r in rows if r["status"] == "ok")
    failed = sum(1 for r in rows if r["status"] == "error")
    other = len(rows) - sum(recs.values()) - failed
    return (
        f"{len(rows)} scanned: {recs.get('SELL', 0)} SELL, {recs.get('WATCH', 0)} WATCH, "
        f"{recs.get('SKIP', 0)} SKIP, {other} not scored, {failed} failed"
    )


def analysis_panel(row: dict[str, Any], console: Console) -> None:
    """A compact, readable block for `ivcrush analyze TICKER`."""
    console.print(scan_table([row]))
    if row["status"] in ("ok", "insufficient_history"):
        term = row.get("term") or {}
        greeks = row.get("greeks") or {}
        console.print(
            f"straddle {fmt_num(row['straddle'])}  1σ {fmt_num(row['implied_move_1sd_pct'])}%  "
            f"event-only {fmt_num(row['event_move_pct'])}%  gap VRP "
            f"{fmt_num(row['vrp_gap_ratio'])}×  cost {fmt_num(row['cost_pct'])}%  "
            f"net VRP {fmt_num(row['net_vrp'])}×"
        )
        console.print(
            f"front IV {fmt_num(term.get('front_iv'), '{:.1%}')}  back IV "
            f"{fmt_num(term.get('back_iv'), '{:.1%}')}  IV30 {fmt_num(term.get('iv30'), '{:.1%}')}"
            f"  RV30 {fmt_num(term.get('rv30'), '{:.1%}')}  long straddle Δ "
            f"{fmt_num(greeks.get('delta'), '{:+.3f}')} Γ {fmt_num(greeks.get('gamma'), '{:.4f}')}"
            f" vega {fmt_num(greeks.get('vega'), '{:.3f}')} θ/day "
            f"{fmt_num(greeks.get('theta'), '{:.3f}')}"
        )
        for reason in row.get("reasons", []):
            console.print(f"  • {reason}")
    elif row.get("error"):
        console.print(f"[red]{row['error']['code']}[/red]: {row['error']['message']}")
