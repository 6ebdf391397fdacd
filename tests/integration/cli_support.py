"""Support for the CLI tests (test_cli.py, test_cli_processes.py and others): the JSON contract of
docs/JSON.md, checked strictly, and the isolated environment (folders, configs, the demo market and
its loopback server) every CLI test runs in."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.cli import main
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)
AS_OF = "2026-11-23T15:30-05:00"  # inside the entry window of a demo day with names
NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(UTC)

# -- the JSON contract (docs/JSON.md) --------------------------------------------------------------

STATUSES = {"ok", "insufficient_history", "no_event", "no_options", "error"}
SCORED = {"ok", "insufficient_history"}
TIMINGS = {"BMO", "AMC", "DMH", "UNKNOWN"}
TIERS = {"excellent", "good", "marginal", "skip"}
LIQUIDITY = {"excellent", "good", "warning", "reject"}
SHAPES = {"flat", "smile", "smirk", "reverse", "frown"}
RECS = {"SELL", "WATCH", "SKIP"}
BASE_KEYS = {"ticker", "status", "error", "as_of", "market_cap", "quote_time", "stale"}
EVENT_KEYS = {"earnings_date", "timing", "timing_inferred", "entry_date", "reaction_date",
              "expiration", "expiration_cycle", "expiration_settlement"}  # fmt: skip
NUMBER_KEYS = {"spot", "straddle", "implied_move_pct", "implied_move_1sd_pct", "event_move_pct",
               "hist_mean_abs_move_pct", "hist_mean_abs_gap_pct", "vrp_ratio", "vrp_gap_ratio",
               "cost_pct", "net_vrp", "trend_pp_per_qtr", "trr", "reaction_implied_move_pct",
               "vrp_reaction_ratio", "event_move_1sd_pct"}  # fmt: skip
PAIR_KEYS = {"range_1sd", "range_2sd", "breakevens"}  # [low, high] in $ per share
METRIC_KEYS = NUMBER_KEYS | PAIR_KEYS | {
    "n_events", "vrp_interval", "tier", "liquidity_tier", "skew", "term", "recommendation",
    "reasons", "tier_basis", "tiering_interval", "atm", "consistency", "past_moves",
    "skipped_events", "greeks_long_straddle_per_share", "greeks_short_contract",
}  # fmt: skip
GREEK_KEYS = {"delta", "gamma", "vega", "theta", "rho"}
SUB_KEYS = {
    "skew": {"atm_iv", "slope", "curvature", "rr25", "shape", "bf25", "r_squared"},
    "term": {"front_iv", "back_iv", "iv30", "rv30", "ts_slope_0_45", "iv_rv_ratio",
             "front_back_ratio", "event_premium", "points"},
    "greeks_long_straddle_per_share": GREEK_KEYS,
    "greeks_short_contract": GREEK_KEYS,
    "consistency": {"recency_weighted_mean_abs_move_pct", "median_abs_move_pct", "mad_pct",
                    "dispersion", "edge_score", "trend_rising", "trr_level", "p90_abs_move_pct",
                    "p90_to_implied", "p90_elevated"},
}  # fmt: skip
SUB_BOOL_KEYS = {"event_premium", "trend_rising", "p90_elevated"}
ATM_KEYS = {"strike", "straddle", "breakevens", "call", "put"}
LEG_KEYS = {"bid", "ask", "mid", "iv", "spread_pct", "open_interest", "volume", "liquidity_tier"}
MOVE_KEYS = {"earnings_date", "timing", "timing_inferred", "reference_date", "reaction_date",
             "reference_close", "gap_pct", "close_pct", "range_pct", "max_excursion_pct",
             "volume_ratio"}  # fmt: skip
HEALTH_COMPONENT_KEYS = {"name", "status", "detail", "latency_ms", "latency_age_s",
                         "breaker", "seconds_to_half_open", "budget_left", "budget_total",
                         "budget_resets_in_s", "last_error", "operations"}  # fmt: skip


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {name} in output")


def strict_loads(line: str) -> Any:
    return json.loads(line, parse_constant=_reject_constant)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_opt_number(x: object) -> bool:
    return x is None or _is_number(x)


def _is_date(x: object) -> bool:
    if not isinstance(x, str):
        return False
    dt.date.fromisoformat(x)
    return len(x) == 10


def is_utc_instant(x: object) -> bool:
    if not isinstance(x, str):
        return False
    value = dt.datetime.fromisoformat(x)
    return value.utcoffset() == dt.timedelta(0)


def check_analysis(obj: dict[str, Any]) -> None:
    """Assert that `obj` follows the analysis object of docs/JSON.md."""
    assert obj.keys() >= BASE_KEYS, obj.keys()
    unknown = obj.keys() - BASE_KEYS - EVENT_KEYS - METRIC_KEYS
    assert not unknown, f"undocumented keys {unknown}"
    assert isinstance(obj["ticker"], str)
    assert obj["ticker"] == obj["ticker"].upper()
    status = obj["status"]
    assert status in STATUSES
    assert is_utc_instant(obj["as_of"])
    assert obj["quote_time"] is None or is_utc_instant(obj["quote_time"])
    assert obj["stale"] is None  # a one-shot run has no earlier result to keep (docs/JSON.md)
    err = obj["error"]
    if status in SCORED:
        assert err is None
    else:
        assert isinstance(err, dict)
        assert set(err) == {"code", "message", "correlation_id"}
        assert isinstance(err["code"], str)
        assert err["code"]
        assert isinstance(err["message"], str)
        assert err["message"]
        assert err["correlation_id"] is None or isinstance(err["correlation_id"], str)
    present = obj.keys() & EVENT_KEYS
    if present:
        assert present == EVENT_KEYS
        assert _is_date(obj["earnings_date"])
        assert _is_date(obj["entry_date"])
        assert _is_date(obj["reaction_date"])
        assert obj["expiration"] is None or _is_date(obj["expiration"])
        assert obj["timing"] in TIMINGS
        assert isinstance(obj["timing_inferred"], bool)
        assert obj["entry_date"] <= obj["earnings_date"] <= obj["reaction_date"]
    if status not in SCORED:
        assert not (obj.keys() & METRIC_KEYS - {"spot"}), "metrics on an unanalysed row"
        assert _is_opt_number(obj.get("spot"))
        return
    assert obj.keys() >= METRIC_KEYS
    assert obj.keys() >= EVENT_KEYS
    for key in NUMBER_KEYS:
        assert _is_opt_number(obj[key]), (key, obj[key])
    assert _is_number(obj["spot"])
    assert obj["spot"] > 0
    assert isinstance(obj["n_events"], int)
    assert obj["n_events"] >= 0
    ci = obj["vrp_interval"]
    assert ci is None or (len(ci) == 2 and all(_is_opt_number(v) for v in ci))
    assert obj["tier"] in TIERS | {None}
    # The tiering ratio's basis (METHODS §5); reaction iff the horizon-matched ratio exists.
    assert obj["tier_basis"] in (
        {"reaction", "straddle"} if obj["vrp_ratio"] is not None else {None}
    )
    # The interval beside the tiering ratio is that ratio's: the straddle one scaled.
    ti = obj["tiering_interval"]
    if ci is None:
        assert ti is None
    else:
        scale = (obj["vrp_reaction_ratio"] or obj["vrp_ratio"]) / obj["vrp_ratio"]
        assert ti == pytest.approx([ci[0] * scale, ci[1] * scale], rel=1e-3, abs=1e-4)
    if obj["tier_basis"] == "reaction":
        assert _is_number(obj["vrp_reaction_ratio"])
    else:
        assert obj["vrp_reaction_ratio"] is None
        assert obj["reaction_implied_move_pct"] is None
    if status != "ok":
        assert obj["tier"] is None  # only scored rows carry a tier
    assert obj["liquidity_tier"] in LIQUIDITY | {None}
    for name, keys in SUB_KEYS.items():
        assert isinstance(obj[name], dict), name
        assert set(obj[name]) == keys, name
        for key, value in obj[name].items():
            if key == "shape":
                assert value in SHAPES | {None}
            elif key == "trr_level":
                assert value in {"high", "normal", "low", None}
            elif key in SUB_BOOL_KEYS:
                assert value is None or isinstance(value, bool), (name, key, value)
            elif key == "points":
                for p in value:
                    assert set(p) == {"expiration", "dte", "atm_iv"}
                    assert _is_date(p["expiration"])
                    assert _is_number(p["dte"])
                    assert _is_number(p["atm_iv"])
                    assert 0 < p["atm_iv"] < 10  # a fraction per year, not percent
            else:
                assert _is_opt_number(value), (name, key, value)
    check_extended(obj)
    assert obj["recommendation"] in RECS
    assert isinstance(obj["reasons"], list)
    assert all(isinstance(r, str) for r in obj["reasons"])
    if obj["implied_move_pct"] is not None and obj["implied_move_1sd_pct"] is not None:
        # METHODS §3: 1σ = implied · √(π/2)
        assert obj["implied_move_1sd_pct"] == pytest.approx(
            obj["implied_move_pct"] * 1.2533141, rel=1e-3
        )


def _pair(x: object) -> bool:
    return isinstance(x, list) and len(x) == 2 and all(_is_opt_number(v) for v in x)


def check_extended(obj: dict[str, Any]) -> None:
    """The keys issue 15 added: ranges, ATM legs with liquidity, consistency, per-event moves,
    skipped events and the two named Greeks conventions (docs/JSON.md)."""
    for key in PAIR_KEYS:
        assert obj[key] is None or _pair(obj[key]), (key, obj[key])
    spot, straddle = obj["spot"], obj["straddle"]
    if obj["range_1sd"] is not None and straddle is not None:
        lo1, hi1 = obj["range_1sd"]
        lo2, hi2 = obj["range_2sd"]
        # METHODS §3: S ± 1.2533·Straddle(S) and S ± 2.5066·Straddle(S) (low floored at 0)
        assert hi1 == pytest.approx(spot + 1.2533141 * straddle, rel=1e-3)
        assert hi2 == pytest.approx(spot + 2.5066283 * straddle, rel=1e-3)
        assert lo2 <= lo1 < spot < hi1 < hi2
    atm = obj["atm"]
    assert atm is not None
    assert set(atm) == ATM_KEYS
    # Breakevens of the tradeable straddle: K_atm ± its price.
    assert obj["breakevens"] == atm["breakevens"]
    assert atm["breakevens"][1] == pytest.approx(atm["strike"] + atm["straddle"], abs=2e-4)
    for side in ("call", "put"):
        leg = atm[side]
        assert set(leg) == LEG_KEYS, side
        assert 0 < leg["bid"] <= leg["mid"] <= leg["ask"]
        assert leg["iv"] is None or 0 < leg["iv"] < 10  # fraction per year
        assert _is_number(leg["spread_pct"])
        # METHODS §10: spread % = 100·(ask − bid)/mid, a percent number
        assert leg["spread_pct"] == pytest.approx(
            100 * (leg["ask"] - leg["bid"]) / leg["mid"], rel=1e-2, abs=1e-2
        )
        assert isinstance(leg["open_interest"], int)
        assert isinstance(leg["volume"], int)
        assert leg["liquidity_tier"] in LIQUIDITY
    assert atm["straddle"] == pytest.approx(atm["call"]["mid"] + atm["put"]["mid"], abs=2e-4)
    # The straddle takes its worse leg's tier.
    order = ["excellent", "good", "warning", "reject"]
    worse = max(
        order.index(atm["call"]["liquidity_tier"]), order.index(atm["put"]["liquidity_tier"])
    )
    assert obj["liquidity_tier"] == order[worse]
    moves = obj["past_moves"]
    assert isinstance(moves, list)
    assert len(moves) == obj["n_events"]
    for m in moves:
        assert set(m) == MOVE_KEYS
        assert _is_date(m["earnings_date"])
        assert m["timing"] in {"BMO", "AMC", "DMH"}  # the timing used: never UNKNOWN
        assert isinstance(m["timing_inferred"], bool)
        assert m["reference_date"] < m["reaction_date"]
        assert m["reference_date"] <= m["earnings_date"] <= m["reaction_date"]
        for key in ("reference_close", "gap_pct", "close_pct", "range_pct", "max_excursion_pct"):
            assert _is_number(m[key]), (key, m)
        assert m["range_pct"] >= 0
        assert _is_opt_number(m["volume_ratio"])
    dates = [m["earnings_date"] for m in moves]
    assert dates == sorted(dates, reverse=True)  # most recent first
    if moves:
        # The summary statistics are built from these signed moves (in percent).
        mean_abs = sum(abs(m["close_pct"]) for m in moves) / len(moves)
        assert obj["hist_mean_abs_move_pct"] == pytest.approx(mean_abs, rel=1e-3, abs=1e-3)
        mean_gap = sum(abs(m["gap_pct"]) for m in moves) / len(moves)
        assert obj["hist_mean_abs_gap_pct"] == pytest.approx(mean_gap, rel=1e-3, abs=1e-3)
        cs = obj["consistency"]
        p90 = cs["p90_abs_move_pct"]
        assert min(abs(m["close_pct"]) for m in moves) - 1e-3 <= p90
        assert p90 <= max(abs(m["close_pct"]) for m in moves) + 1e-3
        if obj["implied_move_pct"]:
            assert cs["p90_to_implied"] == pytest.approx(p90 / obj["implied_move_pct"], rel=1e-3)
    for s in obj["skipped_events"]:
        assert set(s) == {"earnings_date", "reason"}
        assert _is_date(s["earnings_date"])
        assert isinstance(s["reason"], str)
        assert s["reason"]
    long, short = obj["greeks_long_straddle_per_share"], obj["greeks_short_contract"]
    for key in GREEK_KEYS:
        if long[key] is None:
            assert short[key] is None
        else:  # one short contract = −100 × one long straddle per share
            assert short[key] == pytest.approx(-100 * long[key], rel=1e-4, abs=1e-4)
    if long["vega"] is not None:
        assert long["vega"] > 0  # a long straddle is long vega
        assert long["theta"] < 0


def check_health(obj: dict[str, Any]) -> None:
    assert set(obj) == {"status", "mode", "checked_at", "components", "stream"}
    # A one-off health process does not stream: POLL, and who holds the stream if anyone.
    assert obj["stream"]["mode"] == "POLL"
    assert obj["stream"]["connected"] is False
    assert obj["status"] in {"healthy", "degraded", "down"}
    assert obj["mode"] in {"demo", "live"}
    assert is_utc_instant(obj["checked_at"])
    names = [c["name"] for c in obj["components"]]
    assert names == ["tradier", "alphavantage", "database", "cache", "backfill"]
    for c in obj["components"]:
        assert set(c) == HEALTH_COMPONENT_KEYS
        assert c["status"] in {"healthy", "degraded", "down"}
        assert isinstance(c["detail"], str)
        assert c["breaker"] in {"closed", "open", "half_open", None}
        for key in ("latency_ms", "seconds_to_half_open", "budget_resets_in_s"):
            assert _is_opt_number(c[key])
        for key in ("budget_left", "budget_total"):
            assert c[key] is None or isinstance(c[key], int)
        if c["last_error"] is not None:
            assert set(c["last_error"]) == {"code", "message", "correlation_id", "at"}
        for op in c["operations"]:
            assert set(op) == {"name", "count", "mean_ms", "p95_ms", "p99_ms"}


def jsonl(out: str) -> list[dict[str, Any]]:
    rows = [strict_loads(line) for line in out.splitlines()]
    for row in rows:
        check_analysis(row)
    return rows


# -- environment -----------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate every platform folder and secret; returns the tmp home."""
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "100")
    return tmp_path


