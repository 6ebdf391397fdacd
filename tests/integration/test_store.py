"""The SQLite store on real files: migrations, repositories, the L1/L2 cache, several processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ivcrush_tui.domain import Bar, EarningsEvent, ErrorCode, IvCrushError, Timing
from ivcrush_tui.engine.backfill import lease_holder_gone, lease_owner
from ivcrush_tui.priority import current_priority
from ivcrush_tui.store import db as dbmod
from ivcrush_tui.store.cache import HybridCache
from ivcrush_tui.store.db import Database, StorageError, is_busy, retry_busy, to_iso
from ivcrush_tui.store.migrations import LATEST_VERSION
from ivcrush_tui.store.repositories import (
    BackfillRepo,
    EventsRepo,
    LedgerRepo,
    LedgerSnapshot,
    MetadataRepo,
    PrefsRepo,
    PricesRepo,
    QuotaRepo,
    TickerMetadata,
    WatchlistRepo,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2025, 7, 1, 19, 30, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "ivcrush.sqlite3"


def snapshot(symbol: str = "AAPL", **kw: object) -> LedgerSnapshot:
    base: dict[str, object] = {
        "symbol": symbol,
        "taken_at": T0,
        "earnings_date": dt.date(2025, 7, 31),
        "expiration": dt.date(2025, 8, 1),
        "spot": 210.5,
        "straddle": 9.8,
        "implied_move_pct": 4.66,
        "call_iv": 0.61,
        "put_iv": 0.63,
        "call_spread_pct": 2.1,
        "put_spread_pct": 2.4,
        "vrp_ratio": 1.72,
        "tier": "good",
        "recommendation": "SELL",
        "payload_json": json.dumps({"symbol": symbol}),
    }
    base.update(kw)
    return LedgerSnapshot(**base)  # type: ignore[arg-type]


# -- opening and migrations ----------------------------------------------------------------------


async def test_open_empty_creates_latest_schema_with_pragmas(
    db_path: Path, clock: FakeClock
) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        assert db.path == db_path
        assert await db.schema_version() == LATEST_VERSION == 11
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        for t in (
            "earnings_events",
            "historical_moves",
            "daily_prices",
            "ticker_metadata",
            "watchlist",
            "analysis_snapshots",
            "provider_quota",
            "cache",
            "backfill_progress",
            "preferences",
            "recorded_quotes",
            "recorded_analyses",
            "schema_version",
        ):
            assert t in tables
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") == dbmod.BUSY_SLICE_MS == 50
        assert await db.fetchval("PRAGMA synchronous") == 1  # NORMAL
        assert await db.integrity_check()


async def test_migration_from_version_1_preserves_data(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock, target_version=1) as db:
        assert await db.schema_version() == 1
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO analysis_snapshots (symbol, taken_at, spot, vrp_ratio, payload_json)"
                " VALUES ('MSFT', ?, 500.25, 1.9, '{}')",
                ("2025-06-30T19:45:00.000000+00:00",),
            )
        await WatchlistRepo(db).add(["msft", "nvda"])
        async with db.transaction() as tx:  # a backfill half done under version 1
            await tx.execute(
                "INSERT INTO backfill_progress (symbol, events_done, prices_done, updated_at,"
                " last_error) VALUES ('MSFT', 1, 0, ?, 'timeout: slow')",
                ("2025-06-30T19:45:00.000000+00:00",),
            )
        cols = [r[1] for r in await db.fetchall("PRAGMA table_info(analysis_snapshots)")]
        assert "mode" not in cols
    # Up to version 5 (version 6 discards what predates the demo/live split: see
    # tests/integration/test_separation.py).
    async with await Database.open(db_path, clock=clock, target_version=5) as db:
        assert await db.schema_version() == 5
        row = await db.fetchone("SELECT symbol, spot, vrp_ratio, mode FROM analysis_snapshots")
        assert tuple(row or ()) == ("MSFT", 500.25, 1.9, "live")
        assert await WatchlistRepo(db).list() == ("MSFT", "NVDA")
        indexes = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"ix_snapshots_symbol_taken", "ix_cache_expires"} <= indexes
        cache_cols = [r[1] for r in await db.fetchall("PRAGMA table_info(cache)")]
        assert "stored_at" in cache_cols
        versions = [r[0] for r in await db.fetchall("SELECT version FROM schema_version")]
        assert versions == [1, 2, 3, 4, 5]
        progress = await BackfillRepo(db).get("MSFT")
        assert progress is not None
        assert (progress.events_done, progress.prices_done, progress.last_error) == (
            True,
            False,
            "timeout: slow",
        )
        assert (progress.attempts, progress.retry_after, progress.failed) == (0, None, False)
        assert await db.integrity_check()
    async with await Database.open(db_path, clock=clock) as db:
        (snap,) = await LedgerRepo(db).list()
        assert (snap.symbol, snap.spot, snap.vrp_ratio, snap.mode) == ("MSFT", 500.25, 1.9, "live")
        assert snap.taken_at == dt.datetime(2025, 6, 30, 19, 45, tzinfo=dt.UTC)
        assert not snap.proven  # stored before demo and live had a file each
        assert await WatchlistRepo(db).list() == ("MSFT", "NVDA")


async def test_reopen_is_idempotent(db_path: Path, clock: FakeClock) -> None:
    for _ in range(3):
        async with await Database.open(db_path, clock=clock) as db:
            assert await db.schema_version() == LATEST_VERSION
    async with await Database.open(db_path, clock=clock) as db:
        assert await db.fetchval("SELECT COUNT(*) FROM schema_version") == LATEST_VERSION


async def test_another_database_on_the_same_file_skips_the_check_and_migrations(
    db_path: Path, clock: FakeClock
) -> None:
    # The runtime's second store user (the response cache): the same file, set up as `open`
    # sets one up, without a second check and migration pass (a stopped-early file stays so).
    async with await Database.open(db_path, clock=clock, target_version=3) as db:
        other = await db.open_another()
        try:
            assert other.path == db.path
            assert await other.schema_version() == 3  # not migrated on to the latest
            assert await other.fetchval("PRAGMA journal_mode") == "wal"
            assert await other.fetchval("PRAGMA foreign_keys") == 1
            assert await other.fetchval("PRAGMA busy_timeout") == dbmod.BUSY_SLICE_MS
            async with other.transaction() as tx:  # its writes are the file's
                await tx.execute(
                    "INSERT INTO preferences (key, value, updated_at) VALUES ('k', 'v', 'now')"
                )
            assert await db.fetchval("SELECT value FROM preferences WHERE key = 'k'") == "v"
        finally:
            await other.close()
        assert await db.fetchval("SELECT COUNT(*) FROM preferences") == 1  # db still open
    with pytest.raises(StorageError):
        await db.open_another()  # closed: no new connections behind its back


async def test_newer_schema_is_refused(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db, db.transaction() as tx:
        await tx.execute("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01')")
    with pytest.raises(IvCrushError) as info:
        await Database.open(db_path, clock=clock)
    assert info.value.code == ErrorCode.STORAGE
    assert "newer" in info.value.message


async def test_not_a_database_is_a_storage_error(tmp_path: Path, clock: FakeClock) -> None:
    bad = tmp_path / "junk.sqlite3"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError) as info:
        await Database.open(bad, clock=clock)
    assert info.value.code == ErrorCode.STORAGE


async def test_transaction_rolls_back_on_error(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:

        async def failing_body() -> None:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO watchlist (symbol, added_at, position) VALUES ('X', 'now', 0)"
                )
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await failing_body()
        assert await WatchlistRepo(db).list() == ()
        # The connection is usable again (the write lock was released).
        assert await WatchlistRepo(db).add(["Y"]) == ("Y",)


async def test_the_most_urgent_waiter_uses_the_connection_next(
    db_path: Path, clock: FakeClock
) -> None:
    # A scan's earliest ticker must not queue behind forty others' reads: the connection goes to
    # the waiter with the lowest priority (current_priority), not to the first one to ask.
    async with await Database.open(db_path, clock=clock) as db:
        release = asyncio.Event()
        writes: list[str] = []
        reads: list[str] = []

        async def holder() -> None:
            async with db.transaction():
                await release.wait()

        async def writer(name: str, rank: float) -> None:
            current_priority.set(rank)  # this task's context only
            async with db.transaction():
                writes.append(name)

        async def reader(name: str, rank: float) -> None:
            current_priority.set(rank)
            await db.fetchall("SELECT 1")
            reads.append(name)

        hold = asyncio.create_task(holder())
        # A long read holds the reading connection (~0.2-0.5 s of counting).
        slow = asyncio.create_task(
            db.fetchall(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                " WHERE x < 3000000) SELECT COUNT(*) FROM c"
            )
        )
        await asyncio.sleep(0.05)  # both connections are held
        late = [
            asyncio.create_task(task(f"rank{r}", float(r)))
            for r in (30, 20)
            for task in (writer, reader)
        ]
        await asyncio.sleep(0.01)
        first = [asyncio.create_task(task("rank1", 1.0)) for task in (writer, reader)]
        await asyncio.sleep(0.01)  # the most urgent asked last
        release.set()
        await asyncio.gather(hold, slow, *first, *late)
        assert writes == ["rank1", "rank20", "rank30"]
        assert reads == ["rank1", "rank20", "rank30"]


async def test_a_read_does_not_wait_for_another_tasks_transaction(
    db_path: Path, clock: FakeClock
) -> None:
    # Reads go to their own connection: they see the last commit while a transaction is open
    # (WAL), and a transaction's own reads see its uncommitted rows.
    async with await Database.open(db_path, clock=clock) as db:
        await WatchlistRepo(db).add(["OLD"])
        inserted, release = asyncio.Event(), asyncio.Event()

        async def writer() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO watchlist VALUES ('NEW', '2025-01-01', 1)")
                assert await db.fetchval("SELECT COUNT(*) FROM watchlist") == 2  # its own view
                inserted.set()
                await release.wait()

        task = asyncio.create_task(writer())
        await inserted.wait()
        t0 = time.perf_counter()
        assert await WatchlistRepo(db).list() == ("OLD",)  # the last commit, at once
        assert time.perf_counter() - t0 < 0.5
        release.set()
        await task
        assert await WatchlistRepo(db).list() == ("OLD", "NEW")
        with pytest.raises(StorageError, match="readonly"):  # the read path cannot write
            await db.fetchall("INSERT INTO watchlist VALUES ('X', '2025-01-01', 2)")


async def test_cancelled_transaction_releases_the_lock(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        started = asyncio.Event()

        async def slow() -> None:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO watchlist (symbol, added_at, position) VALUES ('Z', 'now', 0)"
                )
                started.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(slow())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await WatchlistRepo(db).list() == ()
        assert await WatchlistRepo(db).add(["Q"]) == ("Q",)


async def test_a_begin_cancelled_before_it_ran_never_keeps_the_write_lock(
    db_path: Path, clock: FakeClock
) -> None:
    """Issue #4 (Ctrl-C waited ~5 s): a task cancelled while its BEGIN IMMEDIATE is still queued
    on the connection's thread gives up before the BEGIN runs. The BEGIN then ran anyway and held
    the write lock until close, so the process's other connection (the L2 cache) waited out the
    whole busy timeout. The ROLLBACK must follow that BEGIN, not depend on a racy check."""
    async with (
        await Database.open(db_path, clock=clock) as repos,
        await Database.open(db_path, clock=clock) as cache,
    ):
        # Occupy the repos connection's thread so the BEGIN below stays queued behind this.
        conn = repos._conn  # private: the test needs that connection's own thread
        blocker = asyncio.ensure_future(conn._execute(time.sleep, 0.3))  # type: ignore[no-untyped-call]
        task = asyncio.create_task(WatchlistRepo(repos).add(["LOST"]))
        await asyncio.sleep(0.05)  # the task is now waiting for its queued BEGIN
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await blocker  # the queued BEGIN IMMEDIATE has run by now, and what followed it
        t0 = time.perf_counter()
        assert await WatchlistRepo(cache).add(["NEXT"]) == ("NEXT",)
        assert time.perf_counter() - t0 < 1.0  # was 5 s and more: the lock was never released
        assert not conn.in_transaction
        assert await WatchlistRepo(repos).list() == ("NEXT",)


async def test_a_cancelled_wait_for_a_lock_held_elsewhere_ends_at_once(
    db_path: Path, clock: FakeClock
) -> None:
    """Waiting for another process's lock is cancellable: the thread sleeps in SQLite's busy
    handler for one short slice at most, so the ROLLBACK and close queued behind it are prompt."""
    async with await Database.open(db_path, clock=clock) as db:
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            task = asyncio.create_task(WatchlistRepo(db).add(["WAITS"]))
            await asyncio.sleep(0.3)  # several busy attempts by now
            t0 = time.perf_counter()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await db.close()
            assert time.perf_counter() - t0 < dbmod.BUSY_SLICE_MS / 1000 + 0.5
        finally:
            other.execute("ROLLBACK")
            other.close()


async def test_a_lock_held_longer_than_the_busy_wait_is_a_storage_error(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "BUSY_WAIT_S", 0.3)
    async with await Database.open(db_path, clock=clock) as db:
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            t0 = time.perf_counter()
            with pytest.raises(StorageError, match="locked"):
                await WatchlistRepo(db).add(["NEVER"])
            assert 0.3 <= time.perf_counter() - t0 < 0.3 + 1.0
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await WatchlistRepo(db).add(["LATER"]) == ("LATER",)


async def test_nested_transaction_is_refused(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db, db.transaction():
        with pytest.raises(StorageError, match="nested"):
            async with db.transaction():
                pass


async def test_a_writer_waits_for_a_lock_held_by_another_connection(
    db_path: Path, clock: FakeClock
) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO watchlist VALUES ('HELD', '2025-01-01', 0)")
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, other.execute, "COMMIT")  # released while we wait
            assert await WatchlistRepo(db).add(["NEXT"]) == ("NEXT",)
            assert await WatchlistRepo(db).list() == ("HELD", "NEXT")
        finally:
            other.close()


async def test_retry_busy_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbmod, "BUSY_BACKOFF_S", 0.001)
    busy = sqlite3.OperationalError("database is locked")
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise busy
        return "ok"

    assert await retry_busy(flaky, what="test") == "ok"
    assert calls == 3

    async def always_busy() -> str:
        nonlocal calls
        calls += 1
        raise busy

    monkeypatch.setattr(dbmod, "BUSY_WAIT_S", 0.2)
    calls = 0
    t0 = time.perf_counter()
    with pytest.raises(sqlite3.OperationalError):
        await retry_busy(always_busy, what="test")
    assert 0.2 <= time.perf_counter() - t0 < 0.2 + dbmod.BUSY_BACKOFF_MAX_S + 0.3
    assert calls > 3  # it kept trying until the time was up

    async def broken() -> str:
        nonlocal calls
        calls += 1
        raise sqlite3.OperationalError("no such table: x")

    calls = 0
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await retry_busy(broken, what="test")
    assert calls == 1  # only "busy" is retried
    assert is_busy(busy)
    assert not is_busy(sqlite3.OperationalError("no such table: x"))


def test_times_are_stored_as_fixed_width_utc() -> None:
    ny = dt.timezone(dt.timedelta(hours=-4))
    assert to_iso(dt.datetime(2025, 7, 1, 15, 30, tzinfo=ny)) == "2025-07-01T19:30:00.000000+00:00"
    with pytest.raises(StorageError):
        to_iso(dt.datetime(2025, 7, 1, 15, 30))


# -- the cache -----------------------------------------------------------------------------------


async def test_l2_is_reused_after_reopening(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        cache = HybridCache(db, clock=clock)
        await cache.put("av.earnings", "AAPL", '{"a": 1}', ttl_s=86400)
        await cache.put("tradier.quotes", "AAPL", '{"q": 2}', ttl_s=3600)
    clock.advance(60)
    async with await Database.open(db_path, clock=clock) as db:
        cache = HybridCache(db, clock=clock)
        assert await cache.get("av.earnings", "AAPL") == '{"a": 1}'
        assert await cache.get("tradier.quotes", "AAPL") == '{"q": 2}'
        assert cache.stats().hits_l2 == 2
        assert await cache.get("av.earnings", "AAPL") == '{"a": 1}'  # now from L1
        stats = cache.stats()
        assert (stats.hits_l1, stats.hits_l2, stats.misses) == (1, 2, 0)
        assert stats.hit_rate == 1.0
    # Quotes are capped at l2_ttl_s (300 s) in L2 even though the caller asked for an hour.
    clock.advance(300)
    async with await Database.open(db_path, clock=clock) as db:
        cache = HybridCache(db, clock=clock)
        assert await cache.get("tradier.quotes", "AAPL") is None
        assert await cache.get("av.earnings", "AAPL") == '{"a": 1}'
        assert cache.stats().misses == 1


async def test_an_entry_stored_after_now_is_not_served(db_path: Path, clock: FakeClock) -> None:
    # A run with an earlier --as-of than the one that stored an entry must not read it: on the
    # demo market it is another instant's answer.
    later = FakeClock(T0 + dt.timedelta(hours=18))
    async with await Database.open(db_path, clock=later) as db:
        await HybridCache(db, clock=later).put("tradier.chain", "AAPL", "tomorrow", ttl_s=30)
    async with await Database.open(db_path, clock=clock) as db:
        cache = HybridCache(db, clock=clock)
        assert await cache.get("tradier.chain", "AAPL") is None  # stored 18 h after "now"
        async with db.transaction() as tx:  # a row from before version 5: no stored_at
            await tx.execute(
                "INSERT INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)",
                ("av.earnings", "AAPL", "old", to_iso(T0 + dt.timedelta(hours=1))),
            )
        assert await cache.get("av.earnings", "AAPL") == "old"
    async with await Database.open(db_path, clock=later) as db:
        later.advance(10)  # the storing run's own clock, 10 s on: served
        assert await HybridCache(db, clock=later).get("tradier.chain", "AAPL") == "tomorrow"


async def test_l1_ttl_lru_and_expiry(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        cache = HybridCache(db, clock=clock, l1_ttl_s=30, l1_max_entries=2)
        await cache.put("ns", "a", "A", ttl_s=100)
        await cache.put("ns", "b", "B", ttl_s=100)
        assert await cache.get("ns", "a") == "A"  # L1; "a" becomes most recent
        await cache.put("ns", "c", "C", ttl_s=100)  # evicts "b" (least recent)
        assert cache.l1_size == 2
        assert await cache.get("ns", "b") == "B"  # from L2
        assert cache.stats().hits_l2 == 1
        clock.advance(31)  # past the L1 TTL, inside the L2 TTL
        assert await cache.get("ns", "a") == "A"
        assert cache.stats().hits_l2 == 2
        clock.advance(70)  # past the caller's TTL: gone everywhere
        assert await cache.get("ns", "a") is None
        assert await cache.get("ns", "c") is None
        await cache.put("ns", "short", "S", ttl_s=5)
        clock.advance(6)
        assert await cache.get("ns", "short") is None  # L1 TTL is min(l1_ttl_s, ttl_s)
        await cache.put("ns", "never", "N", ttl_s=0)
        assert await cache.get("ns", "never") is None
        s = cache.stats()
        assert s.misses == 4
        assert s.hit_rate == pytest.approx((s.hits_l1 + s.hits_l2) / s.lookups)


async def test_expired_rows_are_purged(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        cache = HybridCache(db, clock=clock)
        for i in range(5):
            await cache.put("ns", f"k{i}", "v", ttl_s=10)
        await cache.put("ns", "keep", "v", ttl_s=10_000)
        clock.advance(20)
        assert await cache.purge_expired() == 5
        assert await db.fetchval("SELECT COUNT(*) FROM cache") == 1
        await cache.put("ns", "old", "v", ttl_s=10)
        clock.advance(3600)
        # A lookup does not purge (a fresh process's first lookup must not wait for a write) ...
        assert await cache.get("ns", "missing") is None
        assert await cache.get("ns", "old") is None  # ... and never serves an expired row
        assert await db.fetchval("SELECT COUNT(*) FROM cache") == 2
        # The periodic purge runs with the next L2 write.
        await cache.put("ns", "new", "v", ttl_s=10)
        keys = await db.fetchall("SELECT key FROM cache ORDER BY key")
        assert [k[0] for k in keys] == ["keep", "new"]


async def test_cache_survives_a_closed_database(db_path: Path, clock: FakeClock) -> None:
    db = await Database.open(db_path, clock=clock)
    cache = HybridCache(db, clock=clock)
    await db.close()
    await cache.put("ns", "k", "v", ttl_s=60)  # L2 write fails: logged, L1 still serves
    assert await cache.get("ns", "k") == "v"
    assert await cache.get("ns", "other") is None
    assert cache.stats().l2_errors == 3  # the periodic purge and the write, the read


# -- repositories --------------------------------------------------------------------------------


async def test_watchlist_edits_survive_reopen(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        wl = WatchlistRepo(db)
        assert await wl.add(["nvda", "AAPL", " msft ", "aapl"]) == ("NVDA", "AAPL", "MSFT")
        assert await wl.add(["AAPL", "TSLA"]) == ("TSLA",)  # idempotent
        assert await wl.remove(["MSFT", "ZZZZ"]) == ("MSFT",)
        with pytest.raises(IvCrushError) as info:
            await wl.add(["bad symbol!"])
        assert info.value.code == ErrorCode.INVALID_SYMBOL
    async with await Database.open(db_path, clock=clock) as db:
        wl = WatchlistRepo(db)
        assert await wl.list() == ("NVDA", "AAPL", "TSLA")
        entries = await wl.entries()
        assert [e.symbol for e in entries] == ["NVDA", "AAPL", "TSLA"]
        assert all(e.added_at == T0 for e in entries)


async def test_quota_counters_persist_and_are_atomic(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        q = QuotaRepo(db)
        assert await q.used("alphavantage", "2025-07-01") == 0
        results = await asyncio.gather(*(q.add("alphavantage", "2025-07-01") for _ in range(30)))
        assert sorted(results) == list(range(1, 31))
        assert await q.add("alphavantage", "2025-07-01", 5) == 35
        assert await q.add("tradier", "2025-07-01") == 1
        with pytest.raises(IvCrushError):
            await q.add("alphavantage", "07/01/2025")
    async with await Database.open(db_path, clock=clock) as db:
        q = QuotaRepo(db)
        assert await q.used("alphavantage", "2025-07-01") == 35
        assert await q.used("alphavantage", "2025-07-02") == 0
        assert await q.used("tradier", "2025-07-01") == 1


async def test_events_upsert_and_queries(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        ev = EventsRepo(db)
        history = [
            EarningsEvent("AAPL", dt.date(2025, 1, 30), Timing.AMC, eps_reported=2.40),
            EarningsEvent("AAPL", dt.date(2025, 5, 1), Timing.AMC, eps_reported=1.65),
            EarningsEvent("AAPL", dt.date(2024, 10, 31), Timing.AMC, eps_reported=1.64),
        ]
        assert await ev.upsert(history, fetched_at=T0) == 3
        calendar = [
            EarningsEvent("AAPL", dt.date(2025, 7, 31), Timing.UNKNOWN, eps_estimate=1.42),
            EarningsEvent("MSFT", dt.date(2025, 7, 30), Timing.AMC, name="Microsoft"),
        ]
        later = T0 + dt.timedelta(hours=1)
        await ev.upsert(calendar, fetched_at=later)
        # A later feed without EPS or timing keeps what is known.
        await ev.upsert([EarningsEvent("AAPL", dt.date(2025, 5, 1), Timing.UNKNOWN)], fetched_at=T0)
        past = await ev.past("aapl", before=dt.date(2025, 7, 1), limit=2)
        assert [e.date for e in past] == [dt.date(2025, 5, 1), dt.date(2025, 1, 30)]
        assert past[0].timing == Timing.AMC
        assert past[0].eps_reported == 1.65
        nxt = await ev.upcoming("AAPL", on_or_after=dt.date(2025, 7, 1))
        assert nxt is not None
        assert nxt.date == dt.date(2025, 7, 31)
        assert nxt.eps_estimate == 1.42
        assert await ev.upcoming("AAPL", on_or_after=dt.date(2025, 8, 1)) is None
        window = await ev.between(dt.date(2025, 7, 29), dt.date(2025, 7, 31))
        assert [(e.symbol, e.name) for e in window] == [("MSFT", "Microsoft"), ("AAPL", None)]
        assert await ev.last_fetched("AAPL") == later
        assert await ev.last_fetched("NONE") is None


async def test_the_calendar_replaces_the_upcoming_events_it_covers(
    db_path: Path, clock: FakeClock
) -> None:
    today = dt.date(2026, 11, 23)
    d = dt.date
    async with await Database.open(db_path, clock=clock) as db:
        ev = EventsRepo(db)
        await ev.upsert(
            [
                EarningsEvent("AAPL", d(2026, 10, 30), Timing.AMC, eps_reported=1.6),  # past
                EarningsEvent("KO", today, Timing.AMC),  # tonight: kept, listed or not
                EarningsEvent("AAPL", d(2026, 11, 24), Timing.AMC, eps_estimate=1.5),  # moves
                EarningsEvent("MSFT", d(2026, 12, 2), Timing.AMC),  # listed again
                EarningsEvent("ORCL", d(2026, 12, 9), Timing.BMO),  # withdrawn
                EarningsEvent("NKE", d(2027, 6, 30), Timing.AMC),  # beyond the calendar
            ],
            fetched_at=T0,
        )
        calendar = [
            EarningsEvent("AAPL", d(2026, 11, 30), Timing.AMC, eps_estimate=1.5),
            EarningsEvent("MSFT", d(2026, 12, 2), Timing.UNKNOWN),
            EarningsEvent("KO", d(2027, 2, 10), Timing.BMO),
        ]
        dropped = await ev.replace_upcoming(calendar, today=today, fetched_at=T0)
        assert sorted(dropped) == [("AAPL", d(2026, 11, 24)), ("ORCL", d(2026, 12, 9))]
        aapl = await ev.upcoming("AAPL", on_or_after=today)
        assert aapl is not None
        assert aapl.date == d(2026, 11, 30)  # not the stale 11-24
        assert await ev.upcoming("ORCL", on_or_after=today) is None
        msft = await ev.upcoming("MSFT", on_or_after=today)
        assert msft is not None
        assert msft.timing is Timing.AMC  # the known timing kept, as upsert does
        assert [e.date for e in await ev.past("AAPL", before=today)] == [d(2026, 10, 30)]
        nke = await ev.upcoming("NKE", on_or_after=today)
        assert nke is not None  # after the calendar's last date: not its to judge
        ko = await ev.upcoming("KO", on_or_after=today)
        assert ko is not None
        assert ko.date == today  # today's release stays (the calendar lists KO in February)
        # An empty answer erases nothing.
        assert await ev.replace_upcoming([], today=today, fetched_at=T0) == []
        assert await ev.upcoming("AAPL", on_or_after=today) is not None


@pytest.mark.parametrize(
    ("event_in_days", "record_age_h", "expected"),
    [
        (None, None, True),  # never fetched
        (3, 23, False),  # near event, fresh record
        (3, 25, True),  # near event, record older than 24 h
        (7, 25, True),  # 7 days away is "within 7 days"
        (0, 25, True),  # the report day itself
        (8, 25, False),  # farther than 7 days, record younger than 7 days
        (8, 7 * 24 + 1, True),  # farther, record older than 7 days
        (-1, 6 * 24, False),  # only past events, younger than 7 days
        (-1, 7 * 24 + 1, True),  # only past events, older than 7 days
    ],
)
async def test_needs_refresh_rules(
    db_path: Path,
    clock: FakeClock,
    event_in_days: int | None,
    record_age_h: float | None,
    expected: bool,
) -> None:
    today = dt.date(2025, 7, 1)
    now = dt.datetime(2025, 7, 1, 14, 0, tzinfo=dt.UTC)
    async with await Database.open(db_path, clock=clock) as db:
        ev = EventsRepo(db)
        if event_in_days is not None and record_age_h is not None:
            fetched = now - dt.timedelta(hours=record_age_h)
            day = today + dt.timedelta(days=event_in_days)
            await ev.upsert([EarningsEvent("AAPL", day, Timing.AMC)], fetched_at=fetched)
        assert await ev.needs_refresh("AAPL", today, now) is expected


async def test_prices_repo(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        pr = PricesRepo(db)
        assert await pr.last_day("AAPL") is None
        bars = [
            Bar(dt.date(2025, 6, d), 100.0 + d, 102.0 + d, 99.0 + d, 101.0 + d, 1_000_000 + d)
            for d in (2, 3, 4, 5)
        ]
        assert await pr.upsert("AAPL", bars) == 4
        await pr.upsert("AAPL", [Bar(dt.date(2025, 6, 5), 1, 2, 0.5, 1.5, 7)])  # replaces
        got = await pr.bars("AAPL", dt.date(2025, 6, 3), dt.date(2025, 6, 5))
        assert [b.day.day for b in got] == [3, 4, 5]
        assert got[0] == bars[1]
        assert got[-1] == Bar(dt.date(2025, 6, 5), 1.0, 2.0, 0.5, 1.5, 7)
        assert await pr.last_day("aapl") == dt.date(2025, 6, 5)
        with pytest.raises(IvCrushError) as info:
            await pr.upsert("AAPL", [Bar(dt.date(2025, 6, 6), float("nan"), 1, 1, 1, 1)])
        assert info.value.code == ErrorCode.BAD_PAYLOAD
        assert await pr.last_day("AAPL") == dt.date(2025, 6, 5)


async def test_ledger_metadata_backfill(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        ledger = LedgerRepo(db)
        a = await ledger.add(snapshot("AAPL"))
        b = await ledger.add(snapshot("MSFT", taken_at=T0 + dt.timedelta(minutes=1), mode="demo"))
        c = await ledger.add(snapshot("AAPL", taken_at=T0 + dt.timedelta(minutes=2), spot=None))
        assert a < b < c
        assert [s.id for s in await ledger.list()] == [c, b, a]
        aapl = await ledger.list("AAPL", limit=1)
        assert len(aapl) == 1
        assert aapl[0].id == c
        assert aapl[0].spot is None
        assert (await ledger.list("MSFT"))[0].mode == "demo"
        assert (await ledger.list("AAPL"))[1] == snapshot("AAPL", id=a)
        with pytest.raises(IvCrushError):
            await ledger.add(snapshot(vrp_ratio=float("inf")))
        with pytest.raises(IvCrushError):
            await ledger.add(snapshot(payload_json='{"x": NaN}'))
        assert len(await ledger.list()) == 3

        meta = MetadataRepo(db)
        await meta.upsert(TickerMetadata("aapl", "Apple Inc.", "Tech", "Hardware", 3.1e12))
        got = await meta.get("AAPL")
        assert got == TickerMetadata("AAPL", "Apple Inc.", "Tech", "Hardware", 3.1e12, T0)
        assert await meta.get("NONE") is None

        bf = BackfillRepo(db)
        assert await bf.pending(["AAPL", "MSFT"]) == ("AAPL", "MSFT")
        await bf.mark("AAPL", events_done=True)
        p = await bf.mark("AAPL", prices_done=True)
        assert p.done
        assert p.last_error is None
        p = await bf.mark("MSFT", events_done=True, error="timeout")
        assert not p.done
        assert p.last_error == "timeout"
        assert await bf.pending(["aapl", "msft"]) == ("MSFT",)
        assert [x.symbol for x in await bf.all()] == ["AAPL", "MSFT"]
        assert await bf.reset(["AAPL"]) == 1
        assert await bf.get("AAPL") is None


async def test_backfill_leases_one_owner_at_a_time_until_they_lapse(
    db_path: Path, clock: FakeClock
) -> None:
    lease = dt.timedelta(minutes=5)
    async with (
        await Database.open(db_path, clock=clock) as db,
        await Database.open(db_path, clock=clock) as other,  # a second process's connection
    ):
        mine, theirs = BackfillRepo(db), BackfillRepo(other)
        assert await mine.claim("aapl", "p1", lease)
        assert not await theirs.claim("AAPL", "p2", lease)  # held
        assert await mine.claim("AAPL", "p1", lease)  # the owner may renew
        assert await theirs.claim("MSFT", "p2", lease)  # another ticker is free
        clock.advance(lease.total_seconds())
        assert await theirs.claim("AAPL", "p2", lease)  # lapsed: a killed run holds nothing
        await mine.release("AAPL", "p1")  # not p1's any more: nothing happens
        assert not await mine.claim("AAPL", "p1", lease)
        await theirs.release("AAPL", "p2")
        assert await mine.claim("AAPL", "p1", lease)


async def test_a_killed_backfills_lease_is_taken_over_at_once(
    db_path: Path, clock: FakeClock
) -> None:
    # A run killed with -9 holds its lease for 5 minutes; a rerun must not wait that out.
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await child.wait()  # reaped: its pid names no process any more
    dead_owner = f"{socket.gethostname()}:{child.pid}:abcd1234"
    lease = dt.timedelta(minutes=5)
    async with await Database.open(db_path, clock=clock) as db:
        repo = BackfillRepo(db)
        assert await repo.claim("AAPL", dead_owner, lease)
        assert await repo.claim("AAPL", lease_owner(), lease, holder_gone=lease_holder_gone)
        # A live holder (this process) is respected.
        assert not await repo.claim("AAPL", "elsewhere:1:x", lease, holder_gone=lease_holder_gone)


async def test_backfill_gives_up_on_a_symbol_for_a_while(db_path: Path, clock: FakeClock) -> None:
    day = dt.timedelta(days=1)
    async with await Database.open(db_path, clock=clock) as db:
        bf = BackfillRepo(db)
        await bf.mark("SLOW", events_done=True)
        for attempt in (1, 2):
            p = await bf.record_failure(
                "slow", "timeout: no answer", permanent=False, max_attempts=3, retry_in=day
            )
            assert (p.attempts, p.failed, p.events_done) == (attempt, False, True)
            assert await bf.pending(["SLOW"]) == ("SLOW",)  # still tried on the next run
        p = await bf.record_failure(
            "SLOW", "timeout: again", permanent=False, max_attempts=3, retry_in=day
        )
        assert (p.attempts, p.failed, p.last_error) == (3, True, "timeout: again")
        assert p.retry_after == T0 + day
        assert p.events_done  # a transient failure keeps the part already stored
        assert p.waiting(T0)
        assert not p.waiting(T0 + day)
        assert await bf.pending(["SLOW", "NEW"]) == ("NEW",)  # no longer holds the others back
        assert [x.symbol for x in await bf.failed()] == ["SLOW"]

        clock.advance(day.total_seconds())  # retry-after reached: pending again, one more try
        assert await bf.pending(["SLOW"]) == ("SLOW",)
        p = await bf.record_failure(
            "SLOW", "timeout: still", permanent=False, max_attempts=3, retry_in=day
        )
        assert (p.attempts, p.retry_after) == (4, clock.now + day)
        # Success forgets the failures.
        p = await bf.mark("SLOW", prices_done=True)
        assert (p.done, p.failed, p.attempts, p.retry_after) == (True, False, 0, None)
        assert await bf.failed() == ()

        # A permanent error gives up at once and forgets the parts done: a retry starts over.
        await bf.mark("ZZZZ", events_done=True, prices_done=True)
        p = await bf.record_failure(
            "ZZZZ", "not_found: unknown", permanent=True, max_attempts=3, retry_in=7 * day
        )
        assert (p.attempts, p.failed, p.done, p.events_done) == (1, True, False, False)
        assert p.retry_after == clock.now + 7 * day
        assert await bf.pending(["ZZZZ"]) == ()
        with pytest.raises(ValueError):
            await bf.record_failure("X", "x", permanent=False, max_attempts=0, retry_in=day)


# -- several processes ---------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import asyncio, datetime as dt, json, sys
    from pathlib import Path
    from ivcrush_tui.store.db import Database
    from ivcrush_tui.store.repositories import LedgerRepo, LedgerSnapshot, QuotaRepo

    async def main(path: str, worker: int, n: int) -> None:
        clock = lambda: dt.datetime.now(dt.UTC)
        async with await Database.open(Path(path), clock=clock) as db:
            ledger, quota = LedgerRepo(db), QuotaRepo(db)
            i = 0
            while n < 0 or i < n:
                await quota.add("w", "2025-07-01")
                sid = await ledger.add(LedgerSnapshot(
                    # One minute apart: the ledger path keeps one row per symbol per minute.
                    f"W{worker}", clock() + dt.timedelta(minutes=i), None, None, 1.0 + i, None,
                    None, None, None, None,
                    None, None, None, None, json.dumps({"i": i})))
                print(sid, flush=True)  # only after COMMIT
                i += 1
        print("done", flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


async def test_ten_writer_processes_share_one_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "shared.sqlite3"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 40
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(path),
            str(w),
            str(n),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_env(),
        )
        for w in range(10)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 60)
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode()
        assert out.decode().split()[-1] == "done"
        assert b"locked" not in err
    async with await Database.open(path, clock=clock) as db:
        assert await QuotaRepo(db).used("w", "2025-07-01") == 10 * n
        assert await db.fetchval("SELECT COUNT(*) FROM analysis_snapshots") == 10 * n
        assert await db.schema_version() == LATEST_VERSION
        assert await db.fetchval("SELECT COUNT(*) FROM schema_version") == LATEST_VERSION
        assert await db.integrity_check()


async def test_kill_9_mid_write_keeps_a_consistent_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "killed.sqlite3"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(path),
        "0",
        "-1",  # forever
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_env(),
    )
    assert proc.stdout is not None
    committed: list[int] = []
    while len(committed) < 150:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line, (await proc.stderr.read()).decode() if proc.stderr else "no output"
        committed.append(int(line))
    proc.send_signal(signal.SIGKILL)
    rest, _ = await proc.communicate()
    committed += [int(x) for x in rest.split() if x.isdigit()]  # printed after COMMIT too
    assert proc.returncode == -signal.SIGKILL

    raw = sqlite3.connect(path)  # an independent reader first: WAL recovery from the crash
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        raw.close()
    async with await Database.open(path, clock=clock) as db:
        assert await db.integrity_check()
        ids = {r[0] for r in await db.fetchall("SELECT id FROM analysis_snapshots")}
        assert set(committed) <= ids
        quota = await QuotaRepo(db).used("w", "2025-07-01")
        assert quota >= len(ids)  # each ledger row's quota increment committed before it


async def test_preferences_persist_across_reopen(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        prefs = PrefsRepo(db)
        assert await prefs.get("ui.theme") is None
        await prefs.set("ui.theme", "ivcrush-light")
        await prefs.set("ui.theme", "ivcrush-dark")  # an update, not a second row
    async with await Database.open(db_path, clock=clock) as db:
        assert await PrefsRepo(db).get("ui.theme") == "ivcrush-dark"
        assert await db.fetchval("SELECT COUNT(*) FROM preferences") == 1


async def test_a_new_database_is_private(db_path: Path, clock: FakeClock) -> None:
    old = os.umask(0o022)  # a typical umask: files would be world-readable without care
    try:
        async with await Database.open(db_path, clock=clock) as db:
            await WatchlistRepo(db).add(["AAPL"])
            modes = {p.name: p.stat().st_mode & 0o777 for p in db_path.parent.iterdir()}
    finally:
        os.umask(old)
    assert db_path.parent.stat().st_mode & 0o777 == 0o700
    assert modes == {
        db_path.name: 0o600,
        f"{db_path.name}-wal": 0o600,  # SQLite gives these the database file's permissions
        f"{db_path.name}-shm": 0o600,
    }
