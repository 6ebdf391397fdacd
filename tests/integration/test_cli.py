"""The headless CLI end to end, in process through `ivcrush_tui.cli.main([...])` (the real
subprocesses are in test_cli_processes.py): every command and flag; `--json` output parsed strictly
(no NaN/Infinity) and checked against the contract in docs/JSON.md (cli_support.py); exit codes
0/1; a provider down; streaming order. Bad input: test_cli_bad_input.py.
Storage, logs and config always live under tmp_path.
"""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivcrush_tui.engine import runtime as runtime_mod
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from tests.integration.cli_support import (
    AS_OF,
    DAY,
    NOW,
    TIERS,
    check_health,
    demo,
    is_utc_instant,
    jsonl,
    live_cfg,
    run,
    strict_loads,
)
from tests.integration.cli_support import demo_cfg as demo_cfg  # fixtures
from tests.integration.cli_support import home as home
from tests.integration.cli_support import market as market
from tests.integration.cli_support import server as server

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
    assert is_utc_instant(failed["retry_after"])
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
