"""Pure formatting: numbers and analyses to short display strings with a semantic colour role.

Nothing here reads the clock or the app: `now` and the calendar are parameters. A role is the name
of a theme variable (`gain`, `tier-good`, ...); `styled` turns it into a Rich `Text` with the
current theme's colour. Every coloured cue also has a glyph or a word, so it survives 256 colours.
Missing values (None, NaN, inf, Unavailable) always render as an em dash, never as 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from rich.style import Style
from rich.text import Text

from ivcrush_tui.analytics.analysis import Analysis, EventSchedule, StaleMark, Status
from ivcrush_tui.analytics.consistency import ConsistencyStats, TrrLevel
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.liquidity import LiquidityTier
from ivcrush_tui.analytics.recommendation import Action
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.analytics.vrp import TIER_RANK, Tier, TierBasis, VrpResult
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import Timing, Unavailable
from ivcrush_tui.durations import compact_duration

DASH = "—"
ELLIPSIS = "…"

TIER_GLYPH: dict[Tier | None, str] = {
    Tier.EXCELLENT: "◆",
    Tier.GOOD: "▲",
    Tier.MARGINAL: "◇",
    Tier.SKIP: "▽",
    None: "·",
}
TIER_ROLE: dict[Tier, str] = {
    Tier.EXCELLENT: "tier-excellent",
    Tier.GOOD: "tier-good",
    Tier.MARGINAL: "tier-marginal",
    Tier.SKIP: "tier-skip",
}
ACTION_ROLE: dict[Action, str] = {
    Action.SELL: "gain",
    Action.WATCH: "tier-marginal",
    Action.SKIP: "tier-skip",
}
LIQ_ROLE: dict[LiquidityTier, str | None] = {
    LiquidityTier.EXCELLENT: "gain",
    LiquidityTier.GOOD: None,
    LiquidityTier.WARNING: "warning",
    LiquidityTier.REJECT: "loss",
}
LIQ_TEXT: dict[LiquidityTier, str] = {
    LiquidityTier.EXCELLENT: "excel",
    LiquidityTier.GOOD: "good",
    LiquidityTier.WARNING: "warn",
    LiquidityTier.REJECT: "reject",
}
# Trails the VRP cell when the tier is read from the straddle VRP (no term-structure
# decomposition, so the ratio is not horizon-matched, METHODS §5); explained in the help legend.
STRADDLE_MARK = "*"
BREAKER_GLYPH = {"closed": "●", "half_open": "◐", "open": "○"}
BREAKER_ROLE = {"closed": "gain", "half_open": "warning", "open": "loss"}
TIMING_ORDER = {Timing.BMO: 0, Timing.DMH: 1, Timing.AMC: 2, Timing.UNKNOWN: 3}
# Three letters each, so "12-22 UNK" fits the 9-cell report column.
TIMING_SHORT = {Timing.BMO: "BMO", Timing.DMH: "DMH", Timing.AMC: "AMC", Timing.UNKNOWN: "UNK"}

# Short labels for error codes, to fit a table cell; the full message is shown elsewhere.
_ERROR_SHORT = {
    "circuit_open": "breaker",
    "rate_limited": "limited",
    "quota_exhausted": "quota",
    "timeout": "timeout",
    "unavailable": "down",
    "not_found": "unknown",
    "invalid_symbol": "invalid",
    "invalid_quote": "no quote",
    "auth": "auth",
    "premium": "premium",
    "bad_payload": "bad data",
    "internal": "bug",
    "no_event": "no event",
    "no_options": "no opts",
}

SortValue = float | str | None


# A tuple, not `int | float`: isinstance against a union type is several times slower, and this
# check runs for every number of every streamed row.
_REAL = (int, float)


def finite(x: float | None) -> float | None:
    """x when it is a finite number, else None."""
    if isinstance(x, _REAL) and math.isfinite(x):
        return float(x)
    return None


def _num_text(v: float | None, decimals: int = 2, *, sign: bool = False) -> str:
    """`fmt_num` of a value already through `finite`."""
    if v is None:
        return DASH
    return f"{v:+.{decimals}f}" if sign else f"{v:.{decimals}f}"


def fmt_num(x: float | None, decimals: int = 2, *, sign: bool = False) -> str:
    return _num_text(finite(x), decimals, sign=sign)


def fmt_pct(x: float | None, decimals: int = 2, *, sign: bool = False) -> str:
    """A percent number (4.4 = 4.4 %) as "4.40%"."""
    s = fmt_num(x, decimals, sign=sign)
    return s if s == DASH else s + "%"


def fmt_vol(x: float | None, decimals: int = 1) -> str:
    """A volatility as a fraction per year (0.62) shown as percent ("62.0%")."""
    v = finite(x)
    return DASH if v is None else f"{100 * v:.{decimals}f}%"


def fmt_price(x: float | None) -> str:
    """Dollars per share: two decimals, no decimals from 10,000 up (to fit a cell)."""
    return _price_text(finite(x))


def _price_text(v: float | None) -> str:
    """`fmt_price` of a value already through `finite`."""
    if v is None:
        return DASH
    return f"{v:,.0f}" if abs(v) >= 10_000 else f"{v:.2f}"


def fmt_market_cap(x: float | None) -> str:
    """Dollars compactly, as traders say them: $2.41T, $182.4B, $950M."""
    v = finite(x)
    if v is None or v <= 0:
        return DASH
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if v >= scale:
            q = v / scale
            return f"${q:.2f}{suffix}" if q < 10 else f"${q:.1f}{suffix}"
    return f"${v:,.0f}"


def fmt_na(x: object) -> str:
    """ "n/a", with an Unavailable's reason said once: the analytics write many reasons with their
    own "n/a: " prefix, which a caller adding its own printed twice ("Skew n/a: n/a: …")."""
    reason = x.reason if isinstance(x, Unavailable) else x if isinstance(x, str) else ""
    reason = reason.removeprefix("n/a:").strip()
    return f"n/a: {reason}" if reason else "n/a"


def fmt_interval(iv: tuple[float, float] | None, decimals: int = 2) -> str:
    if iv is None:
        return DASH
    return _interval_text(finite(iv[0]), finite(iv[1]), decimals)


def _interval_text(lo: float | None, hi: float | None, decimals: int = 2) -> str:
    if lo is None or hi is None:
        return DASH
    return f"{lo:.{decimals}f}–{hi:.{decimals}f}"


def fmt_duration(seconds: float | None) -> str:
    """A non-negative duration compactly: 45s, 12m, 3h05m, 2d04h."""
    v = finite(seconds)
    return DASH if v is None else compact_duration(v)


def fmt_clock_et(at: dt.datetime | None, *, seconds: bool = False) -> str:
    """An aware instant as New York wall-clock time (HH:MM or HH:MM:SS)."""
    if at is None:
        return DASH
    return at.astimezone(NY).strftime("%H:%M:%S" if seconds else "%H:%M")


def error_short(code: str) -> str:
    return _ERROR_SHORT.get(code, code[:8])


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: display text, colour role (theme variable or None), raw value for sorting,
    and whether it is right-aligned (numbers)."""

    text: str
    role: str | None = None
    raw: SortValue = None
    right: bool = False
    bold: bool = False
    dim: bool = False  # a kept value (the row's refresh failed): drawn faint