@pytest.fixture
def demo_cfg(home: Path) -> Path:
    path = home / "demo.toml"
    path.write_text(
        f'[storage]\npath = "{home / "db.sqlite3"}"\nlog_dir = "{home / "log"}"\n', encoding="utf-8"
    )
    return path


def live_cfg(home: Path, tradier: DemoServer, av: DemoServer | None = None) -> Path:
    av = av or tradier
    path = home / "live.toml"
    path.write_text(
        f"""
[tradier]
token = "test-token"
base_url = "{tradier.tradier_base}"
[alphavantage]
api_key = "test-key"
base_url = "{av.av_base}"
max_per_second = 100.0
daily_quota = 100000
[resilience]
retry_attempts = 2
backoff_base_s = 0.01
backoff_max_s = 0.05
[storage]
path = "{home / "db.sqlite3"}"
log_dir = "{home / "log"}"
""",
        encoding="utf-8",
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "Traceback" not in out
    return code, out, err


def demo(capsys: pytest.CaptureFixture[str], cfg: Path, *args: str) -> tuple[int, str, str]:
    return run(capsys, "--demo", "--config", str(cfg), *args, "--as-of", AS_OF)


def child_env(home: Path) -> dict[str, str]:
    """The environment of a subprocess: `home`'s isolated folders (set by the fixture), no keys."""
    assert os.environ["HOME"] == str(home)
    secret = ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    return {k: v for k, v in os.environ.items() if k not in secret}


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(DAY)


@pytest.fixture
def server(market: DemoMarket) -> Iterator[DemoServer]:
    with DemoServer(market, FaultConfig(tradier_limit_per_min=None), lambda: NOW) as srv:
        yield srv
