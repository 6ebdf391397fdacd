"""Drill-down charts on textual-plotext (one figure per widget, so charts never share plotext's
global state). The figure follows the widget size at render time (redrawn on resize) and the series
colours come from the theme's semantic variables (re-plotted on theme change).

When there is nothing to plot, the widget shows the reason as text instead of an empty frame.
"""

from __future__ import annotations

import math
from typing import Any

import plotext._utility as _plotext_utility  # type: ignore[import-untyped]
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.geometry import Size
from textual_plotext import PlotextPlot

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.analytics.event_move import EventMove
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.app.formatting import fmt_na
from ivcrush_tui.domain import Unavailable

RGB = tuple[int, int, int]


def _stable_no_duplicates(data: Any) -> list[Any]:
    return list(dict.fromkeys(data))


# plotext de-duplicates (tick, label) pairs through a set, so where string tick labels land depends
# on the process's hash seed (a chart drawn twice differs between runs). Insertion order is the
# order plotext itself documents as the alternative; it makes every figure reproducible.
_plotext_utility.no_duplicates = _stable_no_duplicates


class AnalysisChart(PlotextPlot):
    """Base: holds the Analysis, re-plots on `show()` and on theme changes."""

    DEFAULT_CSS = """
    AnalysisChart {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.analysis: Analysis | None = None
        self.message: str | None = "loading…"
        self._built_size = Size(0, 0)
        self.builds = 0  # figures built (tests check resize and theme redraws)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _t: self.replot())
        self.replot()

    def show(self, analysis: Analysis | None) -> None:
        self.analysis = analysis
        self.replot()

    def color(self, variable: str, fallback: str = "#888888") -> RGB:
        value = self.app.theme_variables.get(variable, fallback)
        try:
            return Color.parse(value).rgb
        except Exception:
            return Color.parse(fallback).rgb

    def replot(self) -> None:
        self._build()
        self.refresh()

    def _build(self) -> None:
        plt: Any = self.plt  # plotext is only partly typed
        plt.clear_figure()
        self._built_size = self.size
        self.builds += 1
        try:
            self.message = self.draw(plt)
        except Exception as exc:  # a chart must never take the screen down
            self.message = f"chart unavailable ({type(exc).__name__})"

    def title(self, plt: Any, text: str) -> None:
        """Set the figure title cut to the width: plotext silently drops a title that does not
        fit, which left a chart without one at narrower widths."""
        room = max(1, self.content_size.width - 2)
        plt.title(text if len(text) <= room else text[: room - 1] + "…")

    def draw(self, plt: Any) -> str | None:  # pragma: no cover - overridden
        """Build the figure; return a message to show instead, or None when plotted."""
        return "no chart"

    def render(self) -> RenderResult:
        # plotext keeps layout state (tick positions) from the previous build: a figure built for
        # another size is rebuilt from the data, so a resize never leaves stale ticks behind.
        if self.size != self._built_size:
            self._build()
        if self.message is not None:
            return Text(self.message, style="italic", justify="center")
        return super().render()


def _finite(xs: list[float]) -> bool:
    return all(math.isfinite(x) for x in xs)


def even_ticks(top: float, most: int = 6) -> list[float]:
    """Y ticks from 0 up to `top` in one round step (1, 2, 2.5 or 5 × 10^k), at most `most` of
    them: plotext's own ticks split the data range into unround steps, and where two land on one
    row one is dropped, so the labels that are left step unevenly (10.2, 8.5, 6.8, 3.4)."""
    if not math.isfinite(top) or top <= 0:
        return [0.0]
    raw = top / max(1, most - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    n = math.floor(top / step + 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


class SkewChart(AnalysisChart):
    """OTM IV (percent) against log-moneyness, with the fitted parabola."""

    def draw(self, plt: Any) -> str | None:
        a = self.analysis
        if a is None:
            return "loading…"
        sk = a.skew
        if isinstance(sk, Unavailable):
            return f"Skew {fmt_na(sk)}"
        if not isinstance(sk, SkewFit) or not sk.points:
            return "Skew n/a"
        ks = [p[0] for p in sk.points]
        ivs = [100 * p[1] for p in sk.points]
        a0, b, c = sk.coefficients
        lo, hi = min(ks), max(ks)
        n = 40
        xs = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
        fit = [100 * (a0 + b * x + c * x * x) for x in xs]
        if not (_finite(ivs) and _finite(fit)):
            return "Skew n/a: non-finite values"
        plt.plot(xs, fit, color=self.color("primary"))
        plt.scatter(ks, ivs, color=self.color("accent"), marker="●")
        shape = sk.shape.value if sk.shape else "shape n/a"
        rr = f"RR25 {100 * sk.rr25:+.1f} vol pts" if sk.rr25 is not None else "RR25 n/a"
        # No legend: it would cover the far-left points; the axis labels say what is drawn.
        r2 = "" if sk.r_squared is None else f" · R² {sk.r_squared:.2f}"  # hidden when flat
        self.title(plt, f"Skew: {shape} · {rr}{r2}")
        plt.xlabel("k = ln(K/F) · ● OTM IV, line = fit")
        plt.ylabel("IV %")
        return None


class HistoryChart(AnalysisChart):
    """One pair of bars per past event (|close| and |gap|, percent) and the implied move across."""

    def draw(self, plt: Any) -> str | None:
        a = self.analysis
        if a is None:
            return "loading…"
        if a.history is None or not a.history.moves:
            return "No past earnings moves"
        moves = list(reversed(a.history.moves))  # oldest first, left to right
        labels = [f"{m.event.date:%y-%m}{'*' if m.timing_inferred else ''}" for m in moves]
        closes = [100 * abs(m.close) for m in moves]
        gaps = [100 * abs(m.gap) for m in moves]
        if not (_finite(closes) and _finite(gaps)):
            return "Past moves n/a: non-finite values"
        xs = list(range(1, len(moves) + 1))
        # Numeric positions with the pair side by side; the dates go on as tick labels. No legend:
        # plotext puts it over the first bars, so the x label says which bar is which.
        plt.bar([x - 0.2 for x in xs], closes, width=0.35, color=self.color("primary"))
        plt.bar([x + 0.2 for x in xs], gaps, width=0.35, color=self.color("secondary"))
        plt.xticks(xs, labels)
        plt.xlim(0.4, len(moves) + 0.6)
        title = "Past moves"
        top = max(closes + gaps)
        if isinstance(a.implied, ImpliedMove) and math.isfinite(a.implied.implied_move_pct):
            imp = a.implied.implied_move_pct
            plt.hline(imp, color=self.color("loss"))
            title += f" vs implied {imp:.2f}% (line)"
            top = max(top, imp)
        # Plot rows: the content less title, frame, tick labels and x label. Ticks at least 1.5
        # rows apart, so no two round to one row (plotext would drop one).
        rows = max(2, self.content_size.height - 5)
        ticks = even_ticks(top, most=int(rows / 1.5) + 1)
        plt.ylim(0, top * 1.02)
        plt.yticks(ticks, [f"{t:g}" for t in ticks])
        plt.xlabel("left bar |close| %, right bar |gap| %")
        if any(m.timing_inferred for m in moves):
            title += " · * timing inferred"
        self.title(plt, title)
        return None


class TermChart(AnalysisChart):
    """ATM IV (percent) by days to expiration; the event expiration marked."""

    def draw(self, plt: Any) -> str | None:
        a = self.analysis
        if a is None:
            return "loading…"
        term = a.term
        if term is None or not term.points:
            return "Term structure n/a"
        xs = [p.dte for p in term.points]
        ys = [100 * p.atm_iv for p in term.points]
        if not (_finite(xs) and _finite(ys)):
            return "Term structure n/a: non-finite values"
        plt.plot(xs, ys, color=self.color("primary"))
        plt.scatter(xs, ys, color=self.color("accent"), marker="●")
        exp = a.schedule.expiration if a.schedule else None
        event = [p for p in term.points if p.expiration == exp]
        if event:
            plt.vline(event[0].dte, color=self.color("accent"))
        title = "Term structure"
        if term.front_back_ratio is not None and math.isfinite(term.front_back_ratio):
            title += f" · front/back {term.front_back_ratio:.2f}"
        ev = a.event_move
        if isinstance(ev, EventMove):
            title += f" · event 1σ {ev.event_sd_pct:.2f}%"
        elif isinstance(ev, Unavailable):
            title += " · event move n/a"
        self.title(plt, title)
        plt.xlabel("days to expiration (event expiration marked)")
        plt.ylabel("ATM IV %")
        return None
