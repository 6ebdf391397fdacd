"""Each provider's last successful call (its latency and when it ended), kept in the store.

Health reports it for Alpha Vantage instead of probing (a probe would spend the 25/day quota), and
a fresh `health` process has no calls of its own: the runtime therefore saves the last call of
each provider when it closes, and health reads it back when this process made none.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.resilience.guard import Guard
from ivcrush_tui.store.db import Database, from_iso, to_iso
from ivcrush_tui.store.repositories import PrefsRepo

log = logging.getLogger(__name__)

PREF_PREFIX = "health.last_ok_call."


@dataclass(frozen=True, slots=True)
class LastCall:
    latency_ms: float
    at: dt.datetime  # aware; when the call ended

    def age_s(self, now: dt.datetime) -> float:
        """Seconds since the call; never negative (an --as-of run may sit before it)."""
        return max(0.0, (now - self.at).total_seconds())


def from_guard(guard: Guard) -> LastCall | None:
    """This process's last successful call through `guard`, if any."""
    stats = guard.stats
    if stats.last_ok_latency_ms is None or stats.last_success_at is None:
        return None
    return LastCall(stats.last_ok_latency_ms, stats.last_success_at)


async def save(db: Database, guards: Mapping[str, Guard]) -> None:
    """Store the last successful call of every provider this process called."""
    prefs = PrefsRepo(db)
    for name, guard in guards.items():
        last = from_guard(guard)
        if last is not None:
            value = {"latency_ms": last.latency_ms, "at": to_iso(last.at)}
            await prefs.set(PREF_PREFIX + name, json.dumps(value))


async def load(db: Database, name: str) -> LastCall | None:
    """The stored last successful call of provider `name`; None when none or unreadable."""
    try:
        raw = await PrefsRepo(db).get(PREF_PREFIX + name)
    except IvCrushError as exc:
        log.info("last %s call not readable: %s", name, exc)
        return None
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        latency = float(value["latency_ms"])
        at = from_iso(str(value["at"]))
    except (ValueError, KeyError, TypeError):
        return None
    return LastCall(latency, at) if math.isfinite(latency) and latency >= 0 else None


async def latest(db: Database, name: str, guard: Guard) -> LastCall | None:
    """This process's last successful call, else the stored one."""
    return from_guard(guard) or await load(db, name)
