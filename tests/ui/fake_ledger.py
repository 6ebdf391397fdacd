"""A deterministic ledger for the Results screen's UI tests and snapshots: hand-made decision rows
(settled, open, void; captured and estimated exits) and their stored snapshots, served by
`FakeBackend.results()` through the same `build_results` as the real backend."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from ivcrush_tui.store.repositories.ledger_rows import DecisionRow

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis


class _Spec(NamedTuple):
    symbol: str
    entry: str
    tier: str
    rec: str
    implied: float  # percent
    close: float | None  # signed percent
    gap: float | None
    pnl: float | None  # dollars per contract
    estimated: bool
    status: str


_SPEC = (
    _Spec("AAPL", "2026-10-29", "excellent", "SELL", 4.10, -2.30, -1.90, 118.0, False, "settled"),
    _Spec("MSFT", "2026-10-28", "good", "SELL", 5.20, 6.80, 5.10, -212.0, True, "settled"),
    _Spec("NVDA", "2026-11-18", "excellent", "SELL", 8.40, 3.10, 4.00, 305.0, True, "settled"),
    _Spec("TSLA", "2026-10-21", "marginal", "WATCH", 9.30, -11.20, -9.80, -410.0, True, "settled"),
    _Spec("AMZN", "2026-10-29", "good", "SELL", 6.60, 1.20, 0.80, 188.0, False, "settled"),
    _Spec("JPM", "2026-10-13", "skip", "SKIP", 3.10, 2.40, 2.00, 22.0, True, "settled"),
    _Spec("XOM", "2026-10-30", "marginal", "WATCH", 3.40, None, None, None, False, "void"),
    _Spec("CRM", "2026-11-20", "good", "SELL", 7.70, None, None, None, False, "open"),
)  # fmt: skip
_REASONS = {
    "XOM": "event moved from 2026-10-31 to 2026-11-07",
    "CRM": "bar_missing: no daily bar for 2026-11-23",
}


def _row(i: int, spec: _Spec) -> DecisionRow:
    day = dt.date.fromisoformat(spec.entry)
    close = spec.close
    return DecisionRow(
        id=i + 1,
        symbol=spec.symbol,
        entry_date=day,
        reaction_date=day + dt.timedelta(days=1),
        timing="AMC",
        tier=spec.tier,
        recommendation=spec.rec,
        status=spec.status,
        reason=_REASONS.get(spec.symbol),
        implied_move_pct=spec.implied,
        reaction_implied_move_pct=round(spec.implied * 0.9, 2),
        realized_close_pct=close,
        realized_gap_pct=spec.gap,
        hit=None if close is None else abs(close) < spec.implied,
        pnl_per_contract=spec.pnl,
        pnl_estimated=None if spec.pnl is None else spec.estimated,
        tiering_ratio=round(spec.implied / 3.0, 2),
        snapshot_id=100 + i,
    )


def default_rows() -> list[DecisionRow]:
    return [_row(i, s) for i, s in enumerate(_SPEC)]


def analysis_of(row: DecisionRow) -> Analysis:
    """The exact analysis `row` was decided from (its ticker's script, in tests/ui/fake_backend.py,
    with the event on the row's dates and the row's implied move), taken at 15:58 ET on the entry
    date. Only for the scripted tickers (AAPL, MSFT, NVDA, TSLA, AMZN of the default rows)."""
    from ivcrush_tui.calendar import NY, TradingCalendar
    from ivcrush_tui.domain import Timing
    from tests.ui.fake_backend import SCRIPTS, build_analysis

    assert row.implied_move_pct is not None
    assert row.timing == "AMC"
    script = replace(
        SCRIPTS[row.symbol],
        event_day=row.entry_date,
        timing=Timing.AMC,
        implied_pct=row.implied_move_pct,
    )
    at = dt.datetime.combine(row.entry_date, dt.time(15, 58), NY).astimezone(dt.UTC)
    return build_analysis(script, at, TradingCalendar())


def payload_of(row: DecisionRow) -> dict[str, object]:
    """A stored analysis object (docs/JSON.md) for `row`, with the fields the drill-down shows."""
    implied = row.implied_move_pct or 0.0
    spot = 100.0 + row.id
    return {
        "ticker": row.symbol,
        "status": "ok",
        "as_of": f"{row.entry_date.isoformat()}T20:45:00+00:00",
        "earnings_date": row.entry_date.isoformat(),
        "timing": row.timing,
        "entry_date": row.entry_date.isoformat(),
        "reaction_date": row.reaction_date.isoformat(),
        "expiration": (row.reaction_date + dt.timedelta(days=2)).isoformat(),
        "spot": spot,
        "straddle": round(spot * implied / 100, 2),
        "implied_move_pct": implied,
        "implied_move_1sd_pct": round(implied * 1.2533, 2),
        "n_events": 12,
        "vrp_ratio": row.tiering_ratio,
        "vrp_reaction_ratio": row.tiering_ratio,
        "reaction_implied_move_pct": row.reaction_implied_move_pct,
        "tier_basis": "reaction",
        "vrp_interval": [1.1, 2.4],
        "tiering_interval": [1.0, 2.2],
        "vrp_gap_ratio": 2.1,
        "net_vrp": 1.7,
        "hist_mean_abs_move_pct": 3.0,
        "hist_mean_abs_gap_pct": 2.6,
        "tier": row.tier,
        "cost_pct": 0.42,
        "liquidity_tier": "good",
        "recommendation": row.recommendation,
        "reasons": [f"VRP {row.tiering_ratio} on the reaction basis", "liquidity good"],
        "range_1sd": [round(spot * 0.95, 2), round(spot * 1.05, 2)],
        "breakevens": [round(spot * 0.96, 2), round(spot * 1.04, 2)],
        "atm": {
            "strike": spot,
            "straddle": round(spot * implied / 100, 2),
            "call": {"bid": 2.1, "ask": 2.2, "mid": 2.15, "iv": 0.61},
            "put": {"bid": 2.0, "ask": 2.1, "mid": 2.05, "iv": 0.63},
        },
        "greeks_short_contract": {"delta": -3.2, "gamma": -1.4, "vega": -21.0, "theta": 12.5},
        "term": {"iv30": 0.41, "rv30": 0.28, "front_back_ratio": 1.31},
        "skew": {"shape": "smirk", "rr25": -0.031},
        "trend_pp_per_qtr": 0.2,
        "trr": 2.1,
        "consistency": {"p90_to_implied": 0.9},
        "past_moves": [
            {"earnings_date": "2026-07-30", "timing": "AMC", "close_pct": -2.1, "gap_pct": -1.6},
            {"earnings_date": "2026-04-30", "timing": "AMC", "close_pct": 3.4, "gap_pct": 2.9},
        ],
    }


@dataclass
class FakeLedger:
    """Rows and payloads by snapshot id; `corrupt` snapshot ids have an unreadable payload;
    `skipped` says how many rows the store would have skipped as unreadable. `analyses`: the
    exact analyses kept (schema v11) by snapshot id; none by default (rows stored before v11)."""

    rows: list[DecisionRow] = field(default_factory=default_rows)
    corrupt: set[int] = field(default_factory=set)
    analyses: dict[int, Analysis] = field(default_factory=dict)
    skipped: int = 0
    mode: str = "demo"

    def payload(self, snapshot_id: int) -> dict[str, object] | None:
        if snapshot_id in self.corrupt:
            return None
        for r in self.rows:
            if r.snapshot_id == snapshot_id:
                return payload_of(r)
        return None

    def keep_analysis(self, symbol: str) -> Analysis:
        """Store the exact analysis of `symbol`'s decision (as schema v11 does); returns it."""
        row = next(r for r in self.rows if r.symbol == symbol)
        assert row.snapshot_id is not None
        a = self.analyses[row.snapshot_id] = analysis_of(row)
        return a

    def analysis(self, snapshot_id: int) -> Analysis | None:
        return None if snapshot_id in self.corrupt else self.analyses.get(snapshot_id)

    def settle(self, symbol: str, close: float, pnl: float) -> None:
        """Settle the open decision of `symbol` (a settlement happening while the app runs)."""
        for i, r in enumerate(self.rows):
            if r.symbol == symbol and r.status == "open":
                assert r.implied_move_pct is not None
                self.rows[i] = replace(
                    r,
                    status="settled",
                    reason=None,
                    realized_close_pct=close,
                    realized_gap_pct=close,
                    hit=abs(close) < r.implied_move_pct,
                    pnl_per_contract=pnl,
                    pnl_estimated=True,
                )
