"""The ledger (METHODS §12): record decisions from the entry window, settle them once their
reaction session has closed.

- `record_if_in_window`: an `ok` analysis taken inside its own entry window (the window of its
  event's entry date) is stored on the intraday path (one row per symbol per minute) and becomes
  the decision of (symbol, entry date) when it is the latest so far.
- `settle_due(rt, now)`: every open decision whose reaction session has closed by `now` is settled
  from daily bars (at most one history request per symbol), made `void` when the stored events say
  its event did not happen on the recorded date, or left open with the reason. Safe to run from
  several processes at once: the store's guarded UPDATE settles a decision exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ivcrush_tui.analytics.outcomes import (
    EntryLegs,
    RealizedMoves,
    estimated_exit,
    is_hit,
    realized_moves,
    straddle_pnl,
    valid_legs,
)
from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import Bar, IvCrushError, Timing
from ivcrush_tui.store.repositories import (
    DecisionsRepo,
    LedgerDecision,
    LedgerRepo,
    LedgerSnapshot,
    PricesRepo,
    Settlement,
)
from ivcrush_tui.store.repositories.events import events_around

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.engine.runtime import Runtime

# The analysis modules (numpy) are imported by the functions that record an analysis: settling
# and `ledger --summary` need none of them.

log = logging.getLogger(__name__)

# An event of the same symbol this close to the recorded date, when the recorded one is gone,
# is the recorded event moved (METHODS-NOTES: void rules).
MOVED_EVENT_DAYS = 45


def in_entry_window(rt: Runtime, analysis: Analysis) -> bool:
    """True when the analysis was made inside an entry window (15:00-16:00 ET, or the last hour
    of a half day): such analyses are kept on the ledger's path."""
    day = rt.calendar.next_entry_window(analysis.as_of)
    return day[0] <= analysis.as_of < day[1]


def in_own_entry_window(rt: Runtime, analysis: Analysis) -> bool:
    """True when the analysis was made inside its event's entry window (the window of the entry
    date): only such an analysis can be a decision (METHODS §12)."""
    sched = analysis.schedule
    if sched is None:
        return False
    window = rt.calendar.entry_window(sched.entry_date)
    return window is not None and window[0] <= analysis.as_of < window[1]


def snapshot_of(analysis: Analysis, *, demo: bool) -> LedgerSnapshot:
    """The ledger row of an analysis (the full JSON object rides along as payload)."""
    from ivcrush_tui.analytics.implied_move import ImpliedMove
    from ivcrush_tui.analytics.vrp import VrpResult
    from ivcrush_tui.engine.schema import analysis_to_json

    im = analysis.implied if isinstance(analysis.implied, ImpliedMove) else None
    vr = analysis.vrp if isinstance(analysis.vrp, VrpResult) else None
    liq = analysis.liquidity
    sched = analysis.schedule
    return LedgerSnapshot(
        symbol=analysis.symbol,
        taken_at=analysis.as_of,
        earnings_date=sched.event.date if sched else None,
        expiration=sched.expiration if sched else None,
        spot=analysis.spot,
        straddle=im.atm.straddle if im else None,
        implied_move_pct=im.implied_move_pct if im else None,
        call_iv=analysis.call_iv,
        put_iv=analysis.put_iv,
        call_spread_pct=liq.call.spread_pct if liq else None,
        put_spread_pct=liq.put.spread_pct if liq else None,
        vrp_ratio=vr.vrp_ratio if vr else None,
        tier=analysis.tier.value if analysis.tier else None,
        recommendation=analysis.recommendation.action.value if analysis.recommendation else None,
        payload_json=json.dumps(analysis_to_json(analysis), allow_nan=False),
        mode="demo" if demo else "live",
    )


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def decision_of(analysis: Analysis, *, demo: bool) -> LedgerDecision | None:
    """The decision an in-window analysis makes (None without an event schedule)."""
    from ivcrush_tui.analytics.event_move import VarianceSplit
    from ivcrush_tui.analytics.implied_move import ImpliedMove
    from ivcrush_tui.analytics.vrp import VrpResult

    sched = analysis.schedule
    if sched is None:
        return None
    im = analysis.implied if isinstance(analysis.implied, ImpliedMove) else None
    vr = analysis.vrp if isinstance(analysis.vrp, VrpResult) else None
    split = analysis.variance_split if isinstance(analysis.variance_split, VarianceSplit) else None
    sigma_o = math.sqrt(split.ordinary_variance) if split and split.ordinary_variance > 0 else None
    atm = im.atm if im else None
    return LedgerDecision(
        symbol=analysis.symbol,
        entry_date=sched.entry_date,
        mode="demo" if demo else "live",
        decided_at=analysis.as_of,
        earnings_date=sched.event.date,
        timing=sched.event.timing.value,
        reaction_date=sched.reaction_date,
        expiration=sched.expiration,
        spot=_finite(analysis.spot),
        atm_strike=atm.strike if atm else None,
        call_bid=_finite(atm.call.bid) if atm else None,
        call_ask=_finite(atm.call.ask) if atm else None,
        put_bid=_finite(atm.put.bid) if atm else None,
        put_ask=_finite(atm.put.ask) if atm else None,
        implied_move_pct=im.implied_move_pct if im else None,
        reaction_implied_move_pct=_finite(vr.reaction_implied_move_pct) if vr else None,
        vrp_ratio=_finite(vr.vrp_ratio) if vr else None,
        vrp_reaction_ratio=_finite(vr.vrp_reaction_ratio) if vr else None,
        tier=analysis.tier.value if analysis.tier else None,
        tier_basis=vr.tier_basis.value if vr and vr.tier_basis else None,
        recommendation=analysis.recommendation.action.value if analysis.recommendation else None,
        ordinary_vol=_finite(sigma_o),
        back_iv=_finite(analysis.term.back_iv) if analysis.term else None,
    )


