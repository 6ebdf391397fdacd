"""Demo and live never mix (issue 12): separate database files, cache entries scoped to the
provider's base URL and account, a live Alpha Vantage quota that counts live calls only, and the
migration of a database that mixed the two. Real SQLite, real httpx against loopback servers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivcrush_tui.calendar import NY
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
        assert await db.schema_version() == LATEST_VERSION == 6
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
