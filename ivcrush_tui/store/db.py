"""The SQLite connection: pragmas, migrations, transactions and the busy-retry policy.

One file may be shared by several processes at once (the console and a cron `scan`). Every write
runs inside `BEGIN IMMEDIATE` (the write lock is taken up front, so a transaction never fails half
way on a lock upgrade). Waiting for a lock held elsewhere is split in two: SQLite's busy handler
waits at most `BUSY_SLICE_MS` in the connection's thread, then `retry_busy` keeps trying with
asyncio sleeps until `BUSY_WAIT_S` have passed. Why: a thread asleep in SQLite's busy handler cannot
be woken (`sqlite3_interrupt` does not end a busy wait), and everything queued behind it on that
connection (the ROLLBACK of a cancelled task, `close()` at exit) waits with it; an asyncio sleep
ends at once on cancellation. WAL + `synchronous=NORMAL`: a killed process never loses a committed
transaction; only a power loss may drop the last few.

Two connections: reads outside a transaction go to a read-only one, so they never queue behind a
write (WAL lets a reader see the last commit while a writer works). In a scan the writes (cached
response bodies, ~10 MB for 100 tickers, and ledger rows) held the one connection for ~40 % of
the time, and the cache lookup before each request waited behind them (~9 ms on average).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.files import private_dir, private_file
from ivcrush_tui.priority import PrioritySemaphore
from ivcrush_tui.store import migrations
from ivcrush_tui.store.mode import StoreMode, claim_mode

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long one statement may wait for a lock in all. Generous: ten processes (or runtimes) starting
# at once queue for the write lock, and a wait here is an asyncio sleep that Ctrl-C ends at once.
BUSY_WAIT_S = 30.0
BUSY_SLICE_MS = 50  # SQLite's own busy wait per attempt (`PRAGMA busy_timeout`), in the thread
BUSY_BACKOFF_S = 0.005  # first asyncio back-off between attempts; doubles, with jitter
BUSY_BACKOFF_MAX_S = 0.1

Params = Sequence[Any]
Row = tuple[Any, ...]


class StorageError(IvCrushError):
    """A failure of the local SQLite store (code STORAGE)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.STORAGE, message)


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED ("database is locked"): retrying later may succeed."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