async def record_if_in_window(rt: Runtime, analysis: Analysis) -> int | None:
    """Store `analysis` on the ledger's path when it is ok and inside an entry window; inside its
    own event's entry window it also becomes the decision of its (symbol, entry date) when it is
    the latest. Returns the snapshot id (None when not stored)."""
    if not analysis.ok or not in_entry_window(rt, analysis):
        return None
    repo = LedgerRepo(rt.db)
    snap = snapshot_of(analysis, demo=rt.demo)
    decision = decision_of(analysis, demo=rt.demo) if in_own_entry_window(rt, analysis) else None
    if decision is None:
        return await repo.add(snap)
    return await repo.record(snap, decision)


async def decision_snapshot(rt: Runtime, snapshot_id: int | None) -> dict[str, object] | None:
    """The analysis object (docs/JSON.md) of a decision's snapshot (`LedgerDecision.snapshot_id`)
    as it was at decision time, for a drill-down; None when there is none or its payload is
    unreadable (logged once per call, never raised)."""
    if snapshot_id is None:
        return None
    text = await DecisionsRepo(rt.db).payload(snapshot_id)
    if text is None:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        log.warning("ledger: snapshot %d has an unreadable payload", snapshot_id)
        return None
    return obj


# -- settlement --------------------------------------------------------------------------------


@dataclass(slots=True)
class SettleReport:
    """What one settlement pass did."""

    due: int = 0  # open decisions whose reaction session had closed
    settled: int = 0  # settled by this pass
    voided: int = 0  # made void by this pass
    still_open: int = 0  # due but left open (reason stored on the decision)
    raced: int = 0  # settled by another process first
    history_requests: int = 0
    adopted: int = 0  # pre-v8 snapshots turned into decisions
    corrupt_payloads: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # "SYM entry_date" -> why still open


Progress = Callable[[int, int], None]


def _reaction_closed(rt: Runtime, d: LedgerDecision, now: dt.datetime) -> bool:
    sess = rt.calendar.session(d.reaction_date)
    if sess is None:
        close = dt.datetime.combine(d.reaction_date, dt.time(16, 0), NY).astimezone(dt.UTC)
    else:
        close = sess.close
    return now >= close


def _void_reason(d: LedgerDecision, events: tuple[object, ...]) -> str | None:
    """Why the decision's event did not happen as recorded, from the stored events (None when it
    did, or when they cannot say)."""
    from ivcrush_tui.domain import EarningsEvent

    evs = [e for e in events if isinstance(e, EarningsEvent)]
    same = [e for e in evs if e.date == d.earnings_date]
    if same:
        rec, got = d.timing, same[0].timing.value
        unknown = Timing.UNKNOWN.value
        if rec != got and unknown not in (rec, got):
            return f"timing changed: recorded {rec}, reported {got}"
        return None
    if evs:
        other = min(evs, key=lambda e: abs((e.date - d.earnings_date).days))
        return f"event moved from {d.earnings_date} to {other.date}"
    return f"event of {d.earnings_date} no longer listed (cancelled or moved)"


