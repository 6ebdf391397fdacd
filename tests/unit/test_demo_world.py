"""The demo world moves forward: a day's bars, events, quotes and chains are the same whether
the market is asked on that day or a month later, in whatever order (issue 12); and the world is
useful on any day of 2025-2028 (entry names every session, VRP tiers from skip to excellent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from ivcrush_tui.calendar import NY, UTC, default_calendar
from ivcrush_tui.domain import Timing
from ivcrush_tui.providers.demo import world as world_mod
from ivcrush_tui.providers.demo.market import FIRST_DAY, LAST_DAY, DemoMarket
from ivcrush_tui.providers.demo.universe import (
    NO_OPTIONS_SYMBOL,
    SHORT_HISTORY_SYMBOL,
    SINGLE_EXPIRATION_SYMBOL,
    THIN_SYMBOL,
)

CAL = default_calendar()
DAYS = [dt.date(2025, 6, 10), dt.date(2026, 11, 23), dt.date(2027, 9, 15), dt.date(2028, 3, 1)]
NAMES = ["AAPL", "UNH", "LLY", "NVDA", THIN_SYMBOL, SINGLE_EXPIRATION_SYMBOL, NO_OPTIONS_SYMBOL]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_a_day_is_the_same_asked_that_day_or_a_month_later(day: dt.date) -> None:
    later = DemoMarket(day + dt.timedelta(days=31))
    world_mod.world.cache_clear()  # the day's view from a fresh world, built after the later
    m = DemoMarket(day)
    inside = _at(day, 15, 30)
    for s in NAMES:
        bars, seen_later = m.bars(s), {b.day: b for b in later.bars(s)}
        assert all(seen_later[b.day] == b for b in bars[-300:]), s
        # The day itself: its bar (seen a month later) is where its intraday path ended.
        bar = seen_later[day]
        assert m.spot(s, _at(day, 16, 30)) == bar.close
        assert bar.low <= m.spot(s, inside) <= bar.high
        quote = m.stock_quote(s, _at(day, 16, 30))
        assert (quote.open, quote.last) == (bar.open, bar.close)
        assert bar.low <= quote.low <= quote.high <= bar.high  # type: ignore[operator]
        # Instants of the day: the later market answers them as the day's own view does.
        assert later.stock_quote(s, inside) == m.stock_quote(s, inside)
        for exp in m.expirations(s)[:3]:
            assert later.chain(s, exp, inside) == m.chain(s, exp, inside), (s, exp)
        # Events: those past on the day are past a month later too, with the same numbers.
        past_later = {e.date: e for e in later.past_events(s)}
        for e in m.past_events(s)[-4:]:
            assert past_later[e.date] == e, s
        nxt = m.next_event(s)
        if CAL.reaction_session(nxt.date, Timing.AMC) < later.as_of:
            reported = past_later[nxt.date]
            assert (reported.eps_estimate, reported.fiscal_date_ending) == (
                nxt.eps_estimate,
                nxt.fiscal_date_ending,
            )
            assert nxt.timing in (reported.timing, Timing.UNKNOWN)
    # The earnings calendar: what the day lists beyond the later day, the later day lists too.
    end = day + dt.timedelta(days=90)
    ahead = [e for e in m.calendar_events(day, end) if e.date >= later.as_of]
    assert ahead == later.calendar_events(later.as_of, end)


def test_the_past_does_not_depend_on_the_order_days_are_asked() -> None:
    days = [dt.date(2026, 12, 24), dt.date(2026, 11, 23), dt.date(2026, 10, 2)]
    first = {d: DemoMarket(d).bars("TSLA")[-60:] for d in days}
    world_mod.world.cache_clear()
    again = {d: DemoMarket(d).bars("TSLA")[-60:] for d in reversed(days)}
    assert first == again


def test_the_recent_ipo_keeps_its_listing_day_once_listed_long_enough() -> None:
    firsts = set()
    for day in (dt.date(2026, 10, 23), dt.date(2026, 11, 23), dt.date(2026, 12, 23)):
        m = DemoMarket(day)
        firsts.add(m.bars(SHORT_HISTORY_SYMBOL)[0].day)
        assert 2 <= len(m.past_events(SHORT_HISTORY_SYMBOL)) <= 3
    assert len(firsts) == 1
    assert len(DemoMarket(dt.date(2026, 11, 23)).past_events(SHORT_HISTORY_SYMBOL)) == 2


def test_the_world_has_a_span() -> None:
    assert dt.date(2025, 1, 2) > FIRST_DAY
    assert dt.date(2028, 12, 29) < LAST_DAY
    with pytest.raises(ValueError, match="spans"):
        DemoMarket(FIRST_DAY - dt.timedelta(days=1))
    with pytest.raises(ValueError, match="spans"):
        DemoMarket(LAST_DAY + dt.timedelta(days=1))
    for day in (FIRST_DAY, LAST_DAY):  # every name quotes and prices at both ends
        m = DemoMarket(day)
        for s in m.symbols:
            assert m.stock_quote(s, _at(day, 15)).last > 0
            for exp in m.expirations(s)[:1]:
                assert m.chain(s, exp, _at(day, 15))


@pytest.mark.parametrize(
    "start", [dt.date(2025, 2, 3), dt.date(2026, 7, 13), dt.date(2027, 4, 19), dt.date(2028, 10, 2)]
)
def test_every_session_has_entry_names_and_vrp_spans_the_tiers(start: dt.date) -> None:
    """Over four weeks: every session is an entry day; at entry, the VRP of the names entered
    (implied move of the event straddle / mean |close move|, METHODS §5) ranges from below 1.2
    (skip) to above 2 (excellent)."""
    vrps: list[float] = []
    timings: list[Timing] = []
    for day in CAL.sessions_between(start, start + dt.timedelta(days=27)):
        m = DemoMarket(day)
        now = _at(day, 15, 30)
        entered = [
            s for s in m.symbols
            if CAL.entry_date(m.next_event(s).date, m.next_event(s).timing) == day
        ]  # fmt: skip
        assert entered, day
        for s in entered:
            ev = m.next_event(s)
            timings.append(ev.timing)
            hist = m.hist_mean_abs_move(s)
            exp = CAL.event_expiration(m.expirations(s), ev.date, ev.timing)
            if hist is None or exp is None or m.event_passed(s, now):
                continue
            chain = m.chain(s, exp, now)
            spot = m.spot(s, now)
            k = min({c.strike for c in chain}, key=lambda x: abs(x - spot))
            straddle = sum((c.bid + c.ask) / 2 for c in chain if c.strike == k)
            vrps.append(straddle / spot / hist)
    assert timings.count(Timing.BMO) >= 0.3 * len(timings)
    assert timings.count(Timing.AMC) >= 0.3 * len(timings)
    assert min(vrps) < 1.2 < 2.0 < max(vrps), sorted(np.round(vrps, 2))
    assert np.median(vrps) > 1.2


def test_demo_modules_stay_under_500_lines() -> None:
    folder = Path(world_mod.__file__).parent
    for path in folder.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 500, path.name