async def retry_busy(op: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run `op`, retrying while SQLite is busy, for at most `BUSY_WAIT_S` seconds in all
    (exponential back-off with jitter, capped at `BUSY_BACKOFF_MAX_S`). Cancellable at any sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_WAIT_S
    delay = BUSY_BACKOFF_S
    attempt = 0
    while True:
        attempt += 1
        try:
            return await op()
        except sqlite3.OperationalError as exc:
            left = deadline - loop.time()
            if not is_busy(exc) or left <= 0:
                raise
            log.debug("sqlite busy during %s (attempt %d), retrying", what, attempt)
            # Jitter de-synchronises writers (several processes may be polling one lock).
            await asyncio.sleep(min(left, delay * (0.5 + random.random())))
            delay = min(delay * 2, BUSY_BACKOFF_MAX_S)


def _storage_error(exc: sqlite3.Error, what: str) -> StorageError:
    return StorageError(f"{what} failed: {exc}")


class Transaction:
    """The handle passed to the body of `Database.transaction()`; valid only inside it."""

    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows changed."""
        try:
            cur = await self._conn.execute(sql, params)
            count = cur.rowcount
            await cur.close()
        except sqlite3.Error as exc:
            raise _storage_error(exc, "write") from exc
        return max(count, 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            cur = await self._conn.executemany(sql, rows)
            await cur.close()
        except sqlite3.Error as exc:
            raise _storage_error(exc, "write") from exc

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; returns the new row's rowid."""
        try:
            cur = await self._conn.execute(sql, params)
            rowid = cur.lastrowid
            await cur.close()
        except sqlite3.Error as exc:
            raise _storage_error(exc, "insert") from exc
        if rowid is None:
            raise StorageError("insert returned no row id")
        return rowid

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            rows = await self._conn.execute_fetchall(sql, params)
        except sqlite3.Error as exc:
            raise _storage_error(exc, "read") from exc
        return [tuple(r) for r in rows]

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class Database:
    """An open SQLite store. Use `await Database.open(path, clock=...)`, then `close()` (or
    `async with`). Safe to share between the coroutines of one event loop: statements are
    serialised on each connection, and each transaction holds the writing one exclusively until
    it ends (reads by its own task run inside it; other tasks read the last commit)."""

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, clock: Callable[[], dt.datetime]
    ) -> None:
        self._conn = conn
        self._reader = conn  # until open() adds the read-only connection
        self.path = path
        self.clock = clock
        # A connection serves one statement or transaction at a time; the waiter to go next is
        # the most urgent (a scan's earliest ticker), not the first to queue: see priority.py.
        self._lock = PrioritySemaphore(1)
        self._read_lock = self._lock
        self._owner: asyncio.Task[Any] | None = None
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Callable[[], dt.datetime],
        target_version: int | None = None,
        mode: StoreMode | None = None,
    ) -> Database:
        """Open (creating if needed) the store at `path` and migrate it to the latest schema.

        `target_version` stops the migrations early (tests of the upgrade path only). `mode`
        stamps a new file with its market, and refuses a file of the other one (store/mode.py);
        None (tools, tests) checks nothing.
        Raises StorageError when the file cannot be opened, is not a database, or was written by
        a newer ivcrush.
        """

        async def check_and_migrate(db: Database) -> None:
            await db._quick_check()  # before anything is written into a damaged file
            async with db.transaction() as tx:
                await migrations.migrate(tx, now_iso=to_iso(clock()), target=target_version)
                if mode is not None:
                    await claim_mode(tx, mode, now_iso=to_iso(clock()), path=path)

        path = _prepare(path)
        return await cls._connected(path, clock, check_and_migrate)

    async def open_another(self) -> Database:
        """Another `Database` on this one's file, with its own two connections (and threads),
        set up as `open` sets up its own but without `open`'s check, migrations and mode claim:
        this process has just done them on this file. For a second user of the same store in
        one process (the response cache beside the repositories), at a fraction of the cost (the
        `quick_check` reads the whole file: ~10 ms for a few MB). Raises StorageError."""
        if self._closed:
            raise StorageError("the database is closed")
        return await type(self)._connected(self.path, self.clock, None)

    @classmethod
    async def _connected(
        cls,
        path: Path,
        clock: Callable[[], dt.datetime],
        setup: Callable[[Database], Awaitable[None]] | None,
    ) -> Database:
        """A configured `Database` on `path`, `setup` run on its writing connection before the
        read-only one is added; the connection is closed again when any step fails."""
        conn = await _connect(path)
        db = cls(conn, path, clock)
        try:
            await db._configure()
            if setup is not None:
                await setup(db)
        except BaseException:
            await conn.close()
            raise
        await db._add_reader()
        return db

    async def _add_reader(self) -> None:
        """Open the read-only connection (closing the writer when that fails)."""
        try:
            reader = await _connect(self.path)
        except BaseException:
            await self._conn.close()
            raise
        try:
            await retry_busy(lambda: _read_only(reader), what="open")
        except BaseException as exc:
            await reader.close()
            await self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot open the database {self.path}: {exc}") from exc
            raise
        self._reader, self._read_lock = reader, PrioritySemaphore(1)

    async def _quick_check(self) -> None:
        """`PRAGMA quick_check` (its first problem only); a damaged file is refused before
        anything is written to it. Skipped above QUICK_CHECK_MAX_BYTES to bound the start-up
        (8 MB take ~6 ms); `health` checks any size."""
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        if size > QUICK_CHECK_MAX_BYTES:
            log.debug("quick_check skipped at open: %s is %d bytes", self.path, size)
            return
        problem = await self.quick_check()
        if problem is not None:
            raise StorageError(damaged_message(self.path, problem))

    async def quick_check(self) -> str | None:
        """None when `PRAGMA quick_check` finds the file sound, else its first problem."""
        try:
            rows = await self.fetchall("PRAGMA quick_check(1)")
        except StorageError as exc:  # "file is not a database", "malformed", ...
            return exc.message
        first = str(rows[0][0]) if rows else "no answer"
        return None if first == "ok" else first

    async def _configure(self) -> None:
        async def pragmas() -> None:
            await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_SLICE_MS}")
            cur = await self._conn.execute("PRAGMA journal_mode = WAL")
            row = await cur.fetchone()
            await cur.close()
            if row is None or str(row[0]).lower() != "wal":
                raise StorageError(f"{self.path}: cannot enable WAL journaling (got {row!r})")
            await self._conn.execute("PRAGMA synchronous = NORMAL")
            await self._conn.execute("PRAGMA foreign_keys = ON")

        try:
            await retry_busy(pragmas, what="open")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Close the connections (idempotent). A WAL checkpoint happens on the last close."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._reader is not self._conn:
                async with self._read_lock.slot():
                    await self._reader.close()
        finally:  # the writer (which checkpoints the WAL) is closed whatever the reader did
            async with self._lock.slot():
                await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- transactions and reads ----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`BEGIN IMMEDIATE ... COMMIT`, or ROLLBACK when the body raises. Not re-entrant."""
        if self._closed:
            raise StorageError("the database is closed")
        if self._owner is not None and self._owner is asyncio.current_task():
            raise StorageError("nested transaction on the same connection")
        async with self._lock.slot():
            self._owner = asyncio.current_task()
            try:
                await self._begin()
                try:
                    yield Transaction(self._conn)
                    await self._commit()
                except BaseException:
                    # Also on cancellation (or a failed COMMIT): never leave the write lock held.
                    await self._rollback()
                    raise
            finally:
                self._owner = None

    async def _begin(self) -> None:
        async def begin() -> None:
            await self._conn.execute("BEGIN IMMEDIATE")

        try:
            await retry_busy(begin, what="BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _storage_error(exc, "begin transaction") from exc
        except BaseException:
            # Cancelled while BEGIN was queued or waiting in the thread: it may still take the
            # write lock after this task has given up, so a ROLLBACK is queued behind it.
            await self._rollback()
            raise

    async def _commit(self) -> None:
        async def commit() -> None:
            await self._conn.execute("COMMIT")

        try:
            await retry_busy(commit, what="COMMIT")
        except sqlite3.Error as exc:
            raise _storage_error(exc, "commit") from exc

    async def _rollback(self) -> None:
        """Queue a ROLLBACK, unconditionally, and wait for it (shielded from cancellation).

        Never decided on `in_transaction` read from this thread: that races with the
        connection's own thread, where a cancelled `BEGIN IMMEDIATE` may not have run yet (or may
        still be waiting for the lock). It then took the write lock after the check and kept it
        until the connection closed, so the process's other connection waited out the whole busy
        timeout at Ctrl-C. The thread runs its queue in order, so this ROLLBACK always comes after
        that BEGIN; when no transaction is open it fails harmlessly."""

        async def rollback() -> None:
            with contextlib.suppress(sqlite3.Error, ValueError):  # ValueError: already closed
                await self._conn.execute("ROLLBACK")

        await asyncio.shield(rollback())

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """A read outside any transaction (one consistent snapshot per statement)."""
        if self._closed:
            raise StorageError("the database is closed")
        if self._owner is not None and self._owner is asyncio.current_task():
            return await Transaction(self._conn).fetchall(sql, params)

        async def read() -> list[Row]:
            rows = await self._reader.execute_fetchall(sql, params)
            return [tuple(r) for r in rows]

        async with self._read_lock.slot():
            try:
                return await retry_busy(read, what="read")
            except sqlite3.Error as exc:
                raise _storage_error(exc, "read") from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- health --------------------------------------------------------------------------

    async def schema_version(self) -> int:
        """The schema version of the file (0 for an empty file)."""
        value = await self.fetchval(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            if await self._has_table("schema_version")
            else "SELECT 0"
        )
        return int(value)

    async def _has_table(self, name: str) -> bool:
        row = await self.fetchone(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return row is not None

    async def integrity_check(self) -> bool:
        """`PRAGMA integrity_check` and `foreign_key_check` both clean."""
        rows = await self.fetchall("PRAGMA integrity_check")
        if [r[0] for r in rows] != ["ok"]:
            log.error("integrity_check of %s: %s", self.path, rows[:10])
            return False
        fk = await self.fetchall("PRAGMA foreign_key_check")
        return not fk


async def _connect(path: Path) -> aiosqlite.Connection:
    try:
        # isolation_level=None: no implicit transactions, we issue BEGIN/COMMIT ourselves.
        return await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_SLICE_MS / 1000)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the database {path}: {exc}") from exc


async def _read_only(conn: aiosqlite.Connection) -> None:
    """Set up the reading connection as the writing one (it reports the same settings), with
    writes refused outright."""
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_SLICE_MS}")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA query_only = ON")


QUICK_CHECK_MAX_BYTES = 512 * 1024 * 1024


def damaged_message(path: Path, problem: str) -> str:
    """What a user is told about a database that fails its check (nothing is written to it)."""
    return (
        f"the database {path} is damaged ({' '.join(problem.split())[:200]}); nothing is "
        "written to it. Recovery: docs/RUNBOOK.md, 'A damaged database'"
    )


def _prepare(path: Path) -> Path:
    """The folder (0700 when created here) and an empty file (0600) before SQLite opens it: the
    store holds the user's ledger and watchlist, and SQLite gives its -wal/-shm files the
    database file's permissions, so all three are private (as `config init` makes the config)."""
    path = Path(path).expanduser()
    try:
        private_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"cannot create the folder of {path}: {exc.strerror}") from exc
    try:
        private_file(path)  # an existing database keeps the permissions its owner gave it
    except OSError as exc:
        raise StorageError(f"cannot create the database {path}: {exc.strerror}") from exc
    return path


def to_iso(value: dt.datetime) -> str:
    """UTC ISO-8601 text with fixed width (so text order is time order). Naive -> StorageError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(f"naive datetime {value!r}: store only timezone-aware times")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> dt.datetime:
    """Parse a stored time (always UTC-aware)."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:  # written by hand / an old tool: stored times are UTC by contract
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