def _outcome(rt: Runtime, d: LedgerDecision, ref: Bar, react: Bar, now: dt.datetime) -> Settlement:
    moves = realized_moves(ref.close, react.open, react.close)
    legs = None
    if (
        d.atm_strike is not None
        and d.call_bid is not None
        and d.call_ask is not None
        and d.put_bid is not None
        and d.put_ask is not None
    ):
        legs = EntryLegs(d.atm_strike, d.call_bid, d.call_ask, d.put_bid, d.put_ask)
    exit_price = pnl = None
    reason = None
    if legs is not None and valid_legs(legs) and d.exit_ask_sum is not None:
        # The ATM legs' asks captured on the reaction morning: the real exit (§12).
        exit_price = d.exit_ask_sum
        return _settled(
            d,
            now,
            ref,
            react,
            moves,
            None,
            exit_price,
            straddle_pnl(legs.credit, exit_price),
            estimated=False,
        )
    if legs is not None and valid_legs(legs) and d.expiration is not None:
        sess = rt.calendar.session(d.reaction_date)
        at_open = sess.open if sess is not None else now
        r = rt.settings.analysis.risk_free_rate
        if d.ordinary_vol is not None:
            # σ_o is on the trading clock (§3): T in sessions / 252 from the reaction open.
            t = rt.calendar.trading_time_years(at_open, d.expiration)
            exit_price = estimated_exit(legs, react.open, t, d.ordinary_vol, r)
        elif d.back_iv is not None:
            t = rt.calendar.pricing_time_years(at_open, d.expiration)
            exit_price = estimated_exit(legs, react.open, t, d.back_iv, r)
        if exit_price is not None:
            pnl = straddle_pnl(legs.credit, exit_price)
        else:
            reason = "P&L n/a: no σ_o or back-month IV to price the exit"
    else:
        reason = "P&L n/a: entry legs not recorded or not priceable"
    return _settled(d, now, ref, react, moves, reason, exit_price, pnl, estimated=True)


def _settled(
    d: LedgerDecision,
    now: dt.datetime,
    ref: Bar,
    react: Bar,
    moves: RealizedMoves,
    reason: str | None,
    exit_price: float | None,
    pnl: float | None,
    *,
    estimated: bool,
) -> Settlement:
    return Settlement(
        status="settled",
        settled_at=now,
        reason=reason,
        ref_close=ref.close,
        reaction_open=react.open,
        reaction_close=react.close,
        realized_gap_pct=moves.gap_pct,
        realized_close_pct=moves.close_pct,
        hit=is_hit(moves.close_pct, d.implied_move_pct),
        hit_gap=is_hit(moves.gap_pct, d.implied_move_pct),
        hit_reaction=is_hit(moves.close_pct, d.reaction_implied_move_pct),
        exit_price=exit_price,
        pnl_per_contract=pnl,
        pnl_estimated=estimated if pnl is not None else None,
    )


async def adopt_legacy(rt: Runtime, report: SettleReport) -> None:
    """Turn snapshots stored before decisions existed (schema < 8) into decisions, once. A row
    whose payload is not valid JSON is skipped (one warning for all of them)."""
    repo = DecisionsRepo(rt.db)
    while True:
        batch = await repo.legacy()
        if not batch:
            break
        made: list[tuple[LedgerDecision, int]] = []
        for snap in batch:
            try:
                p = json.loads(snap.payload_json)
                if not isinstance(p, dict):
                    raise ValueError("not an object")
                entry = dt.date.fromisoformat(p["entry_date"])
                window = rt.calendar.entry_window(entry)
                if p.get("status") != "ok" or window is None:
                    continue
                if not window[0] <= snap.taken_at < window[1]:
                    continue
                made.append(
                    (
                        LedgerDecision(
                            symbol=snap.symbol,
                            entry_date=entry,
                            mode=snap.mode,
                            decided_at=snap.taken_at,
                            earnings_date=dt.date.fromisoformat(p["earnings_date"]),
                            timing=str(p["timing"]),
                            reaction_date=dt.date.fromisoformat(p["reaction_date"]),
                            expiration=dt.date.fromisoformat(p["expiration"])
                            if p.get("expiration")
                            else None,
                            spot=_num(p.get("spot")),
                            atm_strike=None,  # not in the payload: the P&L stays n/a
                            call_bid=None,
                            call_ask=None,
                            put_bid=None,
                            put_ask=None,
                            implied_move_pct=_num(p.get("implied_move_pct")),
                            reaction_implied_move_pct=_num(p.get("reaction_implied_move_pct")),
                            vrp_ratio=_num(p.get("vrp_ratio")),
                            vrp_reaction_ratio=_num(p.get("vrp_reaction_ratio")),
                            tier=p.get("tier"),
                            tier_basis=p.get("tier_basis"),
                            recommendation=p.get("recommendation"),
                            ordinary_vol=None,
                            back_iv=None,
                            proven=snap.proven,
                        ),
                        snap.id,
                    )
                )
            except (ValueError, KeyError, TypeError):
                report.corrupt_payloads += 1
        await repo.adopt([s.id for s in batch], made)
        report.adopted += len(made)
    if report.corrupt_payloads:
        log.warning(
            "ledger: %d stored snapshot%s with an unreadable payload skipped",
            report.corrupt_payloads,
            "" if report.corrupt_payloads == 1 else "s",
        )


