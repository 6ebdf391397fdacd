"""Historical earnings moves from daily bars (METHODS.md §4).

Moves are FRACTIONS (0.05 = 5 %), stored signed; statistics elsewhere use absolute values. The
reference and reaction sessions come from the trading calendar and each is matched to the bar of
exactly that date: a provider's series that lacks either session skips the event (`bar_missing`)
rather than silently measuring the move from a neighbouring day (two sessions, no flag).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ivcrush_tui.calendar import TradingCalendar, default_calendar
from ivcrush_tui.domain import Bar, EarningsEvent, Timing

BAR_MISSING = "bar_missing"  # the reason code of METHODS §4 (skipped reasons start with it)
MOVED_EVENT_WINDOW_DAYS = 20  # two events this close: the date moved, keep the later one
VOLUME_LOOKBACK_SESSIONS = 10  # sessions before the reference session for the volume baseline
INFER_AMC_GAP_FACTOR = 2.0  # UNKNOWN -> AMC when |gap after D| > 2·|gap into D|
# Skipped reasons of usable events beyond the max_events most recent: not a data problem, and
# how many there are depends on how much history the store holds (JSON leaves them out).
BEYOND_WINDOW = "older than the"


@dataclass(frozen=True, slots=True)
class EarningsMove:
    """The stock's reaction to one past release. Moves are signed fractions of the reference close.

    gap = O_r/C_ref − 1; close = C_r/C_ref − 1; range = (H_r − L_r)/C_ref (≥ 0);
    max_excursion = whichever of H_r/C_ref − 1 and L_r/C_ref − 1 is larger in magnitude, sign kept
    (the high wins a tie). ref_close in dollars per share. volume_ratio = reaction-session volume /
    mean volume of the 10 sessions before the reference session (None when unavailable).
    """

    event: EarningsEvent
    timing_used: Timing  # BMO, AMC or DMH, never UNKNOWN
    timing_inferred: bool
    ref_day: dt.date
    reaction_day: dt.date
    ref_close: float
    gap: float
    close: float
    range: float
    max_excursion: float
    volume_ratio: float | None


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """Usable moves (most recent first, at most max_events) and the events left out, with why."""

    moves: tuple[EarningsMove, ...]
    skipped: tuple[tuple[dt.date, str], ...]


def _valid_bar(b: Bar) -> bool:
    # One isfinite on the sum (NaN and inf propagate) keeps this cheap over years of bars.
    return (
        math.isfinite(b.open + b.high + b.low + b.close)
        and min(b.open, b.low, b.close) > 0
        and b.high >= b.low
    )


def clean_bars(bars: Sequence[Bar]) -> list[Bar]:
    """Valid bars in ascending day order; a day listed twice keeps its last valid bar.

    Dropped: a non-finite or non-positive price, or high < low.
    """
    by_day: dict[dt.date, Bar] = {}
    for b in bars:
        if _valid_bar(b):
            by_day[b.day] = b
    return [by_day[d] for d in sorted(by_day)]


def recent_moves(moves: Sequence[EarningsMove], limit: int) -> tuple[EarningsMove, ...]:
    """The `limit` most recent moves, most recent first (by report date; stable for ties)."""
    ordered = sorted(moves, key=lambda m: m.event.date, reverse=True)
    return tuple(ordered[: max(limit, 0)])


def _locate(
    index: dict[dt.date, int], first: dt.date | None, d: dt.date, timing: Timing,
    cal: TradingCalendar,
) -> tuple[int, int] | str:  # fmt: skip
    """Indices of the reference and reaction bars for a release on `d`, or why there are none.

    The sessions come from the calendar (METHODS §1, §4): BMO/DMH reference = the session before
    D, reaction = D (the next session when D is closed); AMC reference = D (the previous session
    when closed), reaction = the session after D. Each must have a bar of exactly that date."""
    ref_day = cal.entry_date(d, timing)
    react_day = cal.reaction_session(d, timing)
    react = index.get(react_day)
    if first is None or ref_day < first:
        return f"{BAR_MISSING}: no bar for the reference session {ref_day} (the bars start later)"
    ref = index.get(ref_day)
    if ref is None:
        return f"{BAR_MISSING}: no bar for the reference session {ref_day}"
    if react is None:
        return f"{BAR_MISSING}: no bar for the reaction session {react_day}"
    return ref, react


def _gap(bars: Sequence[Bar], where: tuple[int, int]) -> float:
    ref, react = where
    return bars[react].open / bars[ref].close - 1.0


def _volume_ratio(bars: Sequence[Bar], ref: int, react: int) -> float | None:
    if ref < VOLUME_LOOKBACK_SESSIONS:
        return None
    window = [b.volume for b in bars[ref - VOLUME_LOOKBACK_SESSIONS : ref]]
    vol = bars[react].volume
    if not all(_count(v) for v in [*window, vol]):
        return None
    baseline = sum(window) / len(window)
    if baseline <= 0 or vol <= 0:  # a zero volume means the provider has none, not a quiet day
        return None
    ratio = vol / baseline
    return ratio if math.isfinite(ratio) else None


def _count(v: object) -> bool:
    return isinstance(v, int | float) and math.isfinite(v) and v >= 0


def _move(
    event: EarningsEvent, timing: Timing, inferred: bool, bars: Sequence[Bar], ref: int, react: int
) -> EarningsMove | str:
    r, c_ref = bars[react], bars[ref].close
    up = r.high / c_ref - 1.0
    down = r.low / c_ref - 1.0
    values = (r.open / c_ref - 1.0, r.close / c_ref - 1.0, (r.high - r.low) / c_ref, up, down)
    if not all(math.isfinite(v) for v in values):
        return "move not representable (price ratio overflows)"
    gap, close, rng, _, _ = values
    return EarningsMove(
        event=event,
        timing_used=timing,
        timing_inferred=inferred,
        ref_day=bars[ref].day,
        reaction_day=r.day,
        ref_close=c_ref,
        gap=gap,
        close=close,
        range=rng,
        max_excursion=up if abs(up) >= abs(down) else down,
        volume_ratio=_volume_ratio(bars, ref, react),
    )


def _one_move(
    event: EarningsEvent, bars: Sequence[Bar], index: dict[dt.date, int], first: dt.date | None,
    as_of: dt.date, cal: TradingCalendar,
) -> EarningsMove | str:  # fmt: skip
    d = event.date
    unfinished = cal.reaction_session(
        d, Timing.AMC if event.timing is Timing.UNKNOWN else event.timing
    )
    if unfinished >= as_of:  # its bar is not final yet (or not there): not a hole in the data
        return f"no reaction session in the bars yet ({unfinished} is not before {as_of})"
    if event.timing is not Timing.UNKNOWN:
        where = _locate(index, first, d, event.timing, cal)
        if isinstance(where, str):
            return where
        return _move(event, event.timing, False, bars, *where)
    # UNKNOWN: compare the gap into D (as if BMO) with the gap after D (as if AMC).
    as_bmo = _locate(index, first, d, Timing.BMO, cal)
    as_amc = _locate(index, first, d, Timing.AMC, cal)
    if isinstance(as_bmo, str) or isinstance(as_amc, str):
        reason = as_bmo if isinstance(as_bmo, str) else as_amc
        return f"{reason} (timing unknown and not inferable)"
    is_amc = abs(_gap(bars, as_amc)) > INFER_AMC_GAP_FACTOR * abs(_gap(bars, as_bmo))
    timing, where = (Timing.AMC, as_amc) if is_amc else (Timing.BMO, as_bmo)
    return _move(event, timing, True, bars, *where)


def _merge_same_day(
    events: Sequence[EarningsEvent],
) -> tuple[list[EarningsEvent], list[tuple[dt.date, str]]]:
    """One event per date: a known timing wins over UNKNOWN; conflicting known timings -> UNKNOWN
    (the bars then decide, rather than trusting one source arbitrarily)."""
    groups: dict[dt.date, list[EarningsEvent]] = {}
    for e in events:
        groups.setdefault(e.date, []).append(e)
    merged: list[EarningsEvent] = []
    skipped: list[tuple[dt.date, str]] = []
    for d in sorted(groups):
        group = groups[d]
        known = sorted({e.timing for e in group if e.timing is not Timing.UNKNOWN})
        base = next((e for e in group if e.timing is not Timing.UNKNOWN), group[0])
        if len(known) > 1:
            base = replace(base, timing=Timing.UNKNOWN)
        merged.append(base)
        if len(group) > 1:
            note = f"duplicate listing merged ({len(group) - 1} extra)"
            if len(known) > 1:
                note += f"; conflicting timings {'/'.join(known)}, inferred from the bars"
            skipped.append((d, note))
    return merged, skipped


def earnings_moves(
    bars: Sequence[Bar],
    events: Sequence[EarningsEvent],
    *,
    as_of: dt.date,
    max_events: int = 12,
    calendar: TradingCalendar | None = None,
) -> HistoryResult:
    """The reaction of the stock to each past release, most recent first (METHODS.md §4).

    Only events with D < as_of count, and only bars with day < as_of are read (a bar dated as_of
    may be an unfinished session). Duplicated dates are merged; of two events within 20 days the
    earlier is dropped (a moved date). The reference and reaction sessions come from `calendar`
    (default: the library NYSE calendar; pass the runtime's, which carries the provider's
    overrides) and are matched to bars of exactly those dates: when either bar is missing the
    event is skipped with a reason starting `bar_missing`. UNKNOWN timing is inferred from the gaps
    (AMC if |gap on D+1 vs C(D)| > 2·|gap on D vs C(D−1)|, else BMO) and flagged.
    Moves are signed fractions; at most `max_events` of the most recent usable events are kept.
    """
    cal = calendar if calendar is not None else default_calendar()
    clean = [b for b in clean_bars(bars) if b.day < as_of]
    index = {b.day: i for i, b in enumerate(clean)}
    first = clean[0].day if clean else None
    skipped: list[tuple[dt.date, str]] = []

    past: list[EarningsEvent] = []
    for e in events:
        if e.date >= as_of:
            skipped.append((e.date, f"future event (not before {as_of})"))
        else:
            past.append(e)
    merged, dupes = _merge_same_day(past)
    skipped.extend(dupes)

    kept: list[EarningsEvent] = []
    for i, e in enumerate(merged):
        nxt = merged[i + 1] if i + 1 < len(merged) else None
        if nxt is not None and (nxt.date - e.date).days <= MOVED_EVENT_WINDOW_DAYS:
            skipped.append((e.date, f"superseded by the event on {nxt.date} (moved date)"))
        else:
            kept.append(e)

    moves: list[EarningsMove] = []
    for e in reversed(kept):
        if len(moves) >= max_events:
            skipped.append((e.date, f"{BEYOND_WINDOW} {max_events} most recent usable events"))
            continue
        result = _one_move(e, clean, index, first, as_of, cal)
        if isinstance(result, str):
            skipped.append((e.date, result))
        else:
            moves.append(result)
    skipped.sort(key=lambda s: s[0], reverse=True)
    return HistoryResult(moves=tuple(moves), skipped=tuple(skipped))
