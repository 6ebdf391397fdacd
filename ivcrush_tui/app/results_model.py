"""What the Results screen receives from the backend: the ledger's decisions, their summary (the
same `summarize` as `ivcrush ledger --summary`) and the chart series, all computed off the UI loop
(on the engine thread for the real backend). Textual-free and immutable.

Units: moves and implied moves are percent numbers; P&L dollars per contract (x100).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivcrush_tui.analytics.outcomes import LedgerSummary, Outcome, summarize

if TYPE_CHECKING:
    from ivcrush_tui.store.repositories.ledger_rows import DecisionRow

# The charts are a few dozen cells wide: more points than this only cost drawing time. The
# series are thinned evenly (first and last kept), never re-ordered.
MAX_CHART_POINTS = 600


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """One settled decision: implied move (x) and |realised close move| (y), percent; `hit` is
    |realised| < implied (below the y = x line)."""

    implied_pct: float
    realized_abs_pct: float
    hit: bool


@dataclass(frozen=True, slots=True)
class ResultsData:
    """The ledger of one mode as the Results screen shows it.

    `rows` oldest first; `summary` per tier and recommendation (90 % Wilson intervals);
    `calibration` and `cumulative_pnl` (running sum in dollars per contract, in settlement order
    = entry-date order) thinned to at most MAX_CHART_POINTS; `n_calibration` and `n_pnl` count
    the points before thinning; `skipped` counts unreadable rows left out."""

    mode: str  # "live" | "demo"
    rows: tuple[DecisionRow, ...]
    summary: LedgerSummary
    calibration: tuple[CalibrationPoint, ...]
    n_calibration: int
    cumulative_pnl: tuple[tuple[int, float], ...]  # (decision number from 1, running $)
    n_pnl: int
    n_estimated: int  # settled decisions whose P&L rests on an estimated exit
    skipped: int = 0

    @property
    def empty(self) -> bool:
        return not self.rows


def thin(values: Sequence[object], most: int = MAX_CHART_POINTS) -> list[int]:
    """Indexes of at most `most` items spread evenly over `values`, first and last included."""
    n = len(values)
    if n <= most:
        return list(range(n))
    if most <= 1:
        return [n - 1]
    step = (n - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def build_results(rows: Sequence[DecisionRow], mode: str, skipped: int = 0) -> ResultsData:
    """Summary and chart series of `rows` (oldest first). Pure; ~10 ms per 10,000 rows."""
    outcomes = [
        Outcome(
            r.tier,
            r.recommendation,
            r.status,
            r.implied_move_pct,
            r.realized_close_pct,
            r.hit,
            r.pnl_per_contract,
            r.tiering_ratio,
        )
        for r in rows
    ]
    calib: list[CalibrationPoint] = []
    running: list[float] = []
    total = 0.0
    estimated = 0
    for r in rows:
        if r.status != "settled":
            continue
        implied, close, pnl = r.implied_move_pct, r.realized_close_pct, r.pnl_per_contract
        if implied is not None and close is not None and _finite(implied) and _finite(close):
            calib.append(CalibrationPoint(implied, abs(close), abs(close) < implied))
        if pnl is not None and _finite(pnl):
            total += pnl
            running.append(total)
            estimated += bool(r.pnl_estimated)
    return ResultsData(
        mode=mode,
        rows=tuple(rows),
        summary=summarize(outcomes),
        calibration=tuple(calib[i] for i in thin(calib)),
        n_calibration=len(calib),
        cumulative_pnl=tuple((i + 1, running[i]) for i in thin(running)),
        n_pnl=len(running),
        n_estimated=estimated,
        skipped=skipped,
    )
