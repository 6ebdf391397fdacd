"""What the ledger tests and benchmarks/bench_ledger.py build alike: a config that keeps the store
and the log in one folder, and an open decision with plausible inputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ivcrush_tui.calendar import default_calendar
from ivcrush_tui.store.repositories import LedgerDecision

CAL = default_calendar()


def storage_config(folder: Path, *, db: str = "db.sqlite3", name: str = "config.toml") -> Path:
    """Write `folder/name`: the store at `folder/db`, the log in `folder/log`, nothing else set
    (defaults everywhere else). Returns the file's path."""
    cfg = folder / name
    cfg.write_text(
        f'[storage]\npath = "{folder / db}"\nlog_dir = "{folder / "log"}"\n', encoding="utf-8"
    )
    return cfg


def sample_decision(symbol: str, entry: dt.date, **fields: Any) -> LedgerDecision:
    """An open demo decision of `symbol` for the event entered on `entry` (AMC, earnings that day,
    decided 5 minutes before its entry window ends, ATM 100 with legs 2.00/2.20, implied move 4 %,
    a good SELL); any field can be overridden by keyword."""
    reaction = CAL.next_session(entry)
    window = CAL.entry_window(entry)
    assert window is not None
    values: dict[str, Any] = {
        "symbol": symbol,
        "entry_date": entry,
        "mode": "demo",
        "decided_at": window[1] - dt.timedelta(minutes=5),
        "earnings_date": entry,
        "timing": "AMC",
        "reaction_date": reaction,
        "expiration": reaction + dt.timedelta(days=7),
        "spot": 100.0,
        "atm_strike": 100.0,
        "call_bid": 2.0,
        "call_ask": 2.2,
        "put_bid": 2.0,
        "put_ask": 2.2,
        "implied_move_pct": 4.0,
        "reaction_implied_move_pct": 3.8,
        "vrp_ratio": 1.6,
        "vrp_reaction_ratio": 1.5,
        "tier": "good",
        "tier_basis": "reaction",
        "recommendation": "SELL",
        "ordinary_vol": 0.3,
        "back_iv": 0.3,
    }
    return LedgerDecision(**(values | fields))
