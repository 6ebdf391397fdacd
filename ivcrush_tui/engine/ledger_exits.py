"""Ledger exit capture (METHODS §12): between 09:35 and 10:00 ET on the reaction session, the
ATM legs of the reacting open decisions are quoted and the first valid ask sum of each is kept as
its real exit price."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.store.repositories import DecisionsRepo

if TYPE_CHECKING:
    from ivcrush_tui.engine.runtime import Runtime

log = logging.getLogger(__name__)

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
