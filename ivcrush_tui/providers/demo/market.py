"""The deterministic synthetic market behind demo mode (ARCHITECTURE "The built-in demo market").

Everything is a pure function of (as_of, seed, now): the same inputs give identical objects. Each
name draws its parameters from its own numpy Generator keyed by sha256(seed, symbol, purpose), so
adding a name or reading names in another order never changes the others.

Model, per name:
- bars: daily OHLCV over NYSE sessions up to the session before `as_of`; log returns split into
  an overnight gap and an intraday part, with an earnings jump on every past event's reaction
  session (most of it in the opening gap);
- options: weekly Friday expirations for ~8 weeks (holiday -> the session before) plus the next 3
  monthlies; implied total variance = smile(log-moneyness)^2 * T + V_E on expirations on/after
  the upcoming event's reaction session, V_E calibrated so that the ATM straddle prices
  `vrp_target` times the name's realised mean |close move| (METHODS §3, §5);
- prices from Black-Scholes-Merton at pricing time T = calendar time / 365, r = 4 %, q = 0.

Units: prices in dollars per share, vols as fractions per year, moves as fractions (0.05 = 5 %).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ivcrush_tui.analytics.bsm import bsm_greeks, bsm_price
from ivcrush_tui.calendar import UTC, TradingCalendar, default_calendar
from ivcrush_tui.domain import Bar, EarningsEvent, OptionType, Timing
from ivcrush_tui.providers.demo.universe import (
    NO_OPTIONS_SYMBOL,
    SHORT_HISTORY_SYMBOL,
    SINGLE_EXPIRATION_SYMBOL,
    THIN_SYMBOL,
    UNIVERSE,
    Listing,
)
from ivcrush_tui.symbols import occ_symbol, parse_occ

__all__ = [
    "RISK_FREE_RATE",
    "ContractGreeks",
    "ContractQuote",
    "DemoMarket",
    "Profile",
    "StockQuoteData",
    "stable_rng",
]

RISK_FREE_RATE = 0.04  # continuously compounded, per year
UPCOMING_SESSIONS = 30  # "the next ~6 weeks": upcoming events fall in this many sessions
DENSE_DAYS = 14  # the next two weeks: several BMO and AMC names on every session
NOT_UPCOMING = 6  # names that reported recently (next release beyond the window)
WEEKLY_COUNT = 8
MONTHLY_COUNT = 3
QUARTER_DAYS = 91
_MIN_T = 15.0 / (365.0 * 24.0 * 60.0)  # 15 minutes: keeps an expiring chain priceable
_FloatArray = npt.NDArray[np.float64]


def stable_rng(seed: int, *parts: object) -> np.random.Generator:
    """A Generator keyed by sha256 of (seed, parts): stable across runs (never Python's hash())."""
    text = "|".join([str(seed), *(str(p) for p in parts)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


_rng = stable_rng


def _ms(instant: dt.datetime) -> int:
    return round(instant.timestamp() * 1000.0)


@dataclass(frozen=True, slots=True)
class Profile:
    """Per-name model parameters (fractions per year for vols, fractions for moves)."""

    listing: Listing
    base_vol: float  # realised diffusive vol of the bars, 0.15-0.70
    typical_move: float  # centre of the earnings-day |move|, 0.02-0.12
    vrp_target: float  # implied move / historical mean |close move| at calibration
    iv_premium: float  # ATM diffusive IV / base_vol
    skew: float  # put skew slope per unit standardised log-moneyness
    curvature: float
    term_beta: float  # ATM vol term slope per ln(texp / 0.25)
    spread_rel: float  # option half-spread as a fraction of price (before widening)
    spread_abs: float  # option half-spread floor in dollars
    stock_half_spread: float  # dollars
    open_interest_scale: float
    avg_volume: int  # shares per day
    habitual_timing: Timing  # how past releases were timed (BMO or AMC)
    pe: float
    eps_base: float  # dollars per share per quarter (negative for loss-makers)


@dataclass(frozen=True, slots=True)
class StockQuoteData:
    """A stock quote with every field the Tradier wire needs (prices in dollars)."""

    symbol: str
    description: str
    exchange_code: str
    last: float
    change: float
    change_percentage: float
    volume: int
    open: float | None
    high: float | None
    low: float | None
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    prev_close: float
    average_volume: int
    last_volume: int
    trade_date_ms: int
    quote_date_ms: int
    week_52_high: float
    week_52_low: float
    root_symbol: str | None  # option root, None when no options are listed


@dataclass(frozen=True, slots=True)
class ContractGreeks:
    """Provider-style Greeks: delta per $1, gamma per $1 per $1, theta $/calendar day, vega and
    rho $/1 point, IVs as fractions per year, updated_at 'YYYY-MM-DD HH:MM:SS' (UTC)."""

    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    phi: float
    bid_iv: float
    mid_iv: float
    ask_iv: float
    smv_vol: float
    updated_at: str


@dataclass(frozen=True, slots=True)
class ContractQuote:
    """One option contract as quoted at `now` (dollars per share; epoch-ms dates, 0 = never)."""

    symbol: str
    underlying: str
    root_symbol: str
    expiration: dt.date
    expiration_type: str
    strike: float
    option_type: OptionType
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    last: float | None
    change: float | None
    change_percentage: float | None
    open: float | None
    high: float | None
    low: float | None
    prev_close: float | None
    volume: int
    last_volume: int
    open_interest: int
    trade_date_ms: int
    quote_date_ms: int
    greeks: ContractGreeks | None
    model_price: float
    model_iv: float


@dataclass(frozen=True, slots=True)
class _Schedule:
    next_event: EarningsEvent
    upcoming: bool


@dataclass(frozen=True, slots=True)
class _History:
    bars: tuple[Bar, ...]
    past_events: tuple[EarningsEvent, ...]  # oldest first
    hist_mean_abs_move: float | None  # over the last 12 events, fraction


class DemoMarket:
    """The synthetic market for exchange day `as_of` (seed defaults to a function of the date).

    Symbols are canonical with a dot for share classes (BRK.B); lookups also accept BRK/B, BRK-B.
    """

    def __init__(
        self,
        as_of: dt.date,
        seed: int | None = None,
        *,
        calendar: TradingCalendar | None = None,
    ) -> None:
        if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
            raise TypeError("as_of must be a datetime.date (exchange day)")
        self.as_of = as_of
        self.seed = int(as_of.strftime("%Y%m%d")) if seed is None else int(seed)
        self.calendar = calendar if calendar is not None else default_calendar()
        self._listings = {x.symbol: x for x in UNIVERSE}
        self._roots = {x.symbol.replace(".", ""): x.symbol for x in UNIVERSE}
        self._profiles: dict[str, Profile] = {}
        self._histories: dict[str, _History] = {}
        self._expirations: dict[str, tuple[dt.date, ...]] = {}
        self._event_var: dict[str, float] = {}
        self.first_session = as_of if self.calendar.is_session(as_of) else self._next(as_of)
        self.last_bar_day = self.calendar.previous_session(as_of)
        self._schedule = self._build_schedule()

    # -- universe ---------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Canonical symbols of the universe, in listing order."""
        return tuple(x.symbol for x in UNIVERSE)

    def normalize(self, symbol: str) -> str | None:
        """The canonical symbol for `symbol` (case, '/', '-' tolerated), or None if unknown."""
        canon = symbol.strip().upper().replace("/", ".").replace("-", ".")
        return canon if canon in self._listings else None

    def symbol_for_root(self, root: str) -> str | None:
        """The underlying of an option root (BRKB -> BRK.B), or None."""
        return self._roots.get(root.upper())

    def listing(self, symbol: str) -> Listing:
        return self._listings[symbol]

    def profile(self, symbol: str) -> Profile:
        """Model parameters of `symbol` (KeyError when unknown)."""
        found = self._profiles.get(symbol)
        if found is None:
            found = self._build_profile(self._listings[symbol])
            self._profiles[symbol] = found
        return found

    def _next(self, day: dt.date) -> dt.date:
        return self.calendar.next_session(day)

    def _build_profile(self, x: Listing) -> Profile:
        g = _rng(self.seed, x.symbol, "profile")
        base_vol = float(np.clip(x.vol * g.uniform(0.88, 1.12), 0.15, 0.70))
        move = float(np.clip(base_vol * g.uniform(0.13, 0.22), 0.02, 0.12))
        cheap = g.uniform() < 0.15
        vrp = float(g.uniform(0.75, 0.98) if cheap else g.uniform(1.1, 2.8))
        tier = x.tier
        rel_lo, rel_hi = {1: (0.004, 0.01), 2: (0.01, 0.025), 3: (0.025, 0.05)}.get(
            tier, (0.12, 0.2)
        )
        spread_abs = {1: 0.01, 2: 0.02, 3: 0.04}.get(tier, 0.08)
        oi_scale = {1: 20000.0, 2: 5000.0, 3: 1500.0}.get(tier, 40.0)
        vol_base = {1: 40e6, 2: 8e6, 3: 3e6}.get(tier, 0.8e6)
        if x.symbol == NO_OPTIONS_SYMBOL:
            vol_base = 4000.0
        stock_half = {1: 0.005, 2: 0.01, 3: 0.02}.get(tier, 0.015)
        if x.price > 10000:
            stock_half = round(x.price * 0.0002, 0)
        timing = Timing.BMO if g.uniform() < 0.45 else Timing.AMC
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

    # -- earnings schedule -------------------------------------------------------------------

    def _build_schedule(self) -> dict[str, _Schedule]:
        g = _rng(self.seed, self.as_of.isoformat(), "schedule")
        sessions = [self.first_session]
        while len(sessions) < UPCOMING_SESSIONS:
            sessions.append(self._next(sessions[-1]))
        # Dense block: every session from the first through as_of + 14 days (the next two weeks,
        # both ends inclusive) gets 2 BMO + 2 AMC + 1 extra name.
        horizon = self.as_of + dt.timedelta(days=DENSE_DAYS)
        n_dense = sum(1 for d in sessions if d <= horizon)
        extra_unknown = set(g.choice(n_dense, size=2, replace=False).tolist())
        dense: list[tuple[dt.date, Timing]] = []
        for i in range(n_dense):
            day = sessions[i]
            extra = Timing.UNKNOWN if i in extra_unknown else (Timing.BMO if i % 2 else Timing.AMC)
            dense += [(day, Timing.BMO), (day, Timing.BMO), (day, Timing.AMC), (day, Timing.AMC)]
            dense.append((day, extra))
        later: list[tuple[dt.date, Timing]] = []
        n_later = len(self.symbols) - len(dense) - NOT_UPCOMING
        for j in range(n_later):
            day = sessions[n_dense + (j * (UPCOMING_SESSIONS - n_dense)) // n_later]
            timing = Timing.UNKNOWN if j in (5, 16) else (Timing.BMO if j % 2 else Timing.AMC)
            later.append((day, timing))
        order = g.permutation(len(dense)).tolist()
        dense = [dense[i] for i in order]
        edge = [THIN_SYMBOL, SHORT_HISTORY_SYMBOL, NO_OPTIONS_SYMBOL, SINGLE_EXPIRATION_SYMBOL]
        others = [s for s in self.symbols if s not in edge]
        others = [others[i] for i in g.permutation(len(others)).tolist()]
        slots: list[tuple[dt.date, Timing] | None] = [*dense, *later]
        slots += [None] * (len(self.symbols) - len(slots))
        out: dict[str, _Schedule] = {}
        for sym, slot in zip([*edge, *others], slots, strict=True):
            out[sym] = self._schedule_for(sym, slot)
        return out

    def _schedule_for(self, sym: str, slot: tuple[dt.date, Timing] | None) -> _Schedule:
        g = _rng(self.seed, sym, self.as_of.isoformat(), "next")
        prof = self.profile(sym)
        if slot is None:
            # Reported recently: the next release is beyond the ~6-week window.
            day = self._snap(self.as_of + dt.timedelta(days=int(g.integers(50, 81))))
            timing = prof.habitual_timing
            upcoming = False
        else:
            day, timing = slot
            upcoming = True
        if timing in (Timing.BMO, Timing.AMC) and timing is not prof.habitual_timing:
            self._profiles[sym] = _replace_timing(prof, timing)
        estimate: float | None = round(prof.eps_base * (1 + g.normal(0.02, 0.05)), 2)
        if g.uniform() < 0.1:
            estimate = None
        event = EarningsEvent(
            symbol=sym,
            date=day,
            timing=timing,
            fiscal_date_ending=_fiscal_quarter_end(day),
            eps_estimate=estimate,
            name=self._listings[sym].name,
        )
        return _Schedule(event, upcoming)

    def _snap(self, day: dt.date) -> dt.date:
        return day if self.calendar.is_session(day) else self._next(day)

    def next_event(self, symbol: str) -> EarningsEvent:
        """The next release on or after `as_of` (upcoming, or beyond the ~6-week window)."""
        return self._schedule[symbol].next_event

    def upcoming_event(self, symbol: str) -> EarningsEvent | None:
        """The release within the next ~6 weeks (30 sessions from as_of), or None."""
        sched = self._schedule[symbol]
        return sched.next_event if sched.upcoming else None

    def reaction_session(self, event: EarningsEvent) -> dt.date:
        """The session that trades on `event` (UNKNOWN as AMC, METHODS §1)."""
        return self.calendar.reaction_session(event.date, event.timing)

    def calendar_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        """Releases with start <= date <= end (the next one, then quarterly projections)."""
        out: list[EarningsEvent] = []
        for sym in self.symbols:
            ev = self.next_event(sym)
            k = 0
            while True:
                day = self._snap(ev.date + dt.timedelta(days=QUARTER_DAYS * k)) if k else ev.date
                if day > end:
                    break
                if day >= start:
                    timing = ev.timing if k == 0 else self.profile(sym).habitual_timing
                    estimate = ev.eps_estimate if k == 0 else self._projected_eps(sym, k)
                    out.append(
                        EarningsEvent(sym, day, timing, _fiscal_quarter_end(day), estimate,
                                      name=ev.name)
                    )  # fmt: skip
                k += 1
        out.sort(key=lambda e: (e.date, e.symbol))
        return out

    def _projected_eps(self, sym: str, k: int) -> float:
        prof = self.profile(sym)
        return round(prof.eps_base * (1.0 + 0.02 * k), 2)

    # -- history -----------------------------------------------------------------------------

    def past_events(self, symbol: str) -> tuple[EarningsEvent, ...]:
        """Past releases (report date before as_of and reaction session on a bar), oldest first,
        with reported and estimated EPS (estimate None for a few old quarters)."""
        return self._history(symbol).past_events

    def bars(self, symbol: str) -> tuple[Bar, ...]:
        """Daily bars over sessions up to the session before as_of (oldest first)."""
        return self._history(symbol).bars

    def hist_mean_abs_move(self, symbol: str) -> float | None:
        """Mean |close move| (fraction) over the last 12 past events (METHODS §4), or None."""
        return self._history(symbol).hist_mean_abs_move

    def _history(self, symbol: str) -> _History:
        found = self._histories.get(symbol)
        if found is None:
            found = self._build_history(symbol)
            self._histories[symbol] = found
        return found

    def _past_dates(self, symbol: str) -> list[tuple[dt.date, Timing]]:
        g = _rng(self.seed, symbol, "past")
        prof = self.profile(symbol)
        n = 2 if symbol == SHORT_HISTORY_SYMBOL else int(g.integers(12, 15))
        anchor = self.next_event(symbol).date
        out: list[tuple[dt.date, Timing]] = []
        prev = anchor
        for k in range(1, n + 1):
            day = self._snap(anchor - dt.timedelta(days=QUARTER_DAYS * k + int(g.integers(-6, 7))))
            while (
                day >= prev - dt.timedelta(days=60)
                or self.calendar.reaction_session(day, prof.habitual_timing) > self.last_bar_day
            ):
                day = self._snap(day - dt.timedelta(days=7))
            out.append((day, prof.habitual_timing))
            prev = day
        out.reverse()
        return out

    def _build_history(self, symbol: str) -> _History:
        prof = self.profile(symbol)
        g = _rng(self.seed, symbol, "bars")
        past = self._past_dates(symbol)
        reactions = [self.calendar.reaction_session(d, t) for d, t in past]
        first_report = past[0][0]
        if symbol == SHORT_HISTORY_SYMBOL:
            start = first_report - dt.timedelta(days=60)
        else:
            start = min(first_report - dt.timedelta(days=45), self.as_of - dt.timedelta(days=1125))
        days = self.calendar.sessions_between(start, self.last_bar_day)
        n = len(days)
        sd = prof.base_vol / math.sqrt(252.0)
        gap = g.normal(0.0, sd * math.sqrt(0.25), n)
        intra = g.normal(0.0, sd * math.sqrt(0.75), n)
        wick_hi = np.abs(g.normal(0.0, sd * 0.45, n))
        wick_lo = np.abs(g.normal(0.0, sd * 0.45, n))
        vol_noise = np.exp(g.normal(0.0, 0.3, n))
        index = {d: i for i, d in enumerate(days)}
        jump_at: dict[int, float] = {}
        for reaction in reactions:
            i = index[reaction]
            size = prof.typical_move * math.exp(g.normal(-0.08, 0.4))
            sign = 1.0 if g.uniform() < 0.55 else -1.0
            jump = math.log1p(sign * min(size, 0.45))
            share = g.uniform(0.75, 1.0)  # the open moves most of the jump
            gap[i] += jump * share
            intra[i] += jump * (1.0 - share)
            wick_hi[i] *= 2.5
            wick_lo[i] *= 2.5
            vol_noise[i] *= g.uniform(3.0, 6.0)
            if i + 1 < n:
                vol_noise[i + 1] *= 1.8
            jump_at[i] = jump
        # Mild mean reversion of the log price towards the reference level keeps 3-4 years of
        # random walk at a realistic price; its daily pull is tiny next to any jump.
        # y = log close - target follows y_t = phi y_{t-1} + u_t with phi = 1 - kappa and
        # u = drift + gap + intra; closed form y_t = phi^t (y0 + sum_{s<=t} u_s phi^-s), which
        # stays well conditioned (phi^-n < e^5 over 4 years). The open is the previous close
        # plus the pull, the drift and the gap.
        kappa = 0.004
        phi = 1.0 - kappa
        target = math.log(prof.listing.price)
        drift = -0.5 * sd * sd
        y0 = float(g.normal(0.0, 0.12))
        shocks = drift + gap + intra
        powers = phi ** np.arange(1, n + 1, dtype=np.float64)
        y = powers * (y0 + np.cumsum(shocks / powers))
        y_prev = np.concatenate([[y0], y[:-1]])
        log_close = target + y
        log_open = target + phi * y_prev + drift + gap
        o_arr, c_arr = np.exp(log_open), np.exp(log_close)
        ro, rc = np.round(o_arr, 2), np.round(c_arr, 2)
        hi = np.maximum(np.round(np.maximum(o_arr, c_arr) * np.exp(wick_hi), 2), np.maximum(ro, rc))
        lo = np.minimum(
            np.round(np.minimum(o_arr, c_arr) * np.exp(-wick_lo), 2), np.minimum(ro, rc)
        )
        vols = np.floor(prof.avg_volume * vol_noise).astype(np.int64)
        bars = [
            Bar(day=d, open=a, high=b, low=c, close=e, volume=v)
            for d, a, b, c, e, v in zip(
                days, ro.tolist(), hi.tolist(), lo.tolist(), rc.tolist(), vols.tolist(), strict=True
            )
        ]
        events = self._past_events_with_eps(symbol, past)
        moves = []
        for reaction in reactions[-12:]:
            i = index[reaction]
            if i > 0:
                moves.append(abs(bars[i].close / bars[i - 1].close - 1.0))
        mean = float(np.mean(moves)) if moves else None
        return _History(tuple(bars), events, mean)

    def _past_events_with_eps(
        self, symbol: str, past: Sequence[tuple[dt.date, Timing]]
    ) -> tuple[EarningsEvent, ...]:
        g = _rng(self.seed, symbol, "eps")
        prof = self.profile(symbol)
        name = self._listings[symbol].name
        out: list[EarningsEvent] = []
        n = len(past)
        no_estimate_before = int(g.integers(0, 3)) if g.uniform() < 0.3 else 0
        for k, (day, timing) in enumerate(past):
            age = n - k  # quarters before now
            est = prof.eps_base * (1.0 - 0.015 * age) * (1 + g.normal(0.0, 0.04))
            rep = est + abs(est) * g.normal(0.03, 0.06)
            estimate = None if k < no_estimate_before else round(est, 2)
            out.append(
                EarningsEvent(symbol, day, timing, _fiscal_quarter_end(day), estimate,
                              round(rep, 2), name)
            )  # fmt: skip
        return tuple(out)

    # -- options: expirations, strikes, IVs ----------------------------------------------------

    def expirations(self, symbol: str) -> tuple[dt.date, ...]:
        """Listed expirations (ascending; empty when the name has no options)."""
        found = self._expirations.get(symbol)
        if found is None:
            found = self._build_expirations(symbol)
            self._expirations[symbol] = found
        return found

    def _build_expirations(self, symbol: str) -> tuple[dt.date, ...]:
        if symbol == NO_OPTIONS_SYMBOL:
            return ()
        cal = self.calendar
        friday = self.as_of + dt.timedelta(days=(4 - self.as_of.weekday()) % 7)
        weeklies = []
        for k in range(WEEKLY_COUNT + 1):
            exp = cal.listed_friday_expiration(friday + dt.timedelta(weeks=k))
            if exp >= self.as_of:
                weeklies.append(exp)
        weeklies = weeklies[:WEEKLY_COUNT]
        monthlies: list[dt.date] = []
        year, month = weeklies[-1].year, weeklies[-1].month
        while len(monthlies) < MONTHLY_COUNT:
            exp = cal.listed_friday_expiration(_third_friday(year, month))
            if exp > weeklies[-1]:
                monthlies.append(exp)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if symbol == THIN_SYMBOL:
            # Thin names list monthlies only.
            all_monthly = [e for e in weeklies if self._is_monthly(e)] + monthlies
            return tuple(sorted(set(all_monthly)))
        listed = tuple(sorted(set(weeklies + monthlies)))
        if symbol == SINGLE_EXPIRATION_SYMBOL:
            reaction = self.reaction_session(self.next_event(symbol))
            later = [e for e in listed if e >= reaction]
            return (later[0],) if later else listed[-1:]
        return listed

    def _is_monthly(self, exp: dt.date) -> bool:
        return exp == self.calendar.listed_friday_expiration(_third_friday(exp.year, exp.month))

    def expiration_type(self, exp: dt.date) -> str:
        """'standard' for the monthly (third-Friday) cycle, else 'weeklys' (Tradier spelling)."""
        return "standard" if self._is_monthly(exp) else "weeklys"

    def strikes(self, symbol: str, expiration: dt.date) -> tuple[float, ...]:
        """The strike grid of `expiration` (ascending dollars; empty when not listed)."""
        exps = self.expirations(symbol)
        if expiration not in exps:
            return ()
        tier = self.profile(symbol).listing.tier
        front = exps.index(expiration) < 4
        count = {1: (80, 50), 2: (40, 30), 3: (24, 20)}.get(tier, (12, 12))[0 if front else 1]
        spot = self.bars(symbol)[-1].close
        step = _strike_step(spot)
        centre = round(spot / step) * step
        half = count // 2
        grid = [centre + step * (i - half) for i in range(count)]
        return tuple(round(k, 2) for k in grid if k > 0)

    def atm_vol(self, symbol: str, texp: float) -> float:
        """Diffusive ATM implied vol (fraction per year) at pricing time texp (years)."""
        prof = self.profile(symbol)
        t = max(texp, 1.0 / 365.0)
        return prof.base_vol * prof.iv_premium * (1.0 + prof.term_beta * math.log(t / 0.25))

    def _smile(self, symbol: str, strikes: _FloatArray, spot: float, texp: float) -> _FloatArray:
        """Diffusive vol per strike: a put-skewed quadratic in standardised log-moneyness."""
        prof = self.profile(symbol)
        atm = self.atm_vol(symbol, texp)
        fwd = spot * math.exp(RISK_FREE_RATE * texp)
        x = np.log(strikes / fwd) / (atm * math.sqrt(max(texp, 1.0 / 365.0)))
        x = np.clip(x, -4.0, 4.0)
        factor = 1.0 - prof.skew * x + prof.curvature * x * x
        return atm * np.clip(factor, 0.6, 3.0)

    def event_variance(self, symbol: str) -> float:
        """V_E: the earnings variance bump (total variance, dimensionless) added to every
        expiration on/after the next event's reaction session; 0.0 without options or history."""
        found = self._event_var.get(symbol)
        if found is None:
            found = self._calibrate_event_variance(symbol)
            self._event_var[symbol] = found
        return found

    def _calibrate_event_variance(self, symbol: str) -> float:
        exps = self.expirations(symbol)
        hist = self.hist_mean_abs_move(symbol)
        ev = self.next_event(symbol)
        event_exp = self.calendar.event_expiration(exps, ev.date, ev.timing)
        if event_exp is None or hist is None:
            return 0.0
        prof = self.profile(symbol)
        spot = self.bars(symbol)[-1].close
        # Calibrate at the first session's entry window (its open when the event expiration is
        # that very day), so the VRP seen at entry on as_of is close to the target.
        sess = self.calendar.session(self.first_session)
        window = self.calendar.entry_window(self.first_session)
        assert sess is not None
        assert window is not None
        ref = sess.open if event_exp <= self.first_session else window[0]
        texp = max(self.calendar.pricing_time_years(ref, event_exp), _MIN_T)
        target = prof.vrp_target * hist
        diff_vol = float(self._smile(symbol, np.array([spot]), spot, texp)[0])
        # The ATM straddle is monotone in vol: bracket the target on a log grid, three times.
        lo, hi = 0.01, 20.0
        calls = np.array([True, False])
        for _ in range(3):
            grid = np.geomspace(lo, hi, 64)
            px = bsm_price(spot, spot, texp, grid[:, None], calls[None, :], RISK_FREE_RATE)
            moves = px.sum(axis=1) / spot
            i = int(np.searchsorted(moves, target))
            lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i, len(grid) - 1)])
        total_var = lo * lo * texp
        floor = (0.8 * prof.typical_move) ** 2  # the bump stays visible even for far events
        cap = (3.0 * prof.typical_move) ** 2
        return float(min(max(total_var - diff_vol * diff_vol * texp, floor), cap))

    def event_passed(self, symbol: str, now: dt.datetime) -> bool:
        """True once the market has traded on the next event (its reaction session opened)."""
        reaction = self.reaction_session(self.next_event(symbol))
        sess = self.calendar.session(reaction)
        return sess is not None and now >= sess.open

    def implied_vols(
        self, symbol: str, expiration: dt.date, strikes: _FloatArray, spot: float, texp: float
    ) -> _FloatArray:
        """Implied vols per strike (fractions per year): smile plus the event bump if due."""
        diff = self._smile(symbol, strikes, spot, texp)
        reaction = self.reaction_session(self.next_event(symbol))
        bump = self.event_variance(symbol) if expiration >= reaction else 0.0
        return np.sqrt(diff * diff + bump / texp)

    # -- intraday spot and quotes ------------------------------------------------------------

    def _session_fraction(self, now: dt.datetime) -> float | None:
        """Elapsed fraction of as_of's session at `now` in [0, 1]; None before the open or on a
        closed as_of."""
        sess = self.calendar.session(self.as_of)
        if sess is None or now < sess.open:
            return None
        span = (sess.close - sess.open).total_seconds()
        return min(1.0, (now - sess.open).total_seconds() / span)

    def _intraday_log(self, symbol: str, tau: float) -> float:
        g = _rng(self.seed, symbol, self.as_of.isoformat(), "intraday")
        z = [float(v) for v in g.normal(0.0, 1.0, 6)]
        sd = self.profile(symbol).base_vol / math.sqrt(252.0)
        path = 0.35 * z[0] + 0.5 * z[5] * tau
        for k in range(1, 5):
            path += 0.45 * z[k] * math.sin(k * math.pi * tau) / k
        return sd * path

    def _today_jump(self, symbol: str) -> float:
        g = _rng(self.seed, symbol, self.as_of.isoformat(), "today-jump")
        prof = self.profile(symbol)
        size = prof.typical_move * math.exp(g.normal(-0.08, 0.4))
        return math.log1p((1.0 if g.uniform() < 0.55 else -1.0) * min(size, 0.45))

    def spot(self, symbol: str, now: dt.datetime) -> float:
        """Last trade price at `now` (dollars, cents), flat at the previous close outside as_of's
        session and moving along a smooth deterministic path during it."""
        prev = self.bars(symbol)[-1].close
        tau = self._session_fraction(now)
        if tau is None:
            return prev
        return _cents(prev * math.exp(self._log_move(symbol, tau, now)))

    def _log_move(self, symbol: str, tau: float, now: dt.datetime) -> float:
        move = self._intraday_log(symbol, tau)
        if self.event_passed(symbol, now):
            move += self._today_jump(symbol)
        return move

    def stock_quote(self, symbol: str, now: dt.datetime) -> StockQuoteData:
        """The stock quote at `now` (aware)."""
        prof = self.profile(symbol)
        bars = self.bars(symbol)
        prev = bars[-1].close
        tau = self._session_fraction(now)
        g = _rng(self.seed, symbol, self.as_of.isoformat(), "quote")
        year = bars[-252:]
        hi52 = max(b.high for b in year)
        lo52 = min(b.low for b in year)
        sess = self.calendar.session(self.as_of)
        last_sess = self.calendar.session(self.last_bar_day)
        assert last_sess is not None
        if tau is None or sess is None:
            last, o, h, lo, volume = prev, None, None, None, 0
            trade_ms = _ms(last_sess.close)
        else:
            taus = np.linspace(0.0, tau, 41)
            path = [prev * math.exp(self._log_move(symbol, float(t), now)) for t in taus]
            last = _cents(path[-1])
            o, h, lo = _cents(path[0]), _cents(max(path)), _cents(min(path))
            h, lo = max(h, last), min(lo, last)
            volume = int(prof.avg_volume * tau * g.uniform(0.8, 1.2))
            trade_ms = _ms(min(now, sess.close))
        quote_ms = max(trade_ms, _ms(min(now, sess.close))) if sess is not None else trade_ms
        half = prof.stock_half_spread
        bid, ask = _cents(last - half), _cents(last + half)
        if ask <= bid:
            ask = _cents(bid + 0.01)
        change = _cents(last - prev)
        return StockQuoteData(
            symbol=symbol,
            description=prof.listing.name,
            exchange_code="Q" if prof.listing.exchange == "NASDAQ" else "N",
            last=last,
            change=change,
            change_percentage=round(100.0 * (last / prev - 1.0), 2),
            volume=volume,
            open=o,
            high=h,
            low=lo,
            bid=bid,
            ask=ask,
            bid_size=int(g.integers(1, 30)),
            ask_size=int(g.integers(1, 30)),
            prev_close=prev,
            average_volume=prof.avg_volume,
            last_volume=int(g.integers(1, 50) * 100),
            trade_date_ms=trade_ms,
            quote_date_ms=quote_ms,
            week_52_high=hi52,
            week_52_low=lo52,
            root_symbol=symbol.replace(".", "") if self.expirations(symbol) else None,
        )

    # -- option chains -----------------------------------------------------------------------

    def chain(
        self,
        symbol: str,
        expiration: dt.date,
        now: dt.datetime,
        only_strikes_milli: Collection[int] | None = None,
    ) -> tuple[ContractQuote, ...]:
        """Every contract of `expiration` (calls and puts by ascending strike) at `now`; empty
        when the expiration is not listed. `only_strikes_milli` (strikes in thousandths of a
        dollar, as in OCC symbols) keeps only those strikes' contracts, priced exactly as in the
        whole chain (every array and random draw is still made for the whole chain)."""
        strikes_t = self.strikes(symbol, expiration)
        if not strikes_t:
            return ()
        prof = self.profile(symbol)
        thin = prof.listing.tier >= 4
        spot = self.spot(symbol, now)
        texp = max(self.calendar.pricing_time_years(now, expiration), _MIN_T)
        strikes = np.array(strikes_t, dtype=np.float64)
        n = len(strikes)
        iv = self.implied_vols(symbol, expiration, strikes, spot, texp)
        if self.event_passed(symbol, now):
            iv = self._smile(symbol, strikes, spot, texp)  # crushed: the bump is gone
        k2 = np.concatenate([strikes, strikes])
        iv2 = np.concatenate([iv, iv])
        is_call = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
        price = bsm_price(spot, k2, texp, iv2, is_call, RISK_FREE_RATE)
        greeks = bsm_greeks(spot, k2, texp, iv2, is_call, RISK_FREE_RATE)
        intrinsic = np.where(is_call, np.maximum(spot - k2, 0.0), np.maximum(k2 - spot, 0.0))
        price = np.where(np.isfinite(price), price, intrinsic)
        atm = self.atm_vol(symbol, texp)
        x = np.log(k2 / spot) / (atm * math.sqrt(texp))
        otm = np.where(is_call, x > 0, x < 0)
        widen = 1.0 + 0.8 * np.minimum(np.abs(x), 3.0) * np.where(otm, 1.0, 0.5)
        half = prof.spread_abs + prof.spread_rel * price * widen
        if prof.listing.tier == 1:
            tick = np.full_like(price, 0.01)
        else:
            tick = np.where(price < 3.0, 0.01, 0.05)
        bid = np.floor((price - half) / tick + 1e-9) * tick
        ask = np.ceil((price + half) / tick - 1e-9) * tick
        min_bid = 0.0 if thin else 0.01
        bid = np.maximum(bid, min_bid)
        ask = np.maximum(ask, bid + tick)

        g = _rng(self.seed, symbol, expiration.isoformat(), self.as_of.isoformat(), "chain")
        exps = self.expirations(symbol)
        idx = exps.index(expiration)
        exp_factor = (1.3 if self._is_monthly(expiration) else 1.0) / (1.0 + 0.15 * idx)
        oi = prof.open_interest_scale * exp_factor * np.exp(-0.5 * (x / 1.3) ** 2)
        oi = np.floor(oi * np.exp(g.normal(0.0, 0.4, 2 * n))).astype(np.int64)
        p_traded = np.clip(0.98 * np.exp(-0.5 * (x / 2.0) ** 2), 0.02, 0.98)
        if thin:
            p_traded *= 0.5
        traded = g.uniform(size=2 * n) < p_traded
        last_noise = g.uniform(-1.0, 1.0, 2 * n)
        prev_noise = np.exp(g.normal(0.0, 0.08, 2 * n))
        vol_frac = g.uniform(0.02, 0.3, 2 * n)
        trade_frac = g.uniform(0.0, 1.0, 2 * n)
        sizes = g.integers(1, 200 if prof.listing.tier <= 2 else 40, (2, 2 * n))
        # Far wings of the thin name have no ORATS coverage: greeks null on the wire.
        no_greeks = (np.abs(x) > 1.5) if thin else np.zeros(2 * n, dtype=bool)

        tau = self._session_fraction(now)
        traded_today = tau is not None
        sess = self.calendar.session(self.as_of if traded_today else self.last_bar_day)
        assert sess is not None
        t_end = min(now, sess.close)
        quote_ms = _ms(t_end)
        span_s = max((t_end - sess.open).total_seconds(), 1.0)
        updated = _greeks_stamp(t_end)
        root = symbol.replace(".", "")
        tradier_sym = symbol.replace(".", "/")
        etype = self.expiration_type(expiration)
        open_ms = _ms(sess.open)
        # Vectorised per-contract fields, then plain lists for the (cheap) object loop.
        bid_r, ask_r = np.round(bid, 2), np.round(ask, 2)
        mid = 0.5 * (bid_r + ask_r)
        finite = np.ones(2 * n, dtype=bool)
        for arr in (greeks.delta, greeks.gamma, greeks.theta, greeks.vega, greeks.rho):
            finite &= np.isfinite(arr)
        has_greeks = (finite & ~no_greeks).tolist()
        vega_unit = np.maximum(np.nan_to_num(greeks.vega) * 100.0, 1e-9)  # $ per 1.00 of vol
        bid_iv = np.round(np.maximum(0.0, iv2 - (mid - bid_r) / vega_unit), 6).tolist()
        ask_iv = np.round(iv2 + (ask_r - mid) / vega_unit, 6).tolist()
        g_delta, g_gamma = greeks.delta.tolist(), greeks.gamma.tolist()
        g_theta, g_vega, g_rho = greeks.theta.tolist(), greeks.vega.tolist(), greeks.rho.tolist()
        last_a = np.maximum(0.01, np.round(mid + last_noise * (ask_r - mid), 2))
        prev_a = np.maximum(0.01, np.round(last_a * prev_noise, 2))
        change_a = np.round(last_a - prev_a, 2).tolist()
        change_pct_a = np.round(100.0 * (last_a / prev_a - 1.0), 2).tolist()
        volume_a = np.maximum(1, np.floor(oi * vol_frac)).astype(np.int64).tolist()
        trade_ms_a = (open_ms + np.floor(span_s * 1000.0 * trade_frac)).astype(np.int64).tolist()
        last_l, prev_l = last_a.tolist(), prev_a.tolist()
        bid_l, ask_l, iv_l = bid_r.tolist(), ask_r.tolist(), iv2.tolist()
        k_l, price_l, oi_l = k2.tolist(), price.tolist(), oi.tolist()
        traded_l, call_l = traded.tolist(), is_call.tolist()
        bsize_l, asize_l = sizes[0].tolist(), sizes[1].tolist()
        out: list[ContractQuote] = []
        for j in range(2 * n):
            if only_strikes_milli is not None and round(k_l[j] * 1000) not in only_strikes_milli:
                continue  # building the objects is most of a chain's cost
            kind = OptionType.CALL if call_l[j] else OptionType.PUT
            gr: ContractGreeks | None = None
            if has_greeks[j]:
                gr = ContractGreeks(
                    delta=_sig(g_delta[j]),
                    gamma=_sig(g_gamma[j]),
                    theta=_sig(g_theta[j]),
                    vega=_sig(g_vega[j]),
                    rho=_sig(g_rho[j]),
                    phi=_sig(-g_delta[j] * spot * texp / 100.0),
                    bid_iv=bid_iv[j],
                    mid_iv=round(iv_l[j], 6),
                    ask_iv=ask_iv[j],
                    smv_vol=round(iv_l[j], 3),
                    updated_at=updated,
                )
            if traded_l[j]:
                last_opt: float | None = last_l[j]
                prev_opt: float | None = prev_l[j]
                change: float | None = change_a[j]
                change_pct: float | None = change_pct_a[j]
                volume = volume_a[j] if traded_today else 0
                trade_ms = trade_ms_a[j]
                o = prev_l[j] if traded_today else None
                hi = max(prev_l[j], last_l[j]) if traded_today else None
                lo = min(prev_l[j], last_l[j]) if traded_today else None
            else:
                last_opt = change = change_pct = prev_opt = None
                o = hi = lo = None
                volume = 0
                trade_ms = 0
            out.append(
                ContractQuote(
                    symbol=occ_symbol(root, expiration, kind, k_l[j]),
                    underlying=tradier_sym,
                    root_symbol=root,
                    expiration=expiration,
                    expiration_type=etype,
                    strike=k_l[j],
                    option_type=kind,
                    bid=bid_l[j],
                    ask=ask_l[j],
                    bid_size=bsize_l[j],
                    ask_size=asize_l[j],
                    last=last_opt,
                    change=change,
                    change_percentage=change_pct,
                    open=o,
                    high=hi,
                    low=lo,
                    prev_close=prev_opt,
                    volume=volume,
                    last_volume=min(volume, bsize_l[j]) if volume else 0,
                    open_interest=oi_l[j],
                    trade_date_ms=trade_ms,
                    quote_date_ms=quote_ms,
                    greeks=gr,
                    model_price=price_l[j],
                    model_iv=iv_l[j],
                )
            )
        # Tradier lists a chain by strike with the call and put of each strike together.
        out.sort(key=lambda c: (c.strike, c.option_type is OptionType.PUT))
        return tuple(out)

    def contract(self, occ: str, now: dt.datetime) -> ContractQuote | None:
        """The quote of one OCC option symbol at `now`, or None when it is not listed."""
        parsed = parse_occ(occ)
        if parsed is None:
            return None
        root, exp, _, _ = parsed
        sym = self.symbol_for_root(root)
        if sym is None:
            return None
        wanted = occ.strip().upper()
        for c in self.chain(sym, exp, now):
            if c.symbol == wanted:
                return c
        return None


def _replace_timing(prof: Profile, timing: Timing) -> Profile:
    return replace(prof, habitual_timing=timing)


def _cents(x: float) -> float:
    return round(x + 0.0, 2)


def _sig(x: float) -> float:
    """Round to 6 significant digits (provider style; keeps tiny Greeks non-zero)."""
    if x == 0.0 or not math.isfinite(x):
        return 0.0
    return float(f"{x:.6g}")


def _strike_step(spot: float) -> float:
    for limit, step in ((25.0, 0.5), (75.0, 1.0), (200.0, 2.5), (500.0, 5.0), (1000.0, 10.0)):
        if spot < limit:
            return step
    return 20.0


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _fiscal_quarter_end(report_day: dt.date) -> dt.date:
    """The calendar quarter end at least 8 days before the report date."""
    cutoff = report_day - dt.timedelta(days=8)
    year, month = cutoff.year, cutoff.month
    q_month = ((month - 1) // 3) * 3  # month before this quarter starts (0 = December before)
    if q_month == 0:
        return dt.date(year - 1, 12, 31)
    return dt.date(year, q_month + 1, 1) - dt.timedelta(days=1)


def _greeks_stamp(at: dt.datetime) -> str:
    """ORATS-style refresh stamp: the top of the hour at/before `at`, minus a minute (UTC)."""
    top = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return (top - dt.timedelta(seconds=57)).strftime("%Y-%m-%d %H:%M:%S")
