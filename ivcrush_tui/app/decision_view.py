"""A ledger decision shown by the real drill-down (TickerScreen), frozen at decision time.

Enter on a Results row whose snapshot keeps the exact analysis (schema v11) opens the ticker's
drill-down on that analysis: the same panels and charts as live, never fetched, refreshed or
updated by a stream or a scan. The banner under the title says which decision it is, when it was
taken (New York time), that it is read-only, and what happened next (from the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from ivcrush_tui.app.results_view import HIT_MARK, outcome_parts
from ivcrush_tui.calendar import NY

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.store.repositories.ledger_rows import DecisionRow


@dataclass(frozen=True, slots=True)
class FrozenDecision:
    """A decision (its Results row) and the exact analysis it was made from."""

    row: DecisionRow
    analysis: Analysis


def outcome_text(row: DecisionRow) -> str:
    """What happened next, one line: the status (and hit of a settled one), then the moves and
    P&L or the reason (`results_view.outcome_parts`, as the Results row detail says them)."""
    head = f"Outcome: {row.status}"
    if row.status == "settled":
        head += f" · hit {HIT_MARK[row.hit]}"
    return " · ".join([head, *(p for p in outcome_parts(row) if p != row.status)])


def decision_banner(d: FrozenDecision) -> Text:
    """Two lines: the decision (entry date, decision time ET), read-only; then its outcome."""
    at = d.analysis.as_of.astimezone(NY)
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"DECISION of {d.row.entry_date:%a %Y-%m-%d}", style=Style(bold=True))
    when = f"{at:%H:%M:%S} ET" if at.date() == d.row.entry_date else f"{at:%a %m-%d %H:%M:%S} ET"
    t.append(f" · as of {when}")
    t.append(" · READ-ONLY", style=Style(bold=True))
    t.append(": the analysis at decision time, never refreshed")
    t.append("\n")
    t.append(outcome_text(d.row))
    return t
