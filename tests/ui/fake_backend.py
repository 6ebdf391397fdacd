"""A deterministic, in-memory `Backend` for UI tests and snapshots.

Analyses are built by hand from the analytics dataclasses (no engine, no network, no wall clock): a
frozen clock (Monday 2026-11-23 14:30 ET, half an hour before the entry window, Thanksgiving week),
an in-memory watchlist and prefs held in a `FakeStore` that two app instances may share (restart
tests), optional per-symbol delays, gates and failures, and an outage switch that turns every
further result into an error Analysis with code "circuit_open".
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from ivcrush_tui.alerts.center import AlertCenter
from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.analytics.analysis import Analysis, ErrorInfo, EventSchedule, Status
from ivcrush_tui.analytics.consistency import ConsistencyStats, TrrLevel
from ivcrush_tui.analytics.event_move import EventMove
from ivcrush_tui.analytics.greeks import StraddleGreeks
from ivcrush_tui.analytics.history import EarningsMove, HistoryResult
from ivcrush_tui.analytics.implied_move import ImpliedMove, StraddleQuote
from ivcrush_tui.analytics.liquidity import LegLiquidity, LiquidityTier, StraddleLiquidity
from ivcrush_tui.analytics.recommendation import Action, Recommendation
from ivcrush_tui.analytics.skew import SkewFit, SkewShape
from ivcrush_tui.analytics.term import TermPoint, TermStructure
from ivcrush_tui.analytics.vrp import Tier, TierBasis, VrpResult
from ivcrush_tui.app.backend import ProviderBadge, StatusSnapshot
from ivcrush_tui.app.results_model import ResultsData, build_results
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.config import AlertSettings
from ivcrush_tui.domain import EarningsEvent, OptionQuote, OptionType, Timing, Unavailable
from ivcrush_tui.engine.health_model import (
    ComponentHealth,
    HealthReport,
    HealthStatus,
    LastError,
    OperationStats,
)
from tests.ui.fake_ledger import FakeLedger

# Monday 2026-11-23 14:30 ET (EST, UTC-5): 30 minutes before the entry window opens.
FIXED_NOW = dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)
DEFAULT_WATCHLIST = ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN")


@dataclass(frozen=True, slots=True)
class Script:
    """The hand-written facts of one ticker; `build_analysis` turns them into an Analysis."""

    symbol: str
    name: str
    spot: float
    event_day: dt.date
    timing: Timing
    implied_pct: float  # expected |move| to the event expiration, percent
    closes: tuple[float, ...]  # signed close moves of past events, percent, most recent first
    gaps: tuple[float, ...]  # signed gaps, percent, same order
    liquidity: LiquidityTier = LiquidityTier.GOOD
    shape: SkewShape = SkewShape.SMIRK
    action: Action = Action.SELL
    reasons: tuple[str, ...] = ()
    inferred: tuple[int, ...] = ()  # indexes of past events whose timing was inferred
    # No term-structure decomposition: tiered on the straddle VRP (shown with a trailing "*").
    # Otherwise the horizon-matched move is taken equal to implied_pct, so the ratio is the same.
    straddle_basis: bool = False


@dataclass
class FakeStore:
    """What survives an app restart: the watchlist and the UI prefs."""

    watchlist: list[str] = field(default_factory=lambda: list(DEFAULT_WATCHLIST))
    prefs: dict[str, str] = field(default_factory=dict)


def _tier(ratio: float) -> Tier:
    if ratio >= 2.0:
        return Tier.EXCELLENT
    if ratio >= 1.5:
        return Tier.GOOD
    if ratio >= 1.2:
        return Tier.MARGINAL
    return Tier.SKIP


def _leg(symbol: str, exp: dt.date, strike: float, kind: OptionType, mid: float) -> OptionQuote:
    half = round(max(0.05, mid * 0.03), 2)
    return OptionQuote(
        symbol=f"{symbol}{exp:%y%m%d}{kind.value[0].upper()}{int(strike * 1000):08d}",
        underlying=symbol,
        expiration=exp,
        strike=strike,
        option_type=kind,
        bid=round(mid - half, 2),
        ask=round(mid + half, 2),
        volume=1200,
        open_interest=3400,
        mid_iv=0.62,
    )


def build_analysis(s: Script, now: dt.datetime, cal: TradingCalendar) -> Analysis:
    """A complete, internally consistent Analysis for `s` (numbers rounded by hand)."""
    reaction = cal.reaction_session(s.event_day, s.timing)
    entry = cal.entry_date(s.event_day, s.timing)
    expiration = reaction + dt.timedelta(days=(4 - reaction.weekday()) % 7)  # that week's Friday
    expiration = cal.listed_friday_expiration(expiration)
    sched = EventSchedule(
        event=EarningsEvent(s.symbol, s.event_day, s.timing, name=s.name),
        entry_date=entry,
        reaction_date=reaction,
        expiration=expiration,
        timing_flagged=s.timing is Timing.UNKNOWN,
    )
    step = 5.0 if s.spot > 100 else 1.0
    strike = round(s.spot / step) * step
    straddle = round(s.spot * s.implied_pct / 100.0, 2)
    call_mid = round(straddle / 2 + (s.spot - strike) / 2, 2)
    put_mid = round(straddle - call_mid, 2)
    call = _leg(s.symbol, expiration, strike, OptionType.CALL, call_mid)
    put = _leg(s.symbol, expiration, strike, OptionType.PUT, put_mid)
    atm = StraddleQuote(strike, call, put, call_mid, put_mid, round(call_mid + put_mid, 2))
    sd1 = 1.2533 * straddle
    implied = ImpliedMove(
        spot=s.spot,
        straddle=straddle,
        implied_move_pct=s.implied_pct,
        move_1sd_pct=round(s.implied_pct * 1.2533, 4),
        bounds_1sd=(round(s.spot - sd1, 2), round(s.spot + sd1, 2)),
        bounds_2sd=(round(s.spot - 2 * sd1, 2), round(s.spot + 2 * sd1, 2)),
        atm=atm,
        breakevens=(round(strike - atm.straddle, 2), round(strike + atm.straddle, 2)),
        extrapolated=False,
        note=None,
        bracket=(strike - step, strike + step),
    )
    moves = []
    for i, (c, g) in enumerate(zip(s.closes, s.gaps, strict=True)):
        day = s.event_day - dt.timedelta(days=91 * (i + 1))
        while not cal.is_session(day):
            day -= dt.timedelta(days=1)
        moves.append(
            EarningsMove(
                event=EarningsEvent(s.symbol, day, s.timing),
                timing_used=Timing.AMC if s.timing is Timing.UNKNOWN else s.timing,
                timing_inferred=i in s.inferred,
                ref_day=cal.previous_session(day),
                reaction_day=day,
                ref_close=s.spot,
                gap=g / 100.0,
                close=c / 100.0,
                range=abs(c) / 100.0 + 0.01,
                max_excursion=(abs(c) + 0.5) / 100.0 * (1 if c >= 0 else -1),
                volume_ratio=2.5,
            )
        )
    history = HistoryResult(moves=tuple(moves), skipped=())
    n = len(moves)
    abs_c = [abs(c) for c in s.closes]
    abs_g = [abs(g) for g in s.gaps]
    mean_c = sum(abs_c) / n
    mean_g = sum(abs_g) / n
    ratio = s.implied_pct / mean_c
    cost = 0.45 if s.liquidity is LiquidityTier.EXCELLENT else 0.9
    vrp = VrpResult(
        n_events=n,
        hist_mean_abs_move_pct=round(mean_c, 4),
        hist_mean_abs_gap_pct=round(mean_g, 4),
        vrp_ratio=round(ratio, 4),
        vrp_gap_ratio=round(s.implied_pct / mean_g, 4),
        tier=_tier(ratio),
        cost_pct=cost,
        net_vrp=round((s.implied_pct - cost) / mean_c, 4),
        interval=(round(ratio * 0.8, 4), round(ratio * 1.25, 4)),
        reaction_implied_move_pct=None if s.straddle_basis else s.implied_pct,
        vrp_reaction_ratio=None if s.straddle_basis else round(ratio, 4),
        tier_basis=TierBasis.STRADDLE if s.straddle_basis else TierBasis.REACTION,
        reaction_note="event move: no second expiration" if s.straddle_basis else None,
    )
    sorted_abs = sorted(abs_c)
    median = sorted_abs[n // 2] if n % 2 else (sorted_abs[n // 2 - 1] + sorted_abs[n // 2]) / 2
    trr = max(abs_c) / mean_c
    weights = [0.85**i for i in range(n)]
    cons = ConsistencyStats(
        recency_weighted_mean_pct=round(
            sum(w * a for w, a in zip(weights, abs_c, strict=True)) / sum(weights), 4
        ),
        median_abs_pct=round(median, 4),
        mad_pct=0.8,
        dispersion=round(0.8 / median, 4),
        edge_score=round(ratio / (1 + 0.8 / median), 4),
        trend_pp_per_qtr=-0.12,
        trend_rising=False,
        trr=round(trr, 4),
        trr_level=TrrLevel.HIGH if trr > 2.5 else TrrLevel.NORMAL if trr >= 1.5 else TrrLevel.LOW,
        p90_abs_pct=round(sorted_abs[-1] * 0.95, 4),
        p90_ratio=round(sorted_abs[-1] * 0.95 / s.implied_pct, 4),
        p90_elevated=sorted_abs[-1] * 0.95 / s.implied_pct > 1.15,
    )
    atm_iv = 0.62
    ks = [-0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2]
    curv = {SkewShape.SMIRK: 0.9, SkewShape.SMILE: 1.6, SkewShape.FROWN: -0.8}.get(s.shape, 0.5)
    slope = -0.35 if s.shape is not SkewShape.REVERSE else 0.3
    points = tuple((k, round(atm_iv + slope * k + curv / 2 * k * k, 5)) for k in ks)
    skew = SkewFit(
        atm_iv=atm_iv,
        slope=slope,
        curvature=curv,
        r_squared=0.97,
        rr25=round(slope * 0.16, 4),
        bf25=round(curv / 2 * 0.0064, 4),
        put_wing=0.05,
        call_wing=-0.01 if s.shape is SkewShape.SMIRK else 0.02,
        shape=s.shape,
        n_points=len(points),
        forward=s.spot,
        points=points,
        coefficients=(atm_iv, slope, curv / 2),
        k_put25=-0.08,
        k_call25=0.08,
    )
    term_points = tuple(
        TermPoint(expiration + dt.timedelta(days=7 * i), dte, iv)
        for i, (dte, iv) in enumerate(((4.1, 0.62), (11.1, 0.41), (18.1, 0.36), (46.1, 0.31)))
    )
    term = TermStructure(
        points=term_points,
        ts_slope_0_45=-0.74,  # vol points per day
        iv30=0.34,
        front_iv=0.62,
        back_iv=0.41,
        front_back_ratio=1.5122,
        event_premium=True,
    )
    leg_liq = LegLiquidity(spread_pct=6.0, open_interest=3400, volume=1200, tier=s.liquidity)
    liquidity = StraddleLiquidity(call=leg_liq, put=leg_liq, tier=s.liquidity)
    greeks = StraddleGreeks(
        strike=strike, delta=0.04, gamma=0.031, vega=0.21, theta=-0.55, rho=0.01
    )
    reasons = s.reasons or (f"VRP {ratio:.2f} ({_tier(ratio).value})",)
    insufficient = n < 4
    return Analysis(
        symbol=s.symbol,
        as_of=now,
        status=Status.INSUFFICIENT_HISTORY if insufficient else Status.OK,
        spot=s.spot,
        schedule=sched,
        implied=implied,
        event_move=EventMove(
            event_variance=0.0016,
            event_sd_pct=4.0,
            expected_abs_move_pct=3.19,
            diffusive_vol=0.33,
            method="two_expiry",
        ),
        history=history,
        vrp=vrp,
        consistency=cons,
        skew=skew,
        term=term,
        rv30=0.28,
        iv_rv=round(0.34 / 0.28, 4),
        liquidity=liquidity,
        greeks=greeks,
        call_iv=0.63,
        put_iv=0.61,
        recommendation=Recommendation(
            Action.SKIP if insufficient else s.action,
            (f"insufficient history: {n} events (need 4)",) if insufficient else reasons,
        ),
        notes=("some past event timings were inferred from the gaps",) if s.inferred else (),
    )


def error_analysis(
    symbol: str, now: dt.datetime, code: str, message: str, correlation_id: str | None = None
) -> Analysis:
    return Analysis(
        symbol=symbol,
        as_of=now,
        status=Status.ERROR,
        error=ErrorInfo(code, message, correlation_id),
        recommendation=Recommendation(Action.SKIP, (message,)),
    )


D = dt.date
SCRIPTS: dict[str, Script] = {
    s.symbol: s
    for s in (
        Script(
            "AAPL",
            "Apple Inc",
            190.12,
            D(2026, 11, 24),
            Timing.AMC,
            4.40,
            (2.1, -1.8, 2.6, -1.5, 2.4, 1.9, -2.2, 1.6),
            (1.8, -2.0, 2.2, -1.1, 2.0, 1.5, -1.9, 1.2),
            liquidity=LiquidityTier.EXCELLENT,
            reasons=("VRP 2.19 (excellent)", "liquidity excellent", "8 events"),
        ),
        Script(
            "MSFT",
            "Microsoft Corp",
            415.30,
            D(2026, 11, 25),
            Timing.BMO,
            5.00,
            (4.2, -3.1, 3.9, 4.6, -3.3, 3.8),
            (3.9, -2.8, 3.1, 4.0, -3.0, 3.5),
            action=Action.WATCH,
            reasons=("VRP 1.31 (marginal, straddle basis)",),
            straddle_basis=True,
        ),
        Script(
            "NVDA",
            "NVIDIA Corp",
            142.80,
            D(2026, 11, 23),
            Timing.AMC,
            7.80,
            (4.5, -3.9, 5.2, 3.6, -4.1, 3.4, 4.0, -3.3),
            (4.9, -3.5, 5.6, 3.1, -4.4, 3.0, 3.6, -2.9),
            shape=SkewShape.SMILE,
            inferred=(5,),
            reasons=("VRP 1.95 (good)", "liquidity good", "8 events"),
        ),
        Script(
            "TSLA",
            "Tesla Inc",
            245.55,
            D(2026, 11, 24),
            Timing.BMO,
            8.00,
            (12.1, -9.3, 4.0, -22.0, 6.1, 7.5),
            (10.0, -8.0, 3.1, -19.5, 5.5, 6.0),
            liquidity=LiquidityTier.WARNING,
            shape=SkewShape.FROWN,
            action=Action.SKIP,
            reasons=("VRP 0.79 (skip): premium too thin", "tail risk high: TRR 2.41"),
        ),
        Script(
            "AMZN",
            "Amazon.com Inc",
            201.45,
            D(2026, 11, 30),
            Timing.AMC,
            6.10,
            (5.0, -4.2, 3.1),
            (4.4, -3.8, 2.9),
        ),
        Script(
            "META",
            "Meta Platforms",
            560.10,
            D(2026, 11, 25),
            Timing.AMC,
            6.60,
            (4.4, -3.0, 3.8, 2.9, -3.5, 3.1),
            (4.0, -2.7, 3.3, 2.5, -3.1, 2.8),
            shape=SkewShape.REVERSE,
        ),
        Script(
            "GOOGL",
            "Alphabet Inc",
            168.25,
            D(2026, 11, 24),
            Timing.BMO,
            5.60,
            (3.0, -2.2, 2.5, 2.8, -2.0, 2.6),
            (2.7, -2.0, 2.1, 2.4, -1.8, 2.2),
        ),
        Script(
            "NFLX",
            "Netflix Inc",
            690.00,
            D(2026, 12, 1),
            Timing.AMC,
            13.00,
            (8.0, -9.1, 7.2, 10.4, -6.5, 7.7),
            (7.5, -8.8, 6.9, 9.9, -6.0, 7.0),
            action=Action.WATCH,
        ),
        Script(
            "KO",
            "Coca-Cola Co",
            61.20,
            D(2026, 11, 25),
            Timing.DMH,
            2.10,
            (1.0, -0.8, 1.1, 0.9, -1.2, 0.7),
            (0.9, -0.7, 1.0, 0.8, -1.0, 0.6),
            liquidity=LiquidityTier.EXCELLENT,
        ),
    )
}
# Names the "provider" knows but that have no upcoming event script (analysed as no_event).
EXTRA_KNOWN = frozenset({"BRK.B", "SPY"})


class FakeBackend:
    """Deterministic `Backend` (see the module docstring). Attributes are public test knobs."""

    def __init__(
        self,
        store: FakeStore | None = None,
        *,
        now: dt.datetime = FIXED_NOW,
        demo: bool = True,
        delays: dict[str, float] | None = None,
        failures: dict[str, tuple[str, str]] | None = None,
        outage_after: int | None = None,
        scripts: dict[str, Script] | None = None,
        ledger: FakeLedger | None = None,
        alerts: AlertSettings | None = None,
    ) -> None:
        self.store = store if store is not None else FakeStore()
        self.calendar = TradingCalendar()
        self._now = now
        self._demo = demo
        self.delays = dict(delays or {})
        self.gates: dict[str, asyncio.Event] = {}  # a result waits until its gate is set
        self.failures = dict(failures or {})  # symbol -> (code, message)
        self.outage = False
        self.outage_after = outage_after  # results yielded in a scan before the outage starts
        self.scripts = dict(scripts if scripts is not None else SCRIPTS)
        self.ledger = ledger if ledger is not None else FakeLedger()
        self.results_calls = 0
        self.analysis_reads: list[int] = []  # decision_analysis calls, by snapshot id
        self.started = False
        self.stopped = False
        self.scan_calls: list[tuple[str, ...]] = []
        self.analyze_calls: list[str] = []
        self.health_calls = 0
        self.health_probes = 0  # calls with probe=True (asked for by the user)
        self.last_scan_at: dt.datetime | None = None
        self._errors: list[LastError] = []
        self._corr = 0
        # The market stream: None (no stream: the bar shows neither LIVE nor POLL), "LIVE" or
        # "POLL"; `push_live` hands a batch of re-priced analyses to the app.
        self.stream_mode: str | None = None
        self.streamed: frozenset[str] = frozenset()
        self._live: asyncio.Queue[tuple[Analysis, ...]] = asyncio.Queue()
        # The real alert rules over the results, de-duplicated in memory (no store).
        self.alert_center = AlertCenter(
            alerts or AlertSettings(),
            calendar=self.calendar,
            clock=self.now,
            record=self._record_alert,
            mode="demo" if demo else "live",
        )
        self.stored_alerts: list[Alert] = []

    async def _record_alert(self, alert: Alert) -> bool:
        if any(a.key == alert.key for a in self.stored_alerts):
            return False
        self.stored_alerts.append(alert)
        return True

    def subscribe_alerts(self, listener: Callable[[Alert], None]) -> None:
        self.alert_center.subscribe(listener)

    async def _observed(self, analysis: Analysis) -> Analysis:
        self.alert_center.set_watchlist(self.store.watchlist)
        await self.alert_center.observe(analysis)
        return analysis

    # -- clock and lifecycle -----------------------------------------------------------------

    @property
    def demo(self) -> bool:
        return self._demo

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now = self._now + dt.timedelta(seconds=seconds)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    # -- analyses ------------------------------------------------------------------------------

    def _next_corr(self) -> str:
        self._corr += 1
        return f"c0ffee{self._corr:04d}"

    def _result(self, symbol: str) -> Analysis:
        if self.outage:
            corr = self._next_corr()
            msg = "tradier circuit breaker open (5 consecutive failures)"
            self._errors.append(LastError("circuit_open", msg, corr, self._now))
            return error_analysis(symbol, self._now, "circuit_open", msg, corr)
        if symbol in self.failures:
            code, msg = self.failures[symbol]
            corr = self._next_corr()
            self._errors.append(LastError(code, f"{symbol}: {msg}", corr, self._now))
            return error_analysis(symbol, self._now, code, msg, corr)
        script = self.scripts.get(symbol)
        if script is None:
            return Analysis(
                symbol=symbol,
                as_of=self._now,
                status=Status.NO_EVENT,
                error=ErrorInfo("no_event", "no upcoming earnings date known"),
                spot=100.0,
                implied=Unavailable("no upcoming earnings date known"),
                recommendation=Recommendation(Action.SKIP, ("no upcoming earnings date known",)),
            )
        return build_analysis(script, self._now, self.calendar)

    async def _wait(self, symbol: str) -> None:
        gate = self.gates.get(symbol)
        if gate is not None:
            await gate.wait()
        delay = self.delays.get(symbol, 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)  # always yield once, as real I/O would

    async def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
        syms = tuple(symbols)
        self.scan_calls.append(syms)
        index = {s: i for i, s in reversed(list(enumerate(syms)))}
        # A completion queue, not asyncio.wait over the pending set: that re-registers a callback
        # on every pending task per result (O(n^2): ~0.5 ms a result with 500 names), a cost of
        # this fake that the console benchmark would otherwise charge to the console.
        finished: asyncio.Queue[str] = asyncio.Queue()

        async def run(symbol: str) -> None:
            await self._wait(symbol)
            finished.put_nowait(symbol)

        tasks = [asyncio.ensure_future(run(s)) for s in syms]
        yielded = 0
        try:
            while yielded < len(syms):
                batch = [await finished.get()]
                while not finished.empty():
                    batch.append(finished.get_nowait())
                # Deterministic order among results completing in the same loop turn.
                for symbol in sorted(batch, key=index.__getitem__):
                    if self.outage_after is not None and yielded >= self.outage_after:
                        self.outage = True
                    yielded += 1
                    yield await self._observed(self._result(symbol))
        finally:
            for t in tasks:
                t.cancel()
            self.last_scan_at = self._now

    async def analyze(self, symbol: str) -> Analysis:
        self.analyze_calls.append(symbol)
        await self._wait(symbol)
        return await self._observed(self._result(symbol))

    # -- watchlist and symbols -----------------------------------------------------------------

    async def watchlist(self) -> list[str]:
        return list(self.store.watchlist)

    async def add_to_watchlist(self, symbols: Sequence[str]) -> None:
        for s in symbols:
            if s not in self.store.watchlist:
                self.store.watchlist.append(s)

    async def remove_from_watchlist(self, symbols: Sequence[str]) -> None:
        drop = set(symbols)
        self.store.watchlist[:] = [s for s in self.store.watchlist if s not in drop]

    async def check_symbol(self, symbol: str) -> str | None:
        if symbol in self.scripts or symbol in EXTRA_KNOWN:
            return None
        return f"unknown symbol {symbol}: the provider has no quote for it"

    async def upcoming_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        return sorted(
            (
                EarningsEvent(s.symbol, s.event_day, s.timing, name=s.name)
                for s in self.scripts.values()
                if start <= s.event_day <= end
            ),
            key=lambda e: (e.date, e.symbol),
        )

    # -- health and status ---------------------------------------------------------------------

    async def health(self, *, probe: bool = False) -> HealthReport:
        self.health_calls += 1
        self.health_probes += probe
        last = self._errors[-1] if self._errors else None
        down = self.outage
        tradier = ComponentHealth(
            name="tradier",
            status=HealthStatus.DOWN if down else HealthStatus.HEALTHY,
            detail="circuit open after 5 failures" if down else "quotes and chains OK",
            latency_ms=None if down else 84.0,
            breaker="open" if down else "closed",
            seconds_to_half_open=27.0 if down else None,
            budget_left=112,
            budget_total=120,
            budget_resets_in_s=41.0,
            recent_latencies_ms=(80.0, 92.0, 75.0, 130.0, 88.0, 84.0, 95.0, 210.0, 90.0, 84.0),
            last_error=last,
            operations=(
                OperationStats("quotes", 42, 81.5, 140.2, 205.0),
                OperationStats("chains", 96, 120.3, 230.9, 310.4),
            ),
        )
        av = ComponentHealth(
            name="alphavantage",
            status=HealthStatus.HEALTHY,
            detail="earnings calendar fresh (cached 2h ago)",
            latency_ms=310.0,
            breaker="closed",
            budget_left=21,
            budget_total=25,
            budget_resets_in_s=34200.0,
            recent_latencies_ms=(300.0, 320.0, 290.0, 310.0),
            operations=(OperationStats("earnings", 4, 305.0, 320.0, 320.0),),
        )
        db = ComponentHealth(
            name="database",
            status=HealthStatus.HEALTHY,
            detail="WAL, schema v3, 2.1 MB",
            latency_ms=0.4,
            recent_latencies_ms=(0.3, 0.5, 0.4, 0.4),
        )
        cache = ComponentHealth(
            name="cache",
            status=HealthStatus.HEALTHY,
            detail="hit rate 87% (L1 412 / L2 96 / miss 76)",
            latency_ms=0.1,
        )
        return HealthReport(
            checked_at=self._now, demo=self._demo, components=(tradier, av, db, cache)
        )

    def status(self) -> StatusSnapshot:
        return StatusSnapshot(
            demo=self._demo,
            badges=(
                ProviderBadge("tradier", "open" if self.outage else "closed", not self.outage),
                ProviderBadge("alphavantage", "closed", True),
            ),
            av_quota_left=21,
            av_quota_total=25,
            tradier_budget_left=112,
            last_scan_at=self.last_scan_at,
            stream_mode=self.stream_mode,
            streamed=self.streamed,
            events_per_s=250.0 if self.stream_mode == "LIVE" else 0.0,
        )

    def push_live(self, *analyses: Analysis) -> None:
        """A batch of streamed re-prices, as the engine's live monitor would send it."""
        self._live.put_nowait(analyses)

    async def live_updates(self) -> AsyncIterator[tuple[Analysis, ...]]:
        while True:
            yield await self._live.get()

    # -- prefs -----------------------------------------------------------------------------------

    async def get_pref(self, key: str) -> str | None:
        return self.store.prefs.get(key)

    async def set_pref(self, key: str, value: str) -> None:
        self.store.prefs[key] = value

    # -- ledger ----------------------------------------------------------------------------------

    async def results(self) -> ResultsData:
        self.results_calls += 1
        led = self.ledger
        return build_results(list(led.rows), led.mode, led.skipped)

    async def decision_snapshot(self, snapshot_id: int) -> dict[str, object] | None:
        return self.ledger.payload(snapshot_id)

    async def decision_analysis(self, snapshot_id: int) -> Analysis | None:
        self.analysis_reads.append(snapshot_id)
        return self.ledger.analysis(snapshot_id)
