"""The headless CLI end to end: every command and flag, in process through
`ivcrush_tui.cli.main([...])` and a few as real subprocesses. `--json` output is parsed strictly
(no NaN/Infinity) and checked against the contract in docs/JSON.md; exit codes 0/1/2/130; bad
input gives one clear line and never a traceback; Ctrl-C during a scan; a provider down; streaming
order. Storage, logs and config always live under tmp_path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.cli import main
from ivcrush_tui.engine import runtime as runtime_mod
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


def _is_utc_instant(x: object) -> bool:
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
    assert _is_utc_instant(obj["as_of"])
    assert obj["quote_time"] is None or _is_utc_instant(obj["quote_time"])
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
    assert _is_utc_instant(obj["checked_at"])
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


# -- scan / analyze in demo mode -------------------------------------------------------------------


def test_scan_json_streams_the_days_entry_names(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path, market: DemoMarket
) -> None:
    code, out, err = demo(capsys, demo_cfg, "scan", "--json")
    rows = jsonl(out)
    cal = DemoMarket(DAY).calendar
    expected = {
        s for s in market.symbols
        if cal.entry_date(market.next_event(s).date, market.next_event(s).timing) == DAY
    }  # fmt: skip
    assert code == 0
    assert {r["ticker"] for r in rows} == expected
    assert all(r["entry_date"] == DAY.isoformat() for r in rows)
    assert f"{len(expected)} names with entry on 2026-11-23" in err


def test_scan_explicit_tickers_and_date(capsys: pytest.CaptureFixture[str], demo_cfg: Path) -> None:
    code, out, _ = demo(capsys, demo_cfg, "scan", "AAPL", "msft", "brk.b", "--json")
    assert code == 0
    assert sorted(r["ticker"] for r in jsonl(out)) == ["AAPL", "BRK.B", "MSFT"]
    code, out, err = demo(capsys, demo_cfg, "scan", "--date", "2026-11-24", "--json")
    assert code == 0
    assert "entry on 2026-11-24" in err
    assert all(r["entry_date"] == "2026-11-24" for r in jsonl(out))


def test_scan_with_one_unknown_ticker_exits_1_with_a_coded_row(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path
) -> None:
    code, out, err = demo(capsys, demo_cfg, "scan", "AAPL", "ZZZZ", "--json")
    rows = {r["ticker"]: r for r in jsonl(out)}
    assert code == 1
    assert rows["AAPL"]["status"] == "ok"
    assert rows["ZZZZ"]["status"] == "error"
    assert rows["ZZZZ"]["error"]["code"] == "not_found"
    assert "{" not in err  # nothing of the JSON goes to stderr


def test_analyze_json_and_statuses(capsys: pytest.CaptureFixture[str], demo_cfg: Path) -> None:
    code, out, _ = demo(capsys, demo_cfg, "analyze", "AAPL", "--json")
    (row,) = jsonl(out)
    assert code == 0
    assert row["status"] == "ok"
    assert row["tier"] in TIERS
    code, out, _ = demo(capsys, demo_cfg, "analyze", "ARM", "--json")  # two past events
    (row,) = jsonl(out)
    assert code == 0
    assert row["status"] == "insufficient_history"
    assert row["tier"] is None
    code, out, _ = demo(capsys, demo_cfg, "analyze", "BRK.A", "--json")  # no listed options
    (row,) = jsonl(out)
    assert code == 0
    assert row["status"] == "no_options"
    code, out, _ = demo(capsys, demo_cfg, "analyze", "ZZZZ", "--json")
    (row,) = jsonl(out)
    assert code == 1
    assert row["error"]["code"] == "not_found"


def test_json_carries_what_the_drill_down_shows(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path
) -> None:
    """Ranges, breakevens, ATM legs with liquidity, consistency, per-event moves (some with
    inferred timing), skipped events and both Greeks conventions (check_extended)."""
    code, out, _ = demo(capsys, demo_cfg, "scan", "AAPL", "ORCL", "JPM", "--json")
    rows = {r["ticker"]: r for r in jsonl(out)}
    assert code == 0
    orcl = rows["ORCL"]
    inferred = [m for m in orcl["past_moves"] if m["timing_inferred"]]
    assert inferred  # demo ORCL has past releases of unknown timing, inferred from the gaps
    assert "some past event timings were inferred from the gaps" in orcl["reasons"]
    # Events beyond the 12 most recent are not listed (they depend on the store's depth).
    assert not any("older than" in s["reason"] for r in rows.values() for s in r["skipped_events"])
    aapl = rows["AAPL"]
    assert aapl["event_move_1sd_pct"] == pytest.approx(aapl["event_move_pct"] * 1.2533141, rel=1e-3)
    # The console's short-contract figures, e.g. "vega -56.3": the same numbers as the JSON's.
    assert aapl["greeks_short_contract"]["vega"] < 0 < aapl["greeks_short_contract"]["theta"]
    assert "greeks" not in aapl  # the ambiguous key is gone (docs/JSON.md, changes)


def test_analyze_human_output_is_a_vertical_layout_within_80_columns(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = demo(capsys, demo_cfg, "analyze", "AAPL")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("AAPL")
    keys = [line.split("  ")[0] for line in lines[1:] if line and not line.startswith(" ")]
    for key in ("Event", "Spot", "Implied move", "History", "VRP", "Liquidity", "Term", "Skew",
                "Greeks", "Reasons"):  # fmt: skip
        assert key in keys
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "…" not in out  # nothing truncated: long values wrap
    code, out, _ = demo(capsys, demo_cfg, "analyze", "ZZZZ")
    assert code == 1
    assert "not_found" in out


@pytest.mark.parametrize("columns", [80, 150])
def test_scan_table_fits_the_terminal(
    capsys: pytest.CaptureFixture[str],
    demo_cfg: Path,
    monkeypatch: pytest.MonkeyPatch,
    columns: int,
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, err = demo(capsys, demo_cfg, "scan", "AAPL", "MU", "BRK.A", "ZZZZ")
    lines = [line for line in out.splitlines() if line.strip()]
    header = lines[0].split()
    assert code == 1
    assert max(len(line.rstrip()) for line in lines) <= columns
    assert "…" not in out
    assert {"Ticker", "Earnings", "VRP", "Rec"} <= set(header)
    assert ("Entry" in header) is (columns >= 120)
    assert lines[-1].split()[0] in {"ZZZZ", "BRK.A"}  # failures sort last
    assert "ZZZZ: not_found" in err
    assert "4 scanned" in err


def test_streaming_order_fast_ticker_first(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow ticker's line comes after a fast one's, whatever the command-line order."""
    import asyncio

    make = runtime_mod._demo_transport

    class SlowAAPL(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.params.get("symbol") == "AAPL":
                await asyncio.sleep(0.4)
            return await self.inner.handle_async_request(request)

    def slow(clock: Any) -> tuple[httpx.AsyncBaseTransport, str, str]:
        transport, t_base, a_base = make(clock)
        return SlowAAPL(transport), t_base, a_base

    monkeypatch.setattr(runtime_mod, "_demo_transport", slow)
    code, out, _ = demo(capsys, demo_cfg, "scan", "AAPL", "MSFT", "NVDA", "--json")
    tickers = [r["ticker"] for r in jsonl(out)]
    assert code == 0
    assert tickers[-1] == "AAPL"
    assert set(tickers) == {"AAPL", "MSFT", "NVDA"}


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "A$B"], "is not valid"),
        (["scan", "AAPL", "BAD TICKER"], "is not valid"),
        (["watchlist", "add"], "required: SYMBOL"),
        (["watchlist", "add", "AAPL", "-X"], "unrecognized arguments"),
        (["scan", "--date", "2026-13-01"], "is not YYYY-MM-DD"),
        (["scan", "--date", "tomorrow"], "is not YYYY-MM-DD"),
        (["scan", "--as-of", "yesterday"], "is not ISO-8601"),
        (["analyze", "AAPL", "--as-of", "2026-11-23T25:00"], "is not ISO-8601"),
        # Empty values are errors, never "absent" (which would silently mean now / today).
        (["analyze", "AAPL", "--as-of", ""], "--as-of is empty"),
        (["scan", "--date", ""], "--date is empty"),
        # Out-of-range years: one line, no OverflowError traceback.
        (["scan", "--date", "9999-12-31"], "outside the years 1990-2100"),
        (["scan", "--date", "0001-01-01"], "outside the years 1990-2100"),
        (["analyze", "AAPL", "--as-of", "9999-12-31T23:59:59Z"], "outside the years 1990-2100"),
        (["analyze", "AAPL", "--as-of", "1989-12-31"], "outside the years 1990-2100"),
        # --date picks the names; with names given it would be silently dropped.
        (["scan", "ALFA", "--date", "2026-11-30"], "TICKER arguments or --date, not both"),
        (["backfill", "--quarters", "0"], "between 1 and 40"),
        (["backfill", "--quarters", "x"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        (["analyze"], "required"),
        (["watchlist"], "required"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_message(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--demo", "--config", str(demo_cfg), *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "ivcrush" in err


def test_usage_errors_help_and_version_return_codes_in_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--no-such-flag"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("analyze", "scan", "backfill", "health", "watchlist", "config"):
        assert command in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ivcrush ")


@pytest.mark.parametrize(
    ("env", "config", "message"),
    [
        ({"TRADIER_TOKEN": "abc123"}, None, "live mode needs alphavantage.api_key"),
        ({"ALPHAVANTAGE_API_KEY": "abc123"}, None, "live mode needs tradier.token"),
        ({}, "[engine]\nconcurrency = 'many'\n", "engine.concurrency: must be an integer"),
        ({}, "[bogus]\nx = 1\n", "bogus: unknown section"),
        ({}, "this is [not toml", "TOML syntax error"),
        ({}, "[tradier]\nbase_url = 'ftp://x'\n", "tradier.base_url"),
        ({}, "[ui]\ntheme = 'nrod'\n", "ui.theme: unknown theme (did you mean 'nord'?)"),
    ],
)
def test_broken_configuration_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    config: str | None,
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = ["health"]
    if config is not None:
        path = home / "broken.toml"
        path.write_text(config, encoding="utf-8")
        args = ["--config", str(path), "health"]
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "abc123" not in err  # secrets never echoed


def test_allowed_insecure_http_is_warned_about_at_every_start(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path
) -> None:
    # --demo: nothing is sent anywhere; the warning comes from the configuration alone.
    text = demo_cfg.read_text() + (
        '[tradier]\nbase_url = "http://10.1.2.3/v1"\nallow_insecure_http = true\n'
    )
    demo_cfg.write_text(text)
    for _ in range(2):
        code, _, err = demo(capsys, demo_cfg, "watchlist", "list")
        assert code == 0
        assert "ivcrush: warning: tradier.base_url is plain http to 10.1.2.3" in err


def test_database_logs_and_their_folders_are_private(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    cfg = home / "private.toml"
    data, logs = home / "data" / "ivcrush", home / "logs" / "ivcrush"
    cfg.write_text(f'[storage]\npath = "{data / "db.sqlite3"}"\nlog_dir = "{logs}"\n')
    old_umask = os.umask(0o022)  # the common default, which would make files 0644
    try:
        code, _, _ = demo(capsys, cfg, "analyze", "AAPL", "--json")
    finally:
        os.umask(old_umask)
    assert code == 0

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(data) == 0o700
    assert mode(logs) == 0o700
    assert mode(data / "db-demo.sqlite3") == 0o600  # --demo: the demo file (issue 12)
    assert mode(logs / "ivcrush.log") == 0o600
    with sqlite3.connect(
        data / "db-demo.sqlite3"
    ) as conn:  # WAL mode: a reader makes -wal and -shm
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        assert mode(data / "db-demo.sqlite3-wal") == 0o600
        assert mode(data / "db-demo.sqlite3-shm") == 0o600


def test_missing_config_file_exits_2(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, _, err = run(capsys, "--config", str(home / "nope.toml"), "scan")
    assert code == 2
    assert "config file not found" in err


# -- health, watchlist, config init, backfill ------------------------------------------------------


def test_health_json_in_demo_mode(capsys: pytest.CaptureFixture[str], demo_cfg: Path) -> None:
    code, out, _ = demo(capsys, demo_cfg, "health", "--json")
    obj = strict_loads(out)
    check_health(obj)
    assert code == 0
    assert obj["status"] == "healthy"
    assert obj["mode"] == "demo"
    code, out, _ = demo(capsys, demo_cfg, "health")
    assert code == 0
    assert "healthy" in out
    assert "DEMO" in out


def test_health_live_exit_0_healthy_and_1_when_tradier_is_down(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    cfg = live_cfg(home, server)
    code, out, _ = run(capsys, "--config", str(cfg), "health", "--json", "--as-of", AS_OF)
    obj = strict_loads(out)
    check_health(obj)
    assert code == 0
    assert obj["status"] == "healthy"
    assert obj["mode"] == "live"
    server.set_down(True)
    code, out, _ = run(capsys, "--config", str(cfg), "health", "--json", "--as-of", AS_OF)
    obj = strict_loads(out)
    check_health(obj)
    tradier = obj["components"][0]
    assert code == 1
    assert obj["status"] == "down"
    assert tradier["status"] == "down"
    assert tradier["last_error"]["code"] == "unavailable"


def test_watchlist_persists_across_invocations(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path
) -> None:
    base = ("--config", str(demo_cfg), "watchlist")
    assert run(capsys, *base, "add", "aapl", "BRK.B")[:2] == (0, "AAPL\nBRK.B\n")
    assert run(capsys, *base, "list")[:2] == (0, "AAPL\nBRK.B\n")
    assert run(capsys, *base, "remove", "AAPL")[:2] == (0, "BRK.B\n")
    code, out, _ = run(capsys, *base, "list")
    assert (code, out) == (0, "BRK.B\n")


def test_watchlist_json_and_removing_a_non_member(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path
) -> None:
    base = ("--demo", "--config", str(demo_cfg), "watchlist")
    code, out, _ = run(capsys, *base, "list", "--json")
    assert (code, strict_loads(out)) == (0, {"symbols": []})
    assert run(capsys, *base, "add", "AAPL", "MSFT", "NVDA")[0] == 0
    code, out, _ = run(capsys, *base, "list", "--json")
    assert (code, strict_loads(out)) == (0, {"symbols": ["AAPL", "MSFT", "NVDA"]})
    # A non-member is an error (exit 1, named on stderr); the members given with it are removed.
    code, out, err = run(capsys, *base, "remove", "msft", "ZZZZ", "TSLA")
    assert code == 1
    assert out == "AAPL\nNVDA\n"
    assert err == "ivcrush: not on the watchlist: ZZZZ, TSLA\n"
    code, out, err = run(capsys, *base, "remove", "AAPL", "--json")
    assert (code, strict_loads(out), err) == (0, {"symbols": ["NVDA"]}, "")


def test_scan_header_says_what_it_counts(
    capsys: pytest.CaptureFixture[str], demo_cfg: Path, market: DemoMarket
) -> None:
    """A day's scan also takes the watchlist names reporting within 7 days: they enter later, so
    the header counts them apart from the names with entry on the day."""
    later = next(
        s for s in market.symbols
        if DAY + dt.timedelta(days=3) <= market.next_event(s).date <= DAY + dt.timedelta(days=7)
    )  # fmt: skip
    assert demo(capsys, demo_cfg, "watchlist", "add", later)[0] == 0
    code, out, err = demo(capsys, demo_cfg, "scan", "--json")
    rows = {r["ticker"]: r for r in jsonl(out)}
    entering = [t for t, r in rows.items() if r["entry_date"] == DAY.isoformat()]
    assert code == 0
    assert rows[later]["entry_date"] > DAY.isoformat()
    assert (
        f"{len(rows)} names to scan: {len(entering)} names with entry on 2026-11-23, plus 1"
        " watchlist name reporting by 2026-11-30"
    ) in err


def test_backfill_json_lines(capsys: pytest.CaptureFixture[str], demo_cfg: Path) -> None:
    code, out, err = demo(capsys, demo_cfg, "backfill", "AAPL", "ZZZQ", "--quarters", "4", "--json")
    events = [strict_loads(line) for line in out.splitlines()]
    assert code == 1
    assert err == ""  # the human lines are not printed in --json mode
    by = {(e["event"], e.get("ticker")): e for e in events}
    assert by[("done", "AAPL")] == {"event": "done", "ticker": "AAPL", "completed": 1, "total": 2}
    failed = by[("failed", "ZZZQ")]
    assert failed["error"]["code"] == "not_found"
    assert failed["attempts"] == 1
    assert _is_utc_instant(failed["retry_after"])
    assert events[-1] == {
        "event": "summary", "total": 2, "done": 1, "failed": 1, "skipped": 0, "busy": 0,
        "left": 0, "stopped": None, "resume_at": None,
    }  # fmt: skip
    # Given up on, and not named: skipped, with why and until when.
    code, out, _ = demo(capsys, demo_cfg, "watchlist", "add", "ZZZQ")
    code, out, _ = demo(capsys, demo_cfg, "backfill", "--json")
    skipped = [e for e in map(strict_loads, out.splitlines()) if e["event"] == "skipped"]
    assert [(e["ticker"], e["why"]) for e in skipped] == [("ZZZQ", "given_up")]
    assert skipped[0]["error"].startswith("not_found")


def test_config_init_writes_mode_0600_and_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    target = home / "sub" / "config.toml"
    code, _, err = run(capsys, "config", "init", "--config", str(target))
    assert code == 0
    assert "wrote" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text(encoding="utf-8")
    assert "[tradier]" in text
    assert "[storage]" in text
    target.write_text("# mine\n", encoding="utf-8")
    code, _, err = run(capsys, "config", "init", "--config", str(target))
    assert code == 2
    assert "--force" in err
    assert target.read_text(encoding="utf-8") == "# mine\n"
    code, _, _ = run(capsys, "config", "init", "--config", str(target), "--force")
    assert code == 0
    assert target.read_text(encoding="utf-8") == text
    # Without --config: the platform config folder (XDG_CONFIG_HOME here).
    code, _, _ = run(capsys, "config", "init")
    default = home / "xdg_config_home" / "ivcrush" / "config.toml"
    assert code == 0
    assert stat.S_IMODE(default.stat().st_mode) == 0o600


def test_backfill_demo(capsys: pytest.CaptureFixture[str], demo_cfg: Path) -> None:
    code, _, err = demo(capsys, demo_cfg, "backfill", "AAPL", "MSFT", "--quarters", "8")
    assert code == 0
    assert "2 done, 0 failed of 2" in err
    code, _, err = demo(capsys, demo_cfg, "backfill", "ZZZQ")
    assert code == 1
    assert "ZZZQ: failed: not_found" in err
    assert "given up after 1 attempt; tried again after 2026-11-30 15:30 ET" in err  # 7 days later
    # health reports it (degraded, exit 1) with the reason and when it is tried again
    code, out, _ = demo(capsys, demo_cfg, "health", "--json")
    assert code == 1
    backfill = strict_loads(out)["components"][-1]
    assert (backfill["name"], backfill["status"]) == ("backfill", "degraded")
    assert "ZZZQ (not_found, retry after 2026-11-30 15:30 ET)" in backfill["detail"]
    assert backfill["last_error"]["code"] == "not_found"
    # named on the command line, it is tried again now (not skipped until its retry-after)
    code, _, err = demo(capsys, demo_cfg, "backfill", "ZZZQ")
    assert code == 1
    assert "ZZZQ: failed: not_found" in err
    assert "given up after 2 attempts" in err


# -- providers down (live mode over loopback sockets) ----------------------------------------------


def test_alpha_vantage_down_uses_the_store_and_codes_the_rest(
    capsys: pytest.CaptureFixture[str], home: Path, market: DemoMarket
) -> None:
    with (
        DemoServer(market, FaultConfig(tradier_limit_per_min=None), lambda: NOW) as tradier,
        DemoServer(market, FaultConfig(tradier_limit_per_min=None), lambda: NOW) as av,
    ):
        cfg = str(live_cfg(home, tradier, av))
        code, out, _ = run(capsys, "--config", cfg, "scan", "AAPL", "MSFT", "--json",
                           "--as-of", AS_OF)  # fmt: skip
        assert code == 0
        assert [r["status"] for r in jsonl(out)] == ["ok", "ok"]
        av.set_down(True)
        later = "2026-11-23T15:45-05:00"
        code, out, _ = run(capsys, "--config", cfg, "scan", "AAPL", "MSFT", "NVDA", "--json",
                           "--as-of", later)  # fmt: skip
    rows = {r["ticker"]: r for r in jsonl(out)}
    assert code == 1
    assert rows["AAPL"]["status"] == rows["MSFT"]["status"] == "ok"  # from the store
    assert rows["NVDA"]["status"] == "error"  # no stored history, Alpha Vantage down
    assert rows["NVDA"]["error"]["code"] in {"unavailable", "circuit_open"}
    assert rows["NVDA"]["error"]["correlation_id"]
    assert "alphavantage" in rows["NVDA"]["error"]["message"]


def test_tradier_down_every_ticker_fails_with_a_code(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    server.set_down(True)
    cfg = str(live_cfg(home, server))
    code, out, _ = run(capsys, "--config", cfg, "scan", "AAPL", "MSFT", "NVDA", "--json",
                       "--as-of", AS_OF)  # fmt: skip
    rows = jsonl(out)
    assert code == 1
    assert len(rows) == 3
    assert all(r["status"] == "error" for r in rows)
    assert {r["error"]["code"] for r in rows} <= {"unavailable", "circuit_open"}
    code, out, _ = run(capsys, "--config", cfg, "analyze", "AAPL", "--as-of", AS_OF)
    assert code == 1
    assert "unavailable" in out or "circuit_open" in out


def test_the_correlation_id_shown_for_a_failed_ticker_is_in_the_log_file(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    """RUNBOOK: copy the id the output shows, `grep <id>` the log. The ticker error, the retries
    given up and the circuit opening are WARNING lines in the file; the plain run's stderr does
    not repeat them (the rows already say it)."""
    server.set_down(True)
    cfg = str(live_cfg(home, server))
    tickers = ["AAPL", "MSFT", "NVDA", "JPM", "MU", "TSLA"]
    code, out, err = run(capsys, "--config", cfg, "scan", *tickers, "--json", "--as-of", AS_OF)
    rows = jsonl(out)
    assert code == 1
    for said in ("ticker failed", "retries exhausted", "circuit closed -> open", "refused"):
        assert said not in err
    code, human, _ = run(capsys, "--config", cfg, "analyze", "ORCL", "--as-of", AS_OF)
    assert code == 1
    log_text = (home / "log" / "ivcrush.log").read_text(encoding="utf-8")
    shown = [r["error"]["correlation_id"] for r in rows]
    shown.append(human.split("[")[-1].split("]")[0])  # analyze prints "  [<id>]" after the error
    for cid in shown:
        assert cid
        lines = [line for line in log_text.splitlines() if f"[{cid}]" in line]
        assert any(" WARNING " in line and "ticker failed" in line for line in lines), cid
    warnings = [line for line in log_text.splitlines() if " WARNING " in line]
    assert any("retries exhausted after 2 attempt(s): unavailable" in line for line in warnings)
    assert any("tradier circuit closed -> open after" in line for line in warnings)
    assert any("refused: circuit_open" in line for line in warnings)
    for line in warnings:  # every one of these names the operation it belongs to
        assert "[-]" not in line, line
    # -v brings them to stderr as well
    code, _, err = run(capsys, "--config", cfg, "-v", "analyze", "AAPL", "--json", "--as-of", AS_OF)
    assert "ticker failed" in err


# -- real subprocesses -----------------------------------------------------------------------------


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "ivcrush_tui", *args]


def test_version_is_fast_and_imports_nothing_heavy(home: Path) -> None:
    t0 = time.perf_counter()
    done = subprocess.run(_python("--version"), capture_output=True, text=True, timeout=30,
                          cwd=ROOT, env=child_env(home))  # fmt: skip
    wall = time.perf_counter() - t0
    assert done.returncode == 0
    assert done.stdout.strip().startswith("ivcrush ")
    assert wall < 3.0  # the benchmark measures it precisely (target 0.3 s)
    probe = (
        "import sys\nfrom ivcrush_tui.cli import main\ntry:\n    main(['--version'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'httpx', 'textual', 'aiosqlite', 'rich')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=30, cwd=ROOT, env=child_env(home))  # fmt: skip
    assert done.stdout.strip().endswith("[]"), done.stdout


def test_subprocess_scan_json_lines_only_on_stdout(demo_cfg: Path, home: Path) -> None:
    done = subprocess.run(
        _python("--demo", "-vv", "--config", str(demo_cfg), "scan", "AAPL", "ZZZZ", "--json",
                "--as-of", AS_OF),
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=child_env(home),
    )  # fmt: skip
    assert done.returncode == 1
    rows = [strict_loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["ticker"] for r in rows) == ["AAPL", "ZZZZ"]
    assert "DEBUG" in done.stderr  # -vv logs went to stderr, not stdout
    assert "Traceback" not in done.stderr


def _first_line(proc: subprocess.Popen[bytes]) -> str:
    """The child's first stdout line, read byte by byte from the unbuffered pipe: a buffered
    readline would keep the start of the next line in the parent's buffer, where
    `communicate()` (which reads the file descriptor itself) never sees it."""
    assert proc.stdout is not None
    out = bytearray()
    while not out.endswith(b"\n"):
        byte = proc.stdout.read(1)
        if not byte:
            break
        out += byte
    return out.decode()


def _rest(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """What the child writes after the first line, and its stderr, as text."""
    out, err = proc.communicate(timeout=10)
    return out.decode(), err.decode()


def test_ctrl_c_during_a_scan_exits_130_promptly(home: Path, market: DemoMarket) -> None:
    with DemoServer(
        market, FaultConfig(latency_ms=150, tradier_limit_per_min=None), lambda: NOW
    ) as srv:
        cfg = live_cfg(home, srv)
        tickers = list(market.symbols[:40])
        proc = subprocess.Popen(
            _python("--config", str(cfg), "scan", *tickers, "--json", "--as-of", AS_OF),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, cwd=ROOT,
            env=child_env(home),
        )  # fmt: skip
        first = _first_line(proc)  # results stream: one is out long before the end
        check_analysis(strict_loads(first))
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        try:
            rest, err = _rest(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        elapsed = time.perf_counter() - t0
    assert proc.returncode == 130
    # 0.3-0.9 s on a quiet machine, up to 1.8 s with other jobs on both cores (80 runs; what is
    # left is mostly interpreter teardown). It used to be 5 s now and then: a cancelled BEGIN took
    # the write lock after the task gave up, and the other connection waited out the busy timeout
    # (tests/integration/test_store.py pins that race down deterministically).
    assert elapsed < 2.0
    assert "interrupted" in err
    assert "Traceback" not in err
    lines = [first, *rest.splitlines()]
    assert len(lines) < len(tickers)
    for line in rest.splitlines():  # every line printed is whole
        check_analysis(strict_loads(line))
    with sqlite3.connect(home / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_sigterm_during_a_scan_shuts_down_cleanly_with_143(home: Path, market: DemoMarket) -> None:
    """A service manager's stop: like Ctrl-C (flush, close), then 143; the store stays whole."""
    with DemoServer(
        market, FaultConfig(latency_ms=150, tradier_limit_per_min=None), lambda: NOW
    ) as srv:
        cfg = live_cfg(home, srv)
        proc = subprocess.Popen(
            _python("--config", str(cfg), "scan", *market.symbols[:40], "--json", "--as-of", AS_OF),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, cwd=ROOT,
            env=child_env(home),
        )  # fmt: skip
        first = _first_line(proc)
        check_analysis(strict_loads(first))
        proc.send_signal(signal.SIGTERM)
        try:
            rest, err = _rest(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143
    assert "terminated" in err
    assert "Traceback" not in err
    assert len([first, *rest.splitlines()]) < 40
    for line in rest.splitlines():
        check_analysis(strict_loads(line))
    with sqlite3.connect(home / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # The first result's ledger row was flushed by the clean shutdown, not lost.
        assert conn.execute("SELECT COUNT(*) FROM analysis_snapshots").fetchone()[0] >= 1


def test_a_reader_closing_the_pipe_stops_the_scan_quietly(demo_cfg: Path, home: Path) -> None:
    """`ivcrush scan --json | head -1`: exit 141 (SIGPIPE convention), no traceback."""
    proc = subprocess.Popen(
        # Named tickers: a demo day has one or two names with entry, too few to fill the pipe.
        _python("--demo", "--config", str(demo_cfg), "scan", "AAPL", "MSFT", "NVDA", "JPM",
                "--json", "--as-of", AS_OF),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=child_env(home),
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    check_analysis(strict_loads(proc.stdout.readline().decode()))
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 141
    # Silent: no traceback, no "Broken pipe", and no "queued writes dropped" (issue 15): the
    # responses already fetched are written to the cache as on a normal exit.
    assert err == ""
    with sqlite3.connect(home / "db-demo.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables  # the store closed cleanly and is readable


def test_demo_server_command_serves_live_mode_on_loopback(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    """`ivcrush demo-server`, then live mode against it (docs/DEPLOYMENT.md): keys set, base URLs
    pointing at it. SIGTERM stops it with 0."""
    proc = subprocess.Popen(
        _python("demo-server", "--port", "0", "--as-of", DAY.isoformat(),
                "--tradier-limit-per-min", "0"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(home),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        tradier = proc.stdout.readline().strip().split("=", 1)
        av = proc.stdout.readline().strip().split("=", 1)
        assert tradier[0] == "TRADIER_BASE_URL"
        assert av[0] == "ALPHAVANTAGE_BASE_URL"
        cfg = home / "demo-live.toml"
        cfg.write_text(
            f'[tradier]\ntoken = "demo"\nbase_url = "{tradier[1]}"\n'
            f'[alphavantage]\napi_key = "demo"\nbase_url = "{av[1]}"\n'
            f'[storage]\npath = "{home / "db.sqlite3"}"\nlog_dir = "{home / "log"}"\n',
            encoding="utf-8",
        )
        code, out, _ = run(capsys, "--config", str(cfg), "analyze", "AAPL", "--json",
                           "--as-of", AS_OF)  # fmt: skip
        (row,) = jsonl(out)
        assert code == 0
        assert row["status"] == "ok"
        code, out, _ = run(capsys, "--config", str(cfg), "health", "--json", "--as-of", AS_OF)
        assert strict_loads(out)["mode"] == "live"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo-server", "--host", "0.0.0.0"], "binds only to 127.0.0.1"),
        (["demo-server", "--port", "70000"], "port out of range"),
        (["-v", "demo-server", "--latency-ms", "x"], "invalid float value"),
    ],
)
def test_demo_server_refuses_bad_options(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "ivcrush demo-server" in err


def test_help_lists_demo_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "demo-server" in capsys.readouterr().out
    assert main(["demo-server", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ivcrush demo-server")
    for option in ("--host", "--port", "--latency-ms", "--seed", "--error-rate"):
        assert option in out


def test_piped_human_output_is_not_cut_at_80_columns(demo_cfg: Path, home: Path) -> None:
    """`ivcrush health > status.txt`: a pipe has no width; rich's default 80 cut the details."""
    env = {k: v for k, v in child_env(home).items() if k != "COLUMNS"}
    done = subprocess.run(
        _python("--demo", "--config", str(demo_cfg), "health", "--as-of", AS_OF),
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    db_line = next(line for line in done.stdout.splitlines() if line.startswith("database"))
    assert str(home / "db-demo.sqlite3") in db_line  # whole, however long
    assert len(db_line.rstrip()) > 80
    assert max(len(line) for line in done.stdout.splitlines()) < 400  # sized to its content


def test_health_table_fits_80_columns_with_a_provider_down(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    server: DemoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    server.set_down(True)
    code, out, _ = run(capsys, "--config", str(live_cfg(home, server)), "health", "--as-of", AS_OF)
    lines = out.splitlines()
    assert code == 1
    assert "LIVE — down" in out
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = {line.split()[0]: line.split()[1] for line in lines if line.strip()[:1].islower()}
    assert rows["tradier"] == "down"
    assert rows["database"] == "healthy"
