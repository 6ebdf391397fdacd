"""The alert record and its documented JSON object (docs/JSON.md, `ivcrush alerts --json`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Alert:
    """One fired alert. (`rule`, `symbol`, `window`) is its de-duplication key.

    `symbol` is the ticker, or the provider's name for a breaker alert. `window` is the exchange
    date of the entry window the alert belongs to (the event's entry date; for a breaker alert,
    the exchange date it opened on). `tiering_ratio` is a plain ratio (2.0 = implied move twice
    the historical mean move)."""

    rule: str  # e.g. "tier:excellent", "vrp>=2", "sell", "entry_window", "breaker"
    kind: str  # the rule's kind: tier | vrp | sell | entry_window | breaker
    symbol: str
    window: dt.date
    fired_at: dt.datetime  # aware UTC
    title: str
    message: str
    tier: str | None = None
    tiering_ratio: float | None = None
    recommendation: str | None = None

    @property
    def key(self) -> tuple[str, str, dt.date]:
        return (self.rule, self.symbol, self.window)


def alert_to_json(alert: Alert, mode: str) -> dict[str, Any]:
    """The documented JSON object of one alert (`mode`: "live" | "demo")."""
    ratio = alert.tiering_ratio
    return {
        "fired_at": alert.fired_at.astimezone(dt.UTC).isoformat(),
        "mode": mode,
        "rule": alert.rule,
        "kind": alert.kind,
        "symbol": alert.symbol,
        "window": alert.window.isoformat(),
        "title": alert.title,
        "message": alert.message,
        "tier": alert.tier,
        "tiering_ratio": None if ratio is None else round(ratio, 4),
        "recommendation": alert.recommendation,
    }
