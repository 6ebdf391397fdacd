"""The demo market: the seeded demo world (world.py) as seen on one exchange day.

`DemoMarket(as_of)` is a view: the world itself (names, earnings schedule, daily paths) does not
depend on `as_of`, so a day's bars, events and chains are the same whenever they are asked for
(ARCHITECTURE "The built-in demo market"). Seen from `as_of`:
- bars: the world's daily bars over ~3.3 years of sessions up to the session before `as_of`;
- past events: the releases whose reaction session is on those bars (reported EPS shown);
- next event: the first release whose reaction session is `as_of` or later;
- spot at an instant of `as_of`'s session: a seeded bridge from the day's open to its close
  (inside the day's high and low), the previous close before the open, the close after it;
- options: expirations and strikes listed on `as_of`, the event bump on expirations on/after
  the next event's reaction session (crushed once that session opens), options.py.

Units: prices in dollars per share, vols as fractions per year, moves as fractions (0.05 = 5 %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ivcrush_tui.calendar import TradingCalendar, default_calendar, ny_date
from ivcrush_tui.domain import Bar, EarningsEvent
from ivcrush_tui.providers.demo import options
from ivcrush_tui.providers.demo.chains import ContractGreeks, ContractQuote, ms, price_chain
from ivcrush_tui.providers.demo.options import MIN_T, RISK_FREE_RATE
from ivcrush_tui.providers.demo.quotes import StockQuoteData, intraday_prices
from ivcrush_tui.providers.demo.universe import SHORT_HISTORY_SYMBOL, UNIVERSE, Listing
from ivcrush_tui.providers.demo.world import (
    PATH_START,
    WORLD_END,
    WORLD_SEED,
    Profile,
    World,
    WorldEvent,
    stable_rng,
    world,
)
from ivcrush_tui.symbols import parse_occ

__all__ = [
    "RISK_FREE_RATE",
    "ContractGreeks",
    "ContractQuote",
    "DemoMarket",
    "Profile",
    "StockQuoteData",
    "stable_rng",
]

UPCOMING_SESSIONS = 30  # "the next ~6 weeks": upcoming events fall in this many sessions
BARS_DAYS = 1200  # calendar days of daily bars served (at least 12 past quarters)
SHORT_HISTORY_EVENTS = 2  # the recent IPO shows at least its last two releases
# ... and its whole history from its listing: 60 days before its first release in H2 2026.
SHORT_HISTORY_FIRST_REPORT = dt.date(2026, 7, 1)
_FloatArray = npt.NDArray[np.float64]
# Views must leave a full bar window behind them and a year of calendar ahead of them.
FIRST_DAY = PATH_START + dt.timedelta(days=BARS_DAYS + 10)
LAST_DAY = WORLD_END - dt.timedelta(days=370)


@dataclass(frozen=True, slots=True)
class _History:
    bars: tuple[Bar, ...]
    past_events: tuple[EarningsEvent, ...]  # oldest first
    hist_mean_abs_move: float | None  # over the last 12 events, fraction


class DemoMarket:
    """The demo world (seed WORLD_SEED unless given) seen on exchange day `as_of`.

    Symbols are canonical with a dot for share classes (BRK.B); lookups also accept BRK/B, BRK-B.
    `as_of` must lie in [FIRST_DAY, LAST_DAY] (2023-04-26 through 2029-12-26).
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
        if not FIRST_DAY <= as_of <= LAST_DAY:
            raise ValueError(f"the demo world spans {FIRST_DAY} to {LAST_DAY}, not {as_of}")
        self.as_of = as_of
        self.seed = WORLD_SEED if seed is None else int(seed)
        self.calendar = calendar if calendar is not None else default_calendar()
        # UNIVERSE is read from this module at construction (the scan benchmark extends it).
        self.world: World = world(self.seed, UNIVERSE, self.calendar)
        self._roots = {s.replace(".", ""): s for s in self.world.listings}
        self._histories: dict[str, _History] = {}
        self._expirations: dict[str, tuple[dt.date, ...]] = {}
        self._views: dict[dt.date, DemoMarket] = {}
        cal = self.calendar
        self.first_session = as_of if cal.is_session(as_of) else cal.next_session(as_of)
        self.last_bar_day = cal.previous_session(as_of)
        horizon = self.first_session
        for _ in range(UPCOMING_SESSIONS - 1):
            horizon = cal.next_session(horizon)
        self._upcoming_until = horizon

    # -- universe ---------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Canonical symbols of the universe, in listing order."""
        return tuple(self.world.listings)

    def normalize(self, symbol: str) -> str | None:
        """The canonical symbol for `symbol` (case, '/', '-' tolerated), or None if unknown."""
        canon = symbol.strip().upper().replace("/", ".").replace("-", ".")
        return canon if canon in self.world.listings else None

    def symbol_for_root(self, root: str) -> str | None:
        """The underlying of an option root (BRKB -> BRK.B), or None."""
        return self._roots.get(root.upper())

    def listing(self, symbol: str) -> Listing:
        return self.world.listings[symbol]

    def profile(self, symbol: str) -> Profile:
        """Model parameters of `symbol` (KeyError when unknown)."""
        return self.world.profile(symbol)

    def view(self, day: dt.date) -> DemoMarket:
        """The same world seen on exchange day `day` (self for as_of; the last two cached)."""
        if day == self.as_of:
            return self
        found = self._views.get(day)
        if found is None:
            found = DemoMarket(day, self.seed, calendar=self.calendar)
            if len(self._views) >= 2:
                self._views.pop(min(self._views))
            self._views[day] = found
        return found

    # -- earnings ------------------------------------------------------------------------------

    def _next_world_event(self, symbol: str) -> tuple[int, WorldEvent]:
        k = self.world.first_event_reacting_on_or_after(symbol, self.as_of)
        return k, self.world.events(symbol)[k]

    def next_event(self, symbol: str) -> EarningsEvent:
        """The next release: the first whose reaction session is as_of or later (a release after
        yesterday's close is still next today), as listed on as_of (no reported EPS yet)."""
        return _as_listed(self._next_world_event(symbol)[1], self.as_of)

    def upcoming_event(self, symbol: str) -> EarningsEvent | None:
        """The next release if it is dated within the next 30 sessions, else None."""
        ev = self.next_event(symbol)
        return ev if ev.date <= self._upcoming_until else None

    def reaction_session(self, event: EarningsEvent) -> dt.date:
        """The session that trades on `event` (UNKNOWN as AMC, METHODS §1)."""
        return self.calendar.reaction_session(event.date, event.timing)

    def calendar_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        """Releases with start <= date <= end as listed on as_of (sorted by date, symbol)."""
        out: list[EarningsEvent] = []
        for sym in self.symbols:
            for we in self.world.events(sym):
                if start <= we.event.date <= end:
                    out.append(_as_listed(we, self.as_of))
        out.sort(key=lambda e: (e.date, e.symbol))
        return out

    # -- history -----------------------------------------------------------------------------

    def past_events(self, symbol: str) -> tuple[EarningsEvent, ...]:
        """Past releases (reaction session on a served bar), oldest first, with reported and
        estimated EPS (estimate None for a few quarters)."""
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

    def _build_history(self, symbol: str) -> _History:
        w = self.world
        last = w.index[self.last_bar_day]
        k_next = w.first_event_reacting_on_or_after(symbol, self.as_of)
        events = w.events(symbol)
        if symbol == SHORT_HISTORY_SYMBOL:
            # The recent IPO: history from its listing day (fixed, so the same whatever the day);
            # on days before two releases followed the listing, the two latest ones (the edge
            # case then slides with the day: a known limit before its second release).
            listed = next(
                e.event.date for e in events if e.event.date >= SHORT_HISTORY_FIRST_REPORT
            )
            recent = events[max(k_next - SHORT_HISTORY_EVENTS, 0) : k_next]
            start_day = min(listed, recent[0].event.date) - dt.timedelta(days=60)
            past = tuple(e for e in events[:k_next] if e.reaction > start_day)
        else:
            start_day = self.as_of - dt.timedelta(days=BARS_DAYS)
            past = tuple(e for e in events[:k_next] if e.reaction > start_day)
        first = w.index[self.calendar.next_session(start_day - dt.timedelta(days=1))]
        path = w.path(symbol)
        rows = zip(
            w.days[first : last + 1],
            path.open[first : last + 1].tolist(),
            path.high[first : last + 1].tolist(),
            path.low[first : last + 1].tolist(),
            path.close[first : last + 1].tolist(),
            path.volume[first : last + 1].tolist(),
            strict=True,
        )
        bars = tuple(Bar(d, o, h, lo, c, v) for d, o, h, lo, c, v in rows)
        moves = []
        for we in past[-12:]:
            i = w.index[we.reaction]
            moves.append(abs(float(path.close[i]) / float(path.close[i - 1]) - 1.0))
        mean = float(np.mean(moves)) if moves else None
        return _History(bars, tuple(e.event for e in past), mean)

    # -- options: expirations, strikes, IVs ----------------------------------------------------

    def expirations(self, symbol: str) -> tuple[dt.date, ...]:
        """Listed expirations (ascending; empty when the name has no options)."""
        found = self._expirations.get(symbol)
        if found is None:
            reaction = self._next_world_event(symbol)[1].reaction
            found = options.listed_expirations(self.calendar, self.as_of, symbol, reaction)
            self._expirations[symbol] = found
        return found

    def expiration_type(self, exp: dt.date) -> str:
        """'standard' for the monthly (third-Friday) cycle, else 'weeklys' (Tradier spelling)."""
        return "standard" if options.is_monthly(self.calendar, exp) else "weeklys"

    def strikes(self, symbol: str, expiration: dt.date) -> tuple[float, ...]:
        """The strike grid of `expiration` (ascending dollars; empty when not listed)."""
        exps = self.expirations(symbol)
        if expiration not in exps:
            return ()
        front = exps.index(expiration) < 4
        spot = self.bars(symbol)[-1].close
        return options.strike_grid(self.profile(symbol).listing.tier, front, spot)

    def atm_vol(self, symbol: str, texp: float) -> float:
        """Diffusive ATM implied vol (fraction per year) at pricing time texp (years)."""
        return options.atm_vol(self.profile(symbol), texp)

    def _smile(self, symbol: str, strikes: _FloatArray, spot: float, texp: float) -> _FloatArray:
        return options.smile(self.profile(symbol), strikes, spot, texp)

    def event_variance(self, symbol: str) -> float:
        """V_E: the next event's variance bump (total variance, dimensionless) on every
        expiration on/after its reaction session; 0.0 without options or history. A property of
        the event, calibrated at its entry window, so every day before the release sees it."""
        k, we = self._next_world_event(symbol)
        key = (symbol, k)
        found = self.world.event_variances.get(key)
        if found is None:
            found = self._calibrate_event_variance(symbol, we)
            self.world.event_variances[key] = found
        return found

    def _calibrate_event_variance(self, symbol: str, we: WorldEvent) -> float:
        cal = self.calendar
        ev = we.event
        entry = cal.entry_date(ev.date, ev.timing)
        # At the ends of the world's span, the nearest day it can be seen from (still only a
        # function of the release, so every day calibrates it alike).
        seen = self.view(min(max(entry, FIRST_DAY), LAST_DAY))
        exps = seen.expirations(symbol)
        hist = seen.hist_mean_abs_move(symbol)
        event_exp = cal.event_expiration(exps, ev.date, ev.timing)
        if event_exp is None or hist is None:
            return 0.0
        window = cal.entry_window(entry)
        assert window is not None
        texp = max(cal.pricing_time_years(window[0], event_exp), MIN_T)
        spot = seen.bars(symbol)[-1].close
        return options.calibrate_event_variance(
            self.profile(symbol), spot, texp, hist, we.vrp_target
        )

    def event_passed(self, symbol: str, now: dt.datetime) -> bool:
        """True once the market has traded on the next event (its reaction session opened)."""
        sess = self.calendar.session(self._next_world_event(symbol)[1].reaction)
        return sess is not None and now >= sess.open

    def implied_vols(
        self, symbol: str, expiration: dt.date, strikes: _FloatArray, spot: float, texp: float
    ) -> _FloatArray:
        """Implied vols per strike (fractions per year): smile plus the event bump if due."""
        diff = self._smile(symbol, strikes, spot, texp)
        reaction = self._next_world_event(symbol)[1].reaction
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

    def _intraday(self, symbol: str, taus: _FloatArray) -> _FloatArray:
        """Prices (dollars) at session fractions `taus` of as_of (quotes.intraday_prices)."""
        path = self.world.path(symbol)
        i = self.world.index[self.as_of]
        g = stable_rng(self.seed, symbol, self.as_of.isoformat(), "intraday")
        bar = (float(path.open[i]), float(path.high[i]), float(path.low[i]), float(path.close[i]))
        return intraday_prices(bar, self.profile(symbol).base_vol, g, taus)

    def spot(self, symbol: str, now: dt.datetime) -> float:
        """Last trade price at `now` (dollars, cents): the previous close before as_of's open,
        then along the day's intraday path, the day's close after the close. An instant of
        another day is answered by that day's view: prices depend on the instant only."""
        if ny_date(now) != self.as_of:
            return self.view(ny_date(now)).spot(symbol, now)
        prev = self.bars(symbol)[-1].close
        tau = self._session_fraction(now)
        if tau is None:
            return prev
        return _cents(float(self._intraday(symbol, np.array([tau]))[0]))

    def stock_quote(self, symbol: str, now: dt.datetime) -> StockQuoteData:
        """The stock quote at `now` (aware), from the view of now's New York day."""
        if ny_date(now) != self.as_of:
            return self.view(ny_date(now)).stock_quote(symbol, now)
        prof = self.profile(symbol)
        bars = self.bars(symbol)
        prev = bars[-1].close
        tau = self._session_fraction(now)
        g = stable_rng(self.seed, symbol, self.as_of.isoformat(), "quote")
        year = bars[-252:]
        hi52 = max(b.high for b in year)
        lo52 = min(b.low for b in year)
        sess = self.calendar.session(self.as_of)
        last_sess = self.calendar.session(self.last_bar_day)
        assert last_sess is not None
        bid_size, ask_size = int(g.integers(1, 30)), int(g.integers(1, 30))
        last_volume = int(g.integers(1, 50) * 100)
        if tau is None or sess is None:
            last, o, h, lo, volume = prev, None, None, None, 0
            trade_ms = ms(last_sess.close)
        else:
            path = self._intraday(symbol, np.linspace(0.0, tau, 41)).tolist()
            last = _cents(path[-1])
            o, h, lo = _cents(path[0]), _cents(max(path)), _cents(min(path))
            h, lo = max(h, last), min(lo, last)
            day_volume = int(self.world.path(symbol).volume[self.world.index[self.as_of]])
            volume = int(day_volume * tau)
            trade_ms = ms(min(now, sess.close))
        quote_ms = max(trade_ms, ms(min(now, sess.close))) if sess is not None else trade_ms
        half = prof.stock_half_spread
        bid, ask = _cents(last - half), _cents(last + half)
        if ask <= bid:
            ask = _cents(bid + 0.01)
        return StockQuoteData(
            symbol=symbol,
            description=prof.listing.name,
            exchange_code="Q" if prof.listing.exchange == "NASDAQ" else "N",
            last=last,
            change=_cents(last - prev),
            change_percentage=round(100.0 * (last / prev - 1.0), 2),
            volume=volume,
            open=o,
            high=h,
            low=lo,
            bid=bid,
            ask=ask,
            bid_size=bid_size,
            ask_size=ask_size,
            prev_close=prev,
            average_volume=prof.avg_volume,
            last_volume=last_volume,
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
        whole chain (every array and random draw is still made for the whole chain). An instant
        of another day is answered by that day's view (what is listed then, priced then)."""
        if ny_date(now) != self.as_of:
            return self.view(ny_date(now)).chain(symbol, expiration, now, only_strikes_milli)
        strikes_t = self.strikes(symbol, expiration)
        if not strikes_t:
            return ()
        spot = self.spot(symbol, now)
        texp = max(self.calendar.pricing_time_years(now, expiration), MIN_T)
        strikes = np.array(strikes_t, dtype=np.float64)
        if self.event_passed(symbol, now):
            iv = self._smile(symbol, strikes, spot, texp)  # crushed: the bump is gone
        else:
            iv = self.implied_vols(symbol, expiration, strikes, spot, texp)
        traded_today = self._session_fraction(now) is not None
        sess = self.calendar.session(self.as_of if traded_today else self.last_bar_day)
        assert sess is not None
        return price_chain(
            prof=self.profile(symbol),
            expiration=expiration,
            etype=self.expiration_type(expiration),
            exp_index=self.expirations(symbol).index(expiration),
            monthly=options.is_monthly(self.calendar, expiration),
            strikes=strikes,
            spot=spot,
            texp=texp,
            iv=iv,
            atm=self.atm_vol(symbol, texp),
            g=stable_rng(
                self.seed, symbol, expiration.isoformat(), self.as_of.isoformat(), "chain"
            ),
            sess=sess,
            now=now,
            traded_today=traded_today,
            only_strikes_milli=only_strikes_milli,
        )

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


def _as_listed(we: WorldEvent, as_of: dt.date) -> EarningsEvent:
    """The release as a calendar shows it on as_of: no reported EPS until it is past, and an
    unconfirmed time shown as UNKNOWN until the report date."""
    ev = we.event
    timing = we.listed_timing if ev.date >= as_of else ev.timing
    return EarningsEvent(ev.symbol, ev.date, timing, ev.fiscal_date_ending, ev.eps_estimate,
                         None, ev.name)  # fmt: skip


def _cents(x: float) -> float:
    return round(x + 0.0, 2)