def _num(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


async def settle_due(
    rt: Runtime, now: dt.datetime, progress: Progress | None = None
) -> SettleReport:
    """Settle every open decision whose reaction session has closed by `now` (METHODS §12).

    At most one history request per symbol, whatever the number of its due decisions; bars
    already stored are not requested again. Never raises for one decision's data: it stays open
    with the reason. `progress(done, total)` is called per symbol."""
    report = SettleReport()
    await adopt_legacy(rt, report)
    repo = DecisionsRepo(rt.db)
    today = now.astimezone(NY).date()
    due = [d for d in await repo.open_through(today) if _reaction_closed(rt, d, now)]
    report.due = len(due)
    by_symbol: dict[str, list[LedgerDecision]] = {}
    for d in due:
        by_symbol.setdefault(d.symbol, []).append(d)
    prices = PricesRepo(rt.db)
    total = len(by_symbol)
    for done, (symbol, decisions) in enumerate(sorted(by_symbol.items()), start=1):
        await _settle_symbol(rt, symbol, decisions, now, prices, repo, report)
        if progress is not None:
            progress(done, total)
    return report


async def _settle_symbol(
    rt: Runtime,
    symbol: str,
    decisions: list[LedgerDecision],
    now: dt.datetime,
    prices: PricesRepo,
    repo: DecisionsRepo,
    report: SettleReport,
) -> None:
    span = dt.timedelta(days=MOVED_EVENT_DAYS)
    first = min(d.earnings_date for d in decisions) - span
    last = max(d.earnings_date for d in decisions) + span
    events = await events_around(rt.db, symbol, first, last)
    live: list[LedgerDecision] = []
    for d in decisions:
        why = _void_reason(d, events)
        if why is None:
            live.append(d)
            continue
        assert d.id is not None
        if await repo.settle(d.id, Settlement(status="void", settled_at=now, reason=why)):
            report.voided += 1
        else:
            report.raced += 1
    if not live:
        return
    start = min(d.entry_date for d in live)
    end = max(d.reaction_date for d in live)
    bars = {b.day: b for b in await prices.bars(symbol, start, end)}
    needed = {day for d in live for day in (d.entry_date, d.reaction_date)}
    fetch_error: str | None = None
    if not needed <= bars.keys():
        # The engine extends a symbol's stored bars from its last stored day on, so what is
        # stored here must continue that series: the request starts the day after the last
        # stored bar when that is earlier, and a symbol with no stored bars keeps these in
        # memory only (storing a lone window would hide the older history from the engine).
        stored_last = await prices.last_day(symbol)
        fetch_from = start
        if stored_last is not None and stored_last < start:
            fetch_from = stored_last + dt.timedelta(days=1)
        report.history_requests += 1
        try:
            fetched = await rt.tradier.daily_history(symbol, fetch_from, end)
        except IvCrushError as exc:
            fetched = ()
            fetch_error = f"history request failed: {exc.code}: {exc.message}"
        if fetched and stored_last is not None:
            await prices.upsert(symbol, fetched)
        if fetched:
            bars.update({b.day: b for b in fetched if start <= b.day <= end})
        elif fetch_error is None:
            fetch_error = "no daily bars from the provider (history null: delisted or renamed?)"
    for d in live:
        assert d.id is not None
        ref, react = bars.get(d.entry_date), bars.get(d.reaction_date)
        try:
            if ref is None or react is None:
                missing = d.entry_date if ref is None else d.reaction_date
                raise ValueError(fetch_error or f"bar_missing: no daily bar for {missing}")
            outcome = _outcome(rt, d, ref, react, now)
        except ValueError as exc:
            reason = str(exc)
            report.still_open += 1
            report.reasons[f"{d.symbol} {d.entry_date}"] = reason
            await repo.note_open(d.id, reason)
            continue
        if await repo.settle(d.id, outcome):
            report.settled += 1
        else:
            report.raced += 1


async def settle_in_background(rt: Runtime, now: dt.datetime) -> SettleReport | None:
    """`settle_due` for the callers that settle on the side (console start, `scan`, `serve`):
    a store or provider failure is logged, never raised (the next pass retries)."""
    try:
        report = await settle_due(rt, now)
    except IvCrushError as exc:
        log.warning("ledger settlement failed (retried on the next pass): %s", exc)
        return None
    if report.due:
        log.info(
            "ledger: settled %d, void %d, still open %d of %d due (%d history requests)",
            report.settled,
            report.voided,
            report.still_open,
            report.due,
            report.history_requests,
        )
    return report


# The exit capture window on the reaction session (METHODS §12), New York time.
EXIT_CAPTURE_START = dt.time(9, 35)
EXIT_CAPTURE_END = dt.time(10, 0)


def in_exit_capture_window(rt: Runtime, now: dt.datetime) -> bool:
    """True between 09:35 and 10:00 ET on a trading session."""
    local = now.astimezone(NY)
    return (
        rt.calendar.is_session(local.date())
        and EXIT_CAPTURE_START <= local.time() < EXIT_CAPTURE_END
    )


async def capture_exits(rt: Runtime, now: dt.datetime) -> int:
    """Quote the ATM legs of today's reacting open decisions (one batched quotes request) and keep
    the first valid ask sum of each as its real exit price; only between 09:35 and 10:00 ET.
    Returns the number captured. For the console and `serve` in live mode; never raises for the
    provider (logged, retried on the next call)."""
    from ivcrush_tui.domain import OptionType
    from ivcrush_tui.symbols import occ_symbol

    if not in_exit_capture_window(rt, now):
        return 0
    repo = DecisionsRepo(rt.db)
    waiting = await repo.awaiting_exit(now.astimezone(NY).date())
    legs: dict[int, tuple[str, str]] = {}
    for d in waiting:
        if d.id is None or d.expiration is None or d.atm_strike is None:
            continue
        try:
            call = occ_symbol(d.symbol, d.expiration, OptionType.CALL, d.atm_strike)
            put = occ_symbol(d.symbol, d.expiration, OptionType.PUT, d.atm_strike)
        except IvCrushError:
            continue
        legs[d.id] = (call, put)
    if not legs:
        return 0
    try:
        quotes = await rt.tradier.option_quotes([s for pair in legs.values() for s in pair])
    except IvCrushError as exc:
        log.warning("ledger: exit quotes unavailable (retried): %s", exc)
        return 0
    captured = 0
    for decision_id, (call, put) in legs.items():
        qc, qp = quotes.get(call), quotes.get(put)
        if qc is None or qp is None:
            continue
        if not (_valid_leg(qc.bid, qc.ask) and _valid_leg(qp.bid, qp.ask)):
            continue
        if await repo.record_exit(decision_id, (qc.ask or 0.0) + (qp.ask or 0.0), now):
            captured += 1
    return captured


def _valid_leg(bid: float | None, ask: float | None) -> bool:
    """§2: bid > 0 and ask >= bid."""
    return bid is not None and ask is not None and bid > 0 and ask >= bid


EXIT_CAPTURE_POLL_S = 60.0  # seconds between exit-capture rounds (the window is 25 minutes long)


async def capture_exits_forever(rt: Runtime, *, poll_s: float = EXIT_CAPTURE_POLL_S) -> None:
    """`capture_exits` every `poll_s` seconds until cancelled (the console and `serve` in live
    mode run it beside everything else: it sends nothing outside 09:35-10:00 ET)."""
    while True:
        try:
            await capture_exits(rt, rt.clock.now())
        except IvCrushError as exc:  # the store: tried again on the next round
            log.warning("ledger exit capture failed: %s", exc)
        await asyncio.sleep(poll_s)
