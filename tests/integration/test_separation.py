"""Demo and live never mix (issue 12): separate database files, cache entries scoped to the
provider's base URL and account, a live Alpha Vantage quota that counts live calls only, and the
migration of a database that mixed the two. Real SQLite, real httpx against loopback servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import socket
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivcrush_tui.calendar import NY
from ivcrush_tui.config import (
    AlphaVantageSettings,
    Secret,
    TradierSettings,
    default_settings,
)
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.writebehind import WriteBehindCache
from ivcrush_tui.providers.alphavantage import AlphaVantageClient
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.providers.http import make_http_client
from ivcrush_tui.providers.tradier import TradierClient
from ivcrush_tui.store.cache import HybridCache
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.migrations import LATEST_VERSION
from ivcrush_tui.store.repositories import LedgerRepo, PrefsRepo, QuotaRepo, WatchlistRepo
from tests.integration.cli_support import check_analysis, run, strict_loads
from tests.integration.cli_support import home as home  # the isolated folders (a fixture)

DAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(dt.UTC)
TOKEN = "TRDRtok-sep-4411aa"  # distinctive fake credentials: grepped for in the cache
OTHER_TOKEN = "TRDRtok-sep-9922bb"
AV_KEY = "AVkey-sep-77QQ"


def _now() -> dt.datetime:
    return NOW


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(DAY)


@pytest.fixture
def servers(market: DemoMarket) -> Iterator[tuple[DemoServer, DemoServer]]:
    faults = FaultConfig(tradier_limit_per_min=None)
    with DemoServer(market, faults, _now) as a, DemoServer(market, faults, _now) as b:
        yield a, b


def _sent(server: DemoServer) -> int:
    return sum(server.request_counts.values())


# -- (e) two base URLs never share a cache entry ---------------------------------------------------


async def test_two_base_urls_or_two_accounts_never_share_a_cache_entry(
    tmp_path: Path, servers: tuple[DemoServer, DemoServer]
) -> None:
    a, b = servers
    async with (
        await Database.open(tmp_path / "ivcrush.sqlite3", clock=_now) as db,
        make_http_client(timeout_s=5.0) as http,
    ):
        # One cache (L1 + L2) under all the clients, as in a runtime.
        cache = WriteBehindCache(HybridCache(db, clock=_now))

        def tradier(server: DemoServer, token: str = TOKEN) -> TradierClient:
            return TradierClient(http, base_url=server.tradier_base, token=token, cache=cache)

        def av(server: DemoServer) -> AlphaVantageClient:
            return AlphaVantageClient(http, base_url=server.av_base, api_key=AV_KEY, cache=cache)

        first = await tradier(a).expirations("AAPL")
        assert (_sent(a), _sent(b)) == (1, 0)
        assert await tradier(a).expirations("AAPL") == first  # cached for the same origin
        assert _sent(a) == 1
        await tradier(b).expirations("AAPL")  # another server: asked, not served A's answer
        assert (_sent(a), _sent(b)) == (1, 1)
        await tradier(b, OTHER_TOKEN).expirations("AAPL")  # another account on that server
        assert _sent(b) == 2
        await av(a).earnings_history("AAPL")
        await av(b).earnings_history("AAPL")
        assert (_sent(a), _sent(b)) == (2, 3)
        await av(a).earnings_history("AAPL")
        assert (_sent(a), _sent(b)) == (2, 3)
        await cache.flush()
        rows = await db.fetchall("SELECT namespace, key FROM cache ORDER BY namespace, key")
    keys = [key for _, key in rows]
    assert len(rows) == 5
    assert len(set(keys)) == 5
    assert sum(key.startswith(a.tradier_base + "#") for key in keys) == 1
    assert sum(key.startswith(b.tradier_base + "#") for key in keys) == 2
    assert sum(key.startswith(a.av_base + "#") for key in keys) == 1
    assert sum(key.startswith(b.av_base + "#") for key in keys) == 1
    for secret in (TOKEN, OTHER_TOKEN, AV_KEY):  # the account is a hash, never the secret
        assert not any(secret in key for key in keys)


# -- (d) a database that mixed demo and live, migrated -------------------------------------------

_STAMP = "2026-11-20T20:00:00.000000+00:00"
_MIXED_V5 = (
    "INSERT INTO cache (namespace, key, value, expires_at, stored_at) VALUES"
    " ('tradier.expirations', 'symbol=AAPL', '{}', '2030-01-01T00:00:00.000000+00:00', NULL)",
    "INSERT INTO daily_prices VALUES ('AAPL', '2026-11-20', 1, 2, 0.5, 1.5, 100)",
    "INSERT INTO earnings_events (symbol, report_date, timing, source, fetched_at)"
    f" VALUES ('AAPL', '2026-11-24', 'AMC', 'alphavantage', '{_STAMP}')",
    "INSERT INTO historical_moves (symbol, report_date, timing, ref_close, computed_at)"
    f" VALUES ('AAPL', '2026-07-30', 'AMC', 210.0, '{_STAMP}')",
    f"INSERT INTO ticker_metadata (symbol, name, updated_at) VALUES ('AAPL', 'Apple', '{_STAMP}')",
    "INSERT INTO provider_quota VALUES ('alphavantage', '2026-11-20', 19)",
    "INSERT INTO backfill_progress (symbol, events_done, prices_done, updated_at)"
    f" VALUES ('AAPL', 1, 1, '{_STAMP}')",
    "INSERT INTO analysis_snapshots (symbol, taken_at, recommendation, payload_json, mode)"
    f" VALUES ('AAPL', '{_STAMP}', 'SELL', '{{}}', 'demo')",
    "INSERT INTO analysis_snapshots (symbol, taken_at, recommendation, payload_json, mode)"
    f" VALUES ('MSFT', '{_STAMP}', 'WATCH', '{{}}', 'live')",
    f"INSERT INTO watchlist VALUES ('MSFT', '{_STAMP}', 0), ('NVDA', '{_STAMP}', 1)",
    f"INSERT INTO preferences VALUES ('ui.theme', 'ivcrush-light', '{_STAMP}')",
    f"INSERT INTO preferences VALUES ('demo.watchlist_seeded', 'yes', '{_STAMP}')",
)
_DISCARDED = (
    "cache",
    "daily_prices",
    "earnings_events",
    "historical_moves",
    "ticker_metadata",
    "provider_quota",
    "backfill_progress",
)


async def test_migrating_a_mixed_database_discards_what_is_unproven_and_keeps_the_watchlist(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ivcrush.sqlite3"
    async with (
        await Database.open(path, clock=_now, target_version=5) as db,
        db.transaction() as tx,
    ):
        for statement in _MIXED_V5:
            await tx.execute(statement)
    async with await Database.open(path, clock=_now) as db:
        assert await db.schema_version() == LATEST_VERSION  # v6 and every later one
        for table in _DISCARDED:
            assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0, table
        assert await WatchlistRepo(db).list() == ("MSFT", "NVDA")
        (kept,) = await LedgerRepo(db).list()  # the demo row is gone
        assert (kept.symbol, kept.mode, kept.proven) == ("MSFT", "live", False)
        prefs = PrefsRepo(db)
        assert await prefs.get("ui.theme") == "ivcrush-light"
        assert await prefs.get("demo.watchlist_seeded") is None
        assert await QuotaRepo(db).used("alphavantage", "2026-11-20") == 0
        # What is stored from now on is proven.
        new_id = await LedgerRepo(db).add(dataclasses.replace(kept, id=None, taken_at=NOW))
        (new,) = [s for s in await LedgerRepo(db).list() if s.id == new_id]
        assert new.proven
        assert await db.integrity_check()


# -- the CLI end to end: (a) the leak reproduction, (b) no demo row in the live file, (c) quota

AS_OF = "2026-11-23T15:30-05:00"  # inside the entry window: an ok analysis enters the ledger
LIVE_TABLES = (
    "cache",
    "daily_prices",
    "earnings_events",
    "historical_moves",
    "ticker_metadata",
    "analysis_snapshots",
    "provider_quota",
    "backfill_progress",
    "watchlist",
)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(home: Path, *, tradier_base: str, av_base: str, daily_quota: int = 25) -> Path:
    """One config for both modes (keys come from the environment, as in production)."""
    path = home / "config.toml"
    path.write_text(
        f"""
