"""The Results screen's charts, on the drill-down's plotext base (`AnalysisChart`: one figure per
widget, theme colours, redrawn on resize and theme change, a message instead of an empty frame):

- `CalibrationChart`: implied move (x) against |realised close move| (y) per settled decision,
  percent, with the y = x line: points below it are hits (the market over-priced the move).
- `PnlChart`: the running sum of P&L per contract ($) over the settled decisions, oldest first.

Both draw the series `ResultsData` carries, already thinned to a few hundred points.
"""

from __future__ import annotations

import math
from typing import Any

from ivcrush_tui.app.results_model import ResultsData
from ivcrush_tui.app.widgets.charts import AnalysisChart


class ResultsChart(AnalysisChart):
    """Holds a `ResultsData` instead of an Analysis."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data: ResultsData | None = None

    def show_results(self, data: ResultsData | None) -> None:
        self.data = data
        self.replot()


def _shown(n_drawn: int, n_all: int) -> str:
    return f"n {n_all:,}" if n_drawn == n_all else f"n {n_all:,} ({n_drawn:,} drawn)"


class CalibrationChart(ResultsChart):
    """|realised close| against implied, percent, with y = x (hits below the line)."""

    def draw(self, plt: Any) -> str | None:
        data = self.data
        if data is None:
            return "loading…"
        pts = data.calibration
        if not pts:
            return "Calibration: no settled decision yet"
        top = max(max(p.implied_pct for p in pts), max(p.realized_abs_pct for p in pts))
        if not math.isfinite(top) or top <= 0:
            return "Calibration n/a: no positive moves"
        top *= 1.05
        plt.plot([0.0, top], [0.0, top], color=self.color("foreground", "#aaaaaa"))
        for hit, role in ((True, "gain"), (False, "loss")):
            xs = [p.implied_pct for p in pts if p.hit is hit]
            ys = [p.realized_abs_pct for p in pts if p.hit is hit]
            if xs:
                plt.scatter(xs, ys, color=self.color(role), marker="•")
        plt.xlim(0, top)
        plt.ylim(0, top)
        hits = sum(1 for p in pts if p.hit)
        # The figures go in the border (plotext drops a title wider than its canvas).
        self.border_subtitle = (
            f"{_shown(len(pts), data.n_calibration)} · {100 * hits / len(pts):.0f}% below y=x"
        )
        plt.xlabel("implied %")
        plt.ylabel("|close| %")
        return None


class PnlChart(ResultsChart):
    """Cumulative P&L of one short straddle per decision, dollars per contract."""

    def draw(self, plt: Any) -> str | None:
        data = self.data
        if data is None:
            return "loading…"
        series = data.cumulative_pnl
        if not series:
            return "Cumulative P&L: no settled decision with a P&L yet"
        xs = [float(i) for i, _ in series]
        ys = [v for _, v in series]
        if not all(math.isfinite(y) for y in ys):
            return "Cumulative P&L n/a: non-finite values"
        last = ys[-1]
        plt.plot(xs, ys, color=self.color("gain" if last >= 0 else "loss"))
        plt.hline(0.0, color=self.color("foreground", "#aaaaaa"))
        est = f" · {data.n_estimated:,} est." if data.n_estimated else ""
        self.border_subtitle = f"${last:+,.0f} · {_shown(len(series), data.n_pnl)}{est}"
        plt.xlabel("settled, oldest first")
        plt.ylabel("$/contract")
        return None
