"""Issue 12's acceptance: the same `ivcrush --demo scan --as-of X --json` prints the same numbers
on a fresh store and on a store that saw other --as-of runs first (a month later, a month
earlier), run twice. Drives the real CLI in subprocesses, each store in its own temp folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-23T15:30-05:00"  # inside the entry window
LATER = "2026-12-23T15:30-05:00"
EARLIER = "2026-10-23T15:30-05:00"
# The names of the issue (UNH, LLY), the edge-case names and the day's entry names (no tickers).
TICKERS = ("UNH", "LLY", "AAPL", "NVDA", "JPM", "PTON", "ARM", "RDDT", "BRK.A")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")}  # fmt: skip
    env["HOME"] = str(home)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(home / var.lower())
    return env


def _store(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    cfg = home / "demo.toml"
    cfg.write_text(
        f'[storage]\npath = "{home / "db.sqlite3"}"\nlog_dir = "{home / "log"}"\n',
        encoding="utf-8",
    )
    return cfg


def _scan(cfg: Path, as_of: str, *tickers: str) -> dict[str, Any]:
    """The scan's JSON lines keyed by ticker (an empty `tickers` scans the day's entry names)."""
    argv = [sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(cfg), "scan",
            *tickers, "--as-of", as_of, "--json"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=_env(cfg.parent))  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    out: dict[str, Any] = {}
    for row in rows:
        err = row.get("error")
        if isinstance(err, dict):
            err.pop("correlation_id", None)  # a per-run id, not a number of the market
        out[row["ticker"]] = row
    return out


@pytest.mark.parametrize("tickers", [TICKERS, ()], ids=["named", "entry-names"])
def test_the_same_as_of_prints_the_same_numbers_whatever_the_store_saw(
    tmp_path: Path, tickers: tuple[str, ...]
) -> None:
    fresh = _scan(_store(tmp_path, "fresh"), AS_OF, *tickers)
    used = _store(tmp_path, "used")
    _scan(used, LATER, *TICKERS)
    _scan(used, EARLIER, *TICKERS)
    first = _scan(used, AS_OF, *tickers)
    second = _scan(used, AS_OF, *tickers)
    assert fresh
    assert first == fresh
    assert second == fresh
    if tickers:
        assert set(fresh) == set(TICKERS)
        scored = [r for r in fresh.values() if r.get("vrp_ratio") is not None]
        assert len(scored) >= 5  # numbers were compared, not only errors