[tradier]
base_url = "{tradier_base}"
timeout_s = 2.0
[alphavantage]
base_url = "{av_base}"
daily_quota = {daily_quota}
max_per_second = 100.0
timeout_s = 2.0
[resilience]
retry_attempts = 2
backoff_base_s = 0.01
backoff_max_s = 0.05
[storage]
path = "{home / "data" / "ivcrush.sqlite3"}"
log_dir = "{home / "log"}"
""",
        encoding="utf-8",
    )
    return path


def _counts(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in LIVE_TABLES}


def _av_quota(path: Path) -> tuple[int, int]:
    """Today's Alpha Vantage (counted, refunded) in the file at `path`."""
    day = NOW.astimezone(NY).date().isoformat()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = dict(conn.execute("SELECT provider, used FROM provider_quota WHERE day = ?", (day,)))
    assert set(rows) <= {"alphavantage", "alphavantage:refunded"}
    return rows.get("alphavantage", 0), rows.get("alphavantage:refunded", 0)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADIER_TOKEN", TOKEN)
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", AV_KEY)


def test_a_live_analyze_after_a_demo_one_never_uses_demo_data(
    capsys: pytest.CaptureFixture[str], home: Path, keys: None
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    cfg = _config(home, tradier_base=f"{dead}/v1", av_base=f"{dead}/query")
    live_db = home / "data" / "ivcrush.sqlite3"
    demo_db = home / "data" / "ivcrush-demo.sqlite3"
    base = ("--config", str(cfg))

    code, out, _ = run(capsys, "--demo", *base, "analyze", "AAPL", "--json", "--as-of", AS_OF)
    demo_result = strict_loads(out)
    assert (code, demo_result["status"]) == (0, "ok")
    assert demo_result["recommendation"] in {"SELL", "WATCH", "SKIP"}
    assert run(capsys, "--demo", *base, "watchlist", "add", "MSFT")[:2] == (0, "MSFT\n")
    # (b) The demo wrote its own file only, and the live one does not even exist yet.
    assert demo_db.exists()
    assert not live_db.exists()
    demo_rows = _counts(demo_db)
    assert demo_rows["cache"] > 0
    assert demo_rows["analysis_snapshots"] == 1
    assert demo_rows["watchlist"] == 1

    # (a) The same request, live, with both providers unreachable: an error, not demo data.
    code, out, _ = run(capsys, *base, "analyze", "AAPL", "--json", "--as-of", AS_OF)
    result = strict_loads(out)
    check_analysis(result)
    assert code == 1
    assert result["status"] == "error"
    assert result["error"]["code"] in {"unavailable", "circuit_open"}
    assert "tradier" in result["error"]["message"].lower()
    assert "recommendation" not in result
    # Human output says so too.
    code, out, _ = run(capsys, *base, "analyze", "AAPL", "--as-of", AS_OF)
    assert code == 1
    assert "error" in out.lower()
    assert "SELL" not in out

    # (b) The live file holds nothing of the demo's: no cache body, price, event, ledger row,
    # quota count or watchlist name.
    assert live_db.exists()
    assert _counts(live_db) == dict.fromkeys(LIVE_TABLES, 0) | {
        "provider_quota": _counts(live_db)["provider_quota"]
    }
    # The live quota: only the live attempts, each refunded (its connection never opened).
    assert _av_quota(live_db) == (4, 4)
    assert _counts(demo_db) == demo_rows | {"cache": _counts(demo_db)["cache"]}  # untouched
    assert stat.S_IMODE(live_db.stat().st_mode) == stat.S_IMODE(demo_db.stat().st_mode) == 0o600
    # The log says which run was which.
    log_text = (home / "log" / "ivcrush.log").read_text(encoding="utf-8")
    assert f"analyze DEMO mode, database {demo_db}" in log_text
    assert f"analyze LIVE mode, database {live_db}" in log_text
    assert TOKEN not in log_text
    assert AV_KEY not in log_text


def test_the_live_alpha_vantage_quota_counts_live_calls_only(
    capsys: pytest.CaptureFixture[str], home: Path, keys: None, market: DemoMarket
) -> None:
    with DemoServer(market, FaultConfig(tradier_limit_per_min=None), _now) as live:
        cfg = _config(home, tradier_base=live.tradier_base, av_base=live.av_base)
        base = ("--config", str(cfg))
        for args in (("analyze", "AAPL", "--json"), ("backfill", "AAPL", "MSFT"), ("scan", "NVDA")):
            code, _, _ = run(capsys, "--demo", *base, *args, "--as-of", AS_OF)
            assert code == 0, args
        assert _sent(live) == 0  # the demo never talks to the live providers

        code, out, _ = run(capsys, *base, "health", "--json", "--as-of", AS_OF)
        av = next(c for c in strict_loads(out)["components"] if c["name"] == "alphavantage")
        assert (code, av["budget_left"], av["budget_total"]) == (0, 25, 25)
        assert av["detail"] == "daily quota 25/25 left"

        code, out, _ = run(capsys, *base, "analyze", "AAPL", "--json", "--as-of", AS_OF)
        assert (code, strict_loads(out)["status"]) == (0, "ok")
        av_calls = live.request_counts.get("/alphavantage/query", 0)
        assert av_calls > 0

        code, out, _ = run(capsys, *base, "health", "--json", "--as-of", AS_OF)
        av = next(c for c in strict_loads(out)["components"] if c["name"] == "alphavantage")
        assert av["budget_left"] == 25 - av_calls
    assert _av_quota(home / "data" / "ivcrush.sqlite3") == (av_calls, 0)


async def test_a_demo_and_a_live_runtime_in_one_process_share_no_cache_level(
    tmp_path: Path, servers: tuple[DemoServer, DemoServer]
) -> None:
    live_server, _ = servers
    demo = default_settings(tmp_path / "ivcrush.sqlite3", demo=True)
    live = dataclasses.replace(
        demo,
        demo=False,
        tradier=TradierSettings(token=Secret(TOKEN), base_url=live_server.tradier_base),
        alphavantage=AlphaVantageSettings(api_key=Secret(AV_KEY), base_url=live_server.av_base),
    )
    clock = FixedClock(NOW)
    async with open_runtime(demo, clock) as d_rt, open_runtime(live, clock) as l_rt:
        assert d_rt.db.path != l_rt.db.path
        assert d_rt.cache is not l_rt.cache  # L1 lives in the runtime's cache: one per mode
        await d_rt.tradier.expirations("AAPL")
        for _ in range(200):  # the write-behind queue stores it a moment later
            if d_rt.cache.l1_size:
                break
            await asyncio.sleep(0.01)
        assert d_rt.cache.l1_size > 0
        assert l_rt.cache.l1_size == 0
        await l_rt.tradier.expirations("AAPL")
        assert _sent(live_server) == 1  # asked the live server: nothing served from the demo's


async def test_a_file_stamped_for_one_market_is_refused_by_the_other(tmp_path: Path) -> None:
    path = tmp_path / "ivcrush.sqlite3"
    async with await Database.open(path, clock=_now, mode="demo") as db:
        await WatchlistRepo(db).add(["AAPL"])
    async with await Database.open(path, clock=_now, mode="demo") as db:  # its own mode: fine
        assert await db.fetchval("SELECT mode FROM store_mode") == "demo"
    with pytest.raises(IvCrushError) as info:
        await Database.open(path, clock=_now, mode="live")
    assert info.value.code == ErrorCode.STORAGE
    assert "demo market's database" in info.value.message
    assert "[storage] path" in info.value.message


def test_a_live_config_pointing_at_the_demo_file_is_refused(
    capsys: pytest.CaptureFixture[str], home: Path, keys: None
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    cfg = _config(home, tradier_base=f"{dead}/v1", av_base=f"{dead}/query")
    code, _, _ = run(capsys, "--demo", "--config", str(cfg), "analyze", "AAPL", "--as-of", AS_OF)
    assert code == 0
    demo_db = home / "data" / "ivcrush-demo.sqlite3"
    before = _counts(demo_db)
    # Another configuration whose live file is that demo file.
    other = home / "other.toml"
    other.write_text(
        cfg.read_text(encoding="utf-8").replace("ivcrush.sqlite3", "ivcrush-demo.sqlite3"),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--config", str(other), "analyze", "AAPL", "--as-of", AS_OF)
    assert (code, out) == (1, "")
    assert "demo market's database" in err
    assert _counts(demo_db) == before
