"""The demo world: one seeded universe through which time moves forward (ARCHITECTURE "The
built-in demo market").

Nothing here depends on the day the world is asked about: each name's parameters, its earnings
releases (a fixed 13-week schedule anchored to EPOCH) and its daily path (PATH_START through
WORLD_END) are pure functions of (seed, universe, calendar), built once per name and cached.
A `DemoMarket` is the view of this world from one exchange day.

Schedule: within a 65-weekday quarter every name has a fixed weekday slot. Names fill a weekly
cycle [BMO+AMC, AMC, AMC, BMO, BMO] (6 names a week, 78 a quarter), in layers whose cycles are
turned by two weekdays each: with 250 names every weekday has ~4 releases, BMO and AMC, and
every session is the entry day of several names (AMC that day or BMO the next). A few releases
(4 %) have an unconfirmed time: listed UNKNOWN until their report date, in fact after the close.

Units: prices in dollars per share, vols as fractions per year, moves as fractions (0.05 = 5 %).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.domain import EarningsEvent, Timing
from ivcrush_tui.providers.demo.paths import DailyPath, build_path
from ivcrush_tui.providers.demo.universe import NO_OPTIONS_SYMBOL, Listing

__all__ = [
    "EPOCH",
    "PATH_START",
    "WORLD_END",
    "WORLD_SEED",
    "Profile",
    "World",
    "WorldEvent",
    "fiscal_quarter_end",
    "stable_rng",
    "world",
]

WORLD_SEED = 20_240_101  # the one demo world (tests may build others with their own seed)
EPOCH = dt.date(2018, 1, 1)  # a Monday: weekday index 0 of the earnings schedule
PATH_START = dt.date(2020, 1, 2)  # first session of every daily path
WORLD_END = dt.date(2030, 12, 31)  # last day of every daily path
QUARTER_WEEKDAYS = 65  # 13 weeks between a name's releases
# One week of slots: Monday BMO + AMC, Tuesday and Wednesday AMC, Thursday and Friday BMO. Every
# session is then an entry day (an AMC that day or a BMO the next), half the names BMO.
_CYCLE = ((0, Timing.BMO), (0, Timing.AMC), (1, Timing.AMC), (2, Timing.AMC), (3, Timing.BMO),
          (4, Timing.BMO))  # fmt: skip
_UNCONFIRMED = 0.04  # share of releases listed with an unknown time


def stable_rng(seed: int, *parts: object) -> np.random.Generator:
    """A Generator keyed by sha256 of (seed, parts): stable across runs (never Python's hash())."""
    text = "|".join([str(seed), *(str(p) for p in parts)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


@dataclass(frozen=True, slots=True)
class Profile:
    """Per-name model parameters (fractions per year for vols, fractions for moves)."""

    listing: Listing
    base_vol: float  # realised diffusive vol of the bars, 0.15-0.70
    typical_move: float  # centre of the earnings-day |move|, 0.02-0.12
    vrp_target: float  # centre of implied move / historical mean |close move| at entry
    iv_premium: float  # ATM diffusive IV / base_vol
    skew: float  # put skew slope per unit standardised log-moneyness
    curvature: float
    term_beta: float  # ATM vol term slope per ln(texp / 0.25)
    spread_rel: float  # option half-spread as a fraction of price (before widening)
    spread_abs: float  # option half-spread floor in dollars
    stock_half_spread: float  # dollars
    open_interest_scale: float
    avg_volume: int  # shares per day
    habitual_timing: Timing  # when the name releases (BMO or AMC)
    pe: float
    eps_base: float  # dollars per share per quarter around 2026 (negative for loss-makers)


@dataclass(frozen=True, slots=True)
class WorldEvent:
    """One release as it happens in the world. `event` carries the reported EPS (shown only once
    the release is past); `listed_timing` is what calendars show before the report date."""

    event: EarningsEvent
    listed_timing: Timing
    reaction: dt.date  # the session that trades on it
    vrp_target: float  # implied move at entry / historical mean |close move|


def _build_profile(seed: int, x: Listing, timing: Timing) -> Profile:
    g = stable_rng(seed, x.symbol, "profile")
    base_vol = float(np.clip(x.vol * g.uniform(0.88, 1.12), 0.15, 0.70))
    move = float(np.clip(base_vol * g.uniform(0.13, 0.22), 0.02, 0.12))
    cheap = g.uniform() < 0.15
    vrp = float(g.uniform(0.75, 0.98) if cheap else g.uniform(1.1, 2.8))
    tier = x.tier
    rel_lo, rel_hi = {1: (0.004, 0.01), 2: (0.01, 0.025), 3: (0.025, 0.05)}.get(tier, (0.12, 0.2))
    spread_abs = {1: 0.01, 2: 0.02, 3: 0.04}.get(tier, 0.08)
    oi_scale = {1: 20000.0, 2: 5000.0, 3: 1500.0}.get(tier, 40.0)
    vol_base = {1: 40e6, 2: 8e6, 3: 3e6}.get(tier, 0.8e6)
    if x.symbol == NO_OPTIONS_SYMBOL:
        vol_base = 4000.0
    stock_half = {1: 0.005, 2: 0.01, 3: 0.02}.get(tier, 0.015)
    if x.price > 10000:
        stock_half = round(x.price * 0.0002, 0)
    pe = float(g.uniform(12.0, 45.0))
    eps = x.price / pe / 4.0
    if x.loss_making:
        eps = -abs(eps) * 0.3
    return Profile(
        listing=x,
        base_vol=base_vol,
        typical_move=move,
        vrp_target=vrp,
        iv_premium=float(g.uniform(1.0, 1.12)),
        skew=float(g.uniform(0.05, 0.14)),
        curvature=float(g.uniform(0.01, 0.03)),
        term_beta=float(g.uniform(-0.03, 0.04)),
        spread_rel=float(g.uniform(rel_lo, rel_hi)),
        spread_abs=spread_abs,
        stock_half_spread=stock_half,
        open_interest_scale=oi_scale,
        avg_volume=int(vol_base * math.exp(g.normal(0.0, 0.3))),
        habitual_timing=timing,
        pe=pe,
        eps_base=round(eps, 2),
    )


def _slots(seed: int, symbols: Sequence[str]) -> dict[str, tuple[int, Timing]]:
    """(weekday slot within the quarter, timing) per name: layers of 78 names (the weekly
    cycle for 13 weeks), each layer's cycle turned by two more weekdays so that every weekday
    has BMO and AMC releases; a last partial layer fills the first weeks of the quarter."""
    order = stable_rng(seed, "slots").permutation(len(symbols)).tolist()
    per_layer = (QUARTER_WEEKDAYS // 5) * len(_CYCLE)
    out: dict[str, tuple[int, Timing]] = {}
    for j, i in enumerate(order):
        layer, pos = divmod(j, per_layer)
        week, k = divmod(pos, len(_CYCLE))
        offset, timing = _CYCLE[k]
        out[symbols[i]] = (5 * week + (offset + 2 * layer) % 5, timing)
    return out


def _weekday(index: int) -> dt.date:
    """The weekday `index` weekdays after EPOCH (holidays included)."""
    return EPOCH + dt.timedelta(days=7 * (index // 5) + index % 5)


def fiscal_quarter_end(report_day: dt.date) -> dt.date:
    """The calendar quarter end at least 8 days before the report date."""
    cutoff = report_day - dt.timedelta(days=8)
    year, month = cutoff.year, cutoff.month
    q_month = ((month - 1) // 3) * 3  # month before this quarter starts (0 = December before)
    if q_month == 0:
        return dt.date(year - 1, 12, 31)
    return dt.date(year, q_month + 1, 1) - dt.timedelta(days=1)


class World:
    """The seeded world of `listings` on `calendar` (build through `world()`, which caches)."""

    def __init__(self, seed: int, listings: tuple[Listing, ...], calendar: TradingCalendar) -> None:
        self.seed = seed
        self.calendar = calendar
        self.listings = {x.symbol: x for x in listings}
        self._slots = _slots(seed, [x.symbol for x in listings])
        self.days: tuple[dt.date, ...] = tuple(calendar.sessions_between(PATH_START, WORLD_END))
        self.index = {d: i for i, d in enumerate(self.days)}
        self._profiles: dict[str, Profile] = {}
        self._events: dict[str, tuple[WorldEvent, ...]] = {}
        self._reactions: dict[str, list[dt.date]] = {}
        self._paths: dict[str, DailyPath] = {}
        self.event_variances: dict[tuple[str, int], float] = {}  # filled by the market views

    def profile(self, symbol: str) -> Profile:
        """Model parameters of `symbol` (KeyError when unknown)."""
        found = self._profiles.get(symbol)
        if found is None:
            timing = self._slots[symbol][1]
            found = _build_profile(self.seed, self.listings[symbol], timing)
            self._profiles[symbol] = found
        return found

    def events(self, symbol: str) -> tuple[WorldEvent, ...]:
        """Every release of `symbol` whose reaction session lies on the path, oldest first."""
        found = self._events.get(symbol)
        if found is None:
            found = self._build_events(symbol)
            self._events[symbol] = found
            self._reactions[symbol] = [e.reaction for e in found]
        return found

    def first_event_reacting_on_or_after(self, symbol: str, day: dt.date) -> int:
        """Index into events(symbol) of the first release whose reaction session is >= day."""
        self.events(symbol)
        return bisect.bisect_left(self._reactions[symbol], day)

    def _build_events(self, symbol: str) -> tuple[WorldEvent, ...]:
        prof = self.profile(symbol)
        slot, timing = self._slots[symbol]
        cal = self.calendar
        # Quarter k falls on weekday k * 65 + slot; one draw per quarter and purpose, in arrays.
        n = 0
        while _weekday(n * QUARTER_WEEKDAYS + slot) <= WORLD_END:
            n += 1
        g = stable_rng(self.seed, symbol, "events")
        unconfirmed = (g.uniform(size=n) < _UNCONFIRMED).tolist()
        est_noise = g.normal(0.0, 0.04, n).tolist()
        beat = g.normal(0.03, 0.06, n).tolist()
        no_estimate = (g.uniform(size=n) < 0.06).tolist()
        vrps = np.clip(prof.vrp_target * np.exp(g.normal(0.0, 0.15, n)), 0.7, 3.2).tolist()
        out: list[WorldEvent] = []
        for k in range(n):
            day = _weekday(k * QUARTER_WEEKDAYS + slot)
            if not cal.is_session(day):
                day = cal.next_session(day)
            actual = Timing.AMC if unconfirmed[k] else timing
            reaction = cal.reaction_session(day, actual)
            if reaction < PATH_START or reaction > self.days[-1]:
                continue
            drift = 1.0 + 0.015 * (day.year - 2026 + (day.month - 6) / 12.0)
            est = prof.eps_base * drift * (1.0 + est_noise[k])
            event = EarningsEvent(
                symbol=symbol,
                date=day,
                timing=actual,
                fiscal_date_ending=fiscal_quarter_end(day),
                eps_estimate=None if no_estimate[k] else round(est, 2),
                eps_reported=round(est + abs(est) * beat[k], 2),
                name=prof.listing.name,
            )
            listed = Timing.UNKNOWN if unconfirmed[k] else actual
            out.append(WorldEvent(event, listed, reaction, vrps[k]))
        return tuple(out)

    def path(self, symbol: str) -> DailyPath:
        """The daily OHLCV path of `symbol` over every session of the world."""
        found = self._paths.get(symbol)
        if found is None:
            prof = self.profile(symbol)
            reactions = [self.index[e.reaction] for e in self.events(symbol)]
            g = stable_rng(self.seed, symbol, "path")
            found = build_path(g, prof.listing.price, prof.base_vol, prof.typical_move,
                               prof.avg_volume, len(self.days), reactions)  # fmt: skip
            self._paths[symbol] = found
        return found


@functools.lru_cache(maxsize=8)
def world(seed: int, listings: tuple[Listing, ...], calendar: TradingCalendar) -> World:
    """The (cached) world of `seed` over `listings`: every market view of it shares its paths."""
    return World(seed, listings, calendar)