def styled(cell: Cell, variables: Mapping[str, str]) -> Text:
    """The cell as Rich Text coloured from the theme variables (unknown roles stay plain)."""
    color = variables.get(cell.role) if cell.role else None
    style = (
        Style(color=color, bold=cell.bold, dim=cell.dim or None)
        if (color or cell.bold or cell.dim)
        else ""
    )
    return Text(cell.text, style=style, justify="right" if cell.right else "left", no_wrap=True)


def implied_pct(a: Analysis | None) -> float | None:
    if a is None or not isinstance(a.implied, ImpliedMove):
        return None
    return finite(a.implied.implied_move_pct)


def entry_window_seconds(
    schedule: EventSchedule | None, now: dt.datetime, cal: TradingCalendar
) -> tuple[float | None, str]:
    """Seconds until the entry window of the schedule's entry date opens, and its state:
    "before" (seconds > 0), "open" (inside it: 0), "past" (closed: negative seconds), or "none"."""
    if schedule is None:
        return None, "none"
    window = cal.entry_window(schedule.entry_date)
    if window is None:
        return None, "none"
    start, end = window
    if now < start:
        return (start - now).total_seconds(), "before"
    if now < end:
        return 0.0, "open"
    return (end - now).total_seconds(), "past"


COLUMN_KEYS = (
    "ticker",
    "earnings",
    "entry",
    "spot",
    "implied",
    "hist",
    "vrp",
    "interval",
    "tier",
    "liq",
    "skew",
    "trr",
    "rec",
    "age",
)


def vrp_text(tier: Tier | None, ratio: float, basis: TierBasis) -> str:
    """The VRP cell (6 cells): tier glyph, the tiering ratio, and STRADDLE_MARK (or a space, so
    the numbers stay aligned) when the tier is on the straddle basis: "◆2.19 ", "▲1.91*".
    From 10 up one decimal, so the mark is never cropped."""
    mark = STRADDLE_MARK if basis is TierBasis.STRADDLE else " "
    digits = 2 if ratio < 9.995 else 1
    return f"{TIER_GLYPH[tier]}{ratio:.{digits}f}{mark}"


def placeholder_cells(symbol: str) -> dict[str, Cell]:
    """The row of a name whose first result has not arrived yet."""
    cells = {k: Cell(ELLIPSIS, "stale", None) for k in COLUMN_KEYS}
    cells["ticker"] = Cell(symbol, None, symbol, bold=True)
    return cells


# Cells that do not depend on the analysis, built once (a Cell is immutable; building one costs
# about as much as formatting its number, and these are most of a row with missing data).
_DASH_STALE = Cell(DASH, "stale")
_DASH_STALE_RIGHT = Cell(DASH, "stale", None, right=True)
_ENTRY_NOW = Cell("NOW", "gain", 0.0, right=True, bold=True)
_REC_ERROR = Cell("ERR", "loss", -1.0, bold=True)
_LIQ_ORDER = {
    tier: float(i)
    for i, tier in enumerate(
        (LiquidityTier.REJECT, LiquidityTier.WARNING, LiquidityTier.GOOD, LiquidityTier.EXCELLENT)
    )
}
_ACTION_RANK = {Action.SELL: 2.0, Action.WATCH: 1.0, Action.SKIP: 0.0}


def analysis_cells(
    a: Analysis, now: dt.datetime, cal: TradingCalendar, stale_after_s: float
) -> dict[str, Cell]:
    """Every watchlist cell of one analysis (keys: COLUMN_KEYS). Runs on the console's loop for
    every streamed result: each number goes through `finite` once."""
    cells: dict[str, Cell] = {}
    cells["ticker"] = Cell(a.symbol, None, a.symbol, bold=True)
    sched = a.schedule
    if sched is not None:
        ev = sched.event
        cells["earnings"] = Cell(
            f"{ev.date:%m-%d} {TIMING_SHORT[ev.timing]}",
            "tier-marginal" if sched.timing_flagged else None,  # unconfirmed timing stands out
            f"{ev.date.isoformat()} {TIMING_ORDER[ev.timing]}",
        )
    else:
        cells["earnings"] = Cell("none", "stale") if a.status is Status.NO_EVENT else _DASH_STALE
    secs, state = entry_window_seconds(sched, now, cal)
    if state == "open":
        cells["entry"] = _ENTRY_NOW
    elif state == "before":
        cells["entry"] = Cell(fmt_duration(secs), None, secs, right=True)
    elif state == "past":
        cells["entry"] = Cell("past", "stale", 1e12 - (secs or 0.0), right=True)
    else:
        cells["entry"] = _DASH_STALE_RIGHT
    spot = finite(a.spot)
    cells["spot"] = Cell(_price_text(spot), None, spot, right=True)
    imp = implied_pct(a)
    cells["implied"] = Cell(_num_text(imp), None, imp, right=True)
    vr = a.vrp if isinstance(a.vrp, VrpResult) else None
    hist = finite(vr.hist_mean_abs_move_pct) if vr else None
    cells["hist"] = Cell(_num_text(hist), None, hist, right=True)
    tier = a.tier
    # The tiering ratio (METHODS §5), so the number and its colour agree.
    ratio = finite(vr.tiering_ratio) if vr else None
    if ratio is not None and vr is not None:
        role = TIER_ROLE[tier] if tier is not None else "stale"
        cells["vrp"] = Cell(
            vrp_text(tier, ratio, vr.tier_basis), role, ratio, right=True, bold=True
        )
    else:
        cells["vrp"] = _DASH_STALE_RIGHT
    interval = vr.tiering_interval if vr else None  # the shown ratio's own interval
    if interval:
        lo, hi = finite(interval[0]), finite(interval[1])
        # One format for both ends, as in the VRP cell: from 10 up one decimal, so the upper end
        # never crops the 9-cell column and "1.85–12.4" never mixes two decimal counts.
        digits = 1 if hi is not None and hi >= 9.995 else 2
        cells["interval"] = Cell(_interval_text(lo, hi, digits), None, lo, right=True)
    else:
        cells["interval"] = Cell(DASH, None, None, right=True)
    if a.status is Status.ERROR or (a.error is not None and a.status is not Status.OK):
        code = a.error.code if a.error else a.status.value
        role = "loss" if a.status is Status.ERROR else "stale"
        glyph = "⚠ " if a.status is Status.ERROR else ""
        cells["tier"] = Cell(f"{glyph}{error_short(code)}", role, -1.0)
    elif tier is not None:
        cells["tier"] = Cell(tier.value, TIER_ROLE[tier], float(TIER_RANK[tier]))
    elif a.status is Status.INSUFFICIENT_HISTORY:
        n = len(a.history.moves) if a.history else 0
        cells["tier"] = Cell(f"{n} evts", "stale", -0.5)
    else:
        cells["tier"] = _DASH_STALE
    liq = a.liquidity
    if liq is not None:
        cells["liq"] = Cell(LIQ_TEXT[liq.tier], LIQ_ROLE[liq.tier], _LIQ_ORDER[liq.tier])
    else:
        cells["liq"] = _DASH_STALE
    sk = a.skew if isinstance(a.skew, SkewFit) else None
    shape = sk.shape.value if sk and sk.shape else None
    cells["skew"] = Cell(shape, None, shape) if shape else Cell(DASH, "stale", shape)
    cs = a.consistency if isinstance(a.consistency, ConsistencyStats) else None
    trr = finite(cs.trr) if cs else None
    trr_role = "loss" if cs is not None and cs.trr_level is TrrLevel.HIGH else None
    # TRR = max/mean <= number of events (<= 12): one decimal below 10 keeps it to 3 cells.
    trr_text = _num_text(trr, 1) if trr is None or trr < 9.95 else _num_text(trr, 0)
    cells["trr"] = Cell(trr_text, trr_role, trr, right=True)
    if a.status is Status.ERROR:
        cells["rec"] = _REC_ERROR
    elif a.recommendation is not None:
        act = a.recommendation.action
        cells["rec"] = Cell(act.value, ACTION_ROLE[act], _ACTION_RANK[act], bold=act is Action.SELL)
    else:
        cells["rec"] = _DASH_STALE
    age = quote_age_s(a, now)
    cells["age"] = Cell(
        fmt_duration(age), "stale" if age > stale_after_s else None, max(0.0, age), right=True
    )
    return cells if a.stale is None else _stale_cells(cells, a.stale.code)


def quote_age_s(a: Analysis, now: dt.datetime) -> float:
    """Seconds since the stock quote the figures were computed from (`quote_time`; the
    analysis's own instant when the provider gave no quote time). Never negative."""
    return max(0.0, (now - (a.quote_time or a.as_of)).total_seconds())


def _stale_cells(cells: dict[str, Cell], code: str) -> dict[str, Cell]:
    """A row kept through a failed refresh: every value faint, the Tier cell says why and the
    Rec cell says STALE (a SELL on old numbers is not a signal). The raw values stay, so an
    outage does not reshuffle the sorted rows."""
    out = {k: replace(c, dim=True) for k, c in cells.items()}
    out["ticker"] = cells["ticker"]
    out["tier"] = Cell(f"⚠ {error_short(code)}", "warning", cells["tier"].raw)
    out["rec"] = Cell("STALE", "warning", cells["rec"].raw, bold=True)
    return out


def row_detail(a: Analysis | None, symbol: str) -> str:
    """One line about the highlighted row: the error, or the recommendation and its reasons."""
    if a is None:
        return f"{symbol}: waiting for the first result…"
    if a.stale is not None:
        kept = fmt_clock_et(a.as_of)
        return f"{symbol}: STALE {stale_reason(a.stale)}; the last good values of {kept} ET"
    if a.error is not None and a.status is not Status.OK:
        corr = f" (correlation id {a.error.correlation_id})" if a.error.correlation_id else ""
        return f"{symbol}: [{a.error.code}] {a.error.message}{corr}"
    rec = a.recommendation
    if rec is None:
        return f"{symbol}: {a.status.value}"
    return f"{symbol}: {rec.action.value} — " + "; ".join(rec.reasons)


def stale_reason(mark: StaleMark) -> str:
    """Why a row is stale, for a line of text: "since 14:30:05 ET: [code] message (correlation
    id …)"."""
    corr = f" (correlation id {mark.correlation_id})" if mark.correlation_id else ""
    return f"since {fmt_clock_et(mark.since, seconds=True)} ET: [{mark.code}] {mark.message}{corr}"


def sort_order(keys: list[str], raws: Mapping[str, SortValue], *, reverse: bool) -> list[str]:
    """Row keys ordered by their raw values, None always last whatever the direction; ties keep
    the given order (stable). Strings and numbers are never compared with each other."""
    present = [k for k in keys if raws.get(k) is not None]
    missing = [k for k in keys if raws.get(k) is None]
    nums = [k for k in present if not isinstance(raws[k], str)]
    strs = [k for k in present if isinstance(raws[k], str)]
    nums.sort(key=lambda k: float(raws[k] or 0.0), reverse=reverse)
    strs.sort(key=lambda k: str(raws[k]), reverse=reverse)
    return [*nums, *strs, *missing]
