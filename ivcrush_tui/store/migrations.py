"""Schema versions: an ordered list of forward-only migrations, applied inside one transaction.

Conventions: times are UTC ISO-8601 text with microseconds and `+00:00` (fixed width, so text
order is time order); calendar dates are `YYYY-MM-DD`; money in dollars per share; percentages
are percent numbers (9.16 means 9.16 %); volatilities are fractions per year.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivcrush_tui.domain import ErrorCode, IvCrushError

if TYPE_CHECKING:
    from ivcrush_tui.store.db import Transaction


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1 = (
    """CREATE TABLE earnings_events (
        symbol TEXT NOT NULL,
        report_date TEXT NOT NULL,
        timing TEXT NOT NULL CHECK (timing IN ('BMO', 'AMC', 'DMH', 'UNKNOWN')),
        fiscal_date_ending TEXT,
        eps_estimate REAL,
        eps_reported REAL,
        name TEXT,
        source TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (symbol, report_date)
    )""",
    # Derived per-event moves (fractions, signed), recomputable from prices + events at any time.
    """CREATE TABLE historical_moves (
        symbol TEXT NOT NULL,
        report_date TEXT NOT NULL,
        timing TEXT NOT NULL,
        timing_inferred INTEGER NOT NULL DEFAULT 0,
        ref_close REAL NOT NULL,
        gap REAL,
        close_move REAL,
        range_move REAL,
        max_excursion REAL,
        computed_at TEXT NOT NULL,
        PRIMARY KEY (symbol, report_date)
    )""",
    """CREATE TABLE daily_prices (
        symbol TEXT NOT NULL,
        day TEXT NOT NULL,
        open REAL NOT NULL,
        high REAL NOT NULL,
        low REAL NOT NULL,
        close REAL NOT NULL,
        volume INTEGER NOT NULL,
        PRIMARY KEY (symbol, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE ticker_metadata (
        symbol TEXT PRIMARY KEY,
        name TEXT,
        sector TEXT,
        industry TEXT,
        market_cap REAL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE watchlist (
        symbol TEXT PRIMARY KEY,
        added_at TEXT NOT NULL,
        position INTEGER NOT NULL
    )""",
    # AUTOINCREMENT: ledger ids are never reused, even after rows are deleted.
    """CREATE TABLE analysis_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        symbol TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        earnings_date TEXT,
        expiration TEXT,
        spot REAL,
        straddle REAL,
        implied_move_pct REAL,
        call_iv REAL,
        put_iv REAL,
        call_spread_pct REAL,
        put_spread_pct REAL,
        vrp_ratio REAL,
        tier TEXT,
        recommendation TEXT,
        payload_json TEXT NOT NULL
    )""",
    """CREATE TABLE provider_quota (
        provider TEXT NOT NULL,
        day TEXT NOT NULL,
        used INTEGER NOT NULL CHECK (used >= 0),
        PRIMARY KEY (provider, day)
    )""",
    """CREATE TABLE cache (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (namespace, key)
    )""",
    """CREATE TABLE backfill_progress (
        symbol TEXT PRIMARY KEY,
        events_done INTEGER NOT NULL DEFAULT 0,
        prices_done INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        last_error TEXT
    )""",
    "CREATE INDEX ix_earnings_report_date ON earnings_events (report_date)",
)

# Version 2: the ledger records whether a snapshot was taken on the live or the demo market (demo
# rows must never be mistaken for real history); the two queries that grow with time get indexes.
_V2 = (
    "ALTER TABLE analysis_snapshots ADD COLUMN mode TEXT NOT NULL DEFAULT 'live'"
    " CHECK (mode IN ('live', 'demo'))",
    "CREATE INDEX ix_snapshots_symbol_taken ON analysis_snapshots (symbol, taken_at)",
    "CREATE INDEX ix_cache_expires ON cache (expires_at)",
)

# Version 3: console preferences (theme, watchlist sort) survive restarts with the other state.
_V3 = (
    """CREATE TABLE preferences (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
)

# Version 4: a backfill symbol that keeps failing is given up on for a while (its failed attempts
# and when to try again), so it no longer holds the next full refresh back for ever.
_V4 = (
    "ALTER TABLE backfill_progress ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0"
    " CHECK (attempts >= 0)",
    "ALTER TABLE backfill_progress ADD COLUMN retry_after TEXT",
)

# Version 5: a cache entry records when it was stored. Expiry follows the injected clock, so a run
# with an earlier --as-of than the one that stored an entry saw it as fresh: on the demo market,
# whose answers follow the clock, it read another instant's chains and calendar. An entry stored
# after "now" is not served (rows from before this version have none and are served as before).
_V5 = ("ALTER TABLE cache ADD COLUMN stored_at TEXT",)

# Version 6: demo and live get a database file each (issue 12). Until then they shared this one,
# and nothing in it says which market produced a cache body, a price, an event or a quota count: all
# of it is discarded, to be fetched again from the live providers (backfill progress is reset so the
# next backfill refetches histories; the quota restarts at 0, Alpha Vantage itself still refuses
# past the real limit). Ledger rows are the trader's record: demo rows go, the others stay, marked
# `proven = 0` (made while demo data could reach a live analysis). The watchlist and the console's
# preferences stay, except the demo's "watchlist seeded" flag, which belongs to the demo file. The
# file records its market (`store_mode`), so no later run of the other mode opens it.
_V6 = (
    "DELETE FROM cache",
    "DELETE FROM daily_prices",
    "DELETE FROM earnings_events",
    "DELETE FROM historical_moves",
    "DELETE FROM ticker_metadata",
    "DELETE FROM provider_quota",
    "DELETE FROM backfill_progress",
    "DELETE FROM analysis_snapshots WHERE mode = 'demo'",
    "ALTER TABLE analysis_snapshots ADD COLUMN proven INTEGER NOT NULL DEFAULT 1"
    " CHECK (proven IN (0, 1))",
    "UPDATE analysis_snapshots SET proven = 0",
    "DELETE FROM preferences WHERE key = 'demo.watchlist_seeded'",
    # The market this file belongs to, stamped by its first opener (store/mode.py).
    """CREATE TABLE store_mode (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        mode TEXT NOT NULL CHECK (mode IN ('live', 'demo')),
        claimed_at TEXT NOT NULL
    )""",
)

# Version 7: a backfill claims a ticker (a lease that expires) before fetching it, so two
# processes backfilling at once never spend the Alpha Vantage quota twice on one ticker.
_V7 = (
    """CREATE TABLE backfill_leases (
        symbol TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
)

# Version 8: ledger decisions and outcomes (METHODS §12, issue 13). The snapshots become the
# intraday path, at most one per symbol per minute: the rows repeated within a minute (about 240
# identical rows per window; a frozen --as-of wrote the same instant again and again) are reduced
# to the latest of each minute, and a unique index keeps it so. Rows stored before this version are
# `adopted = 0`: the ledger turns them into decisions once (store/repositories/ledger.py).
# One decision per (symbol, entry date, mode), with the entry legs the P&L needs and the settled
# outcome; `status` moves open -> settled | void exactly once (a guarded UPDATE). `exit_ask_sum`:
# the ATM legs' ask sum captured between 09:35 and 10:00 ET on the reaction session (live mode),
# the real exit price when present.
_V8 = (
    "DELETE FROM analysis_snapshots WHERE id NOT IN (SELECT MAX(id) FROM analysis_snapshots"
    " GROUP BY symbol, mode, substr(taken_at, 1, 16))",
    "ALTER TABLE analysis_snapshots ADD COLUMN minute TEXT",
    "UPDATE analysis_snapshots SET minute = substr(taken_at, 1, 16)",
    "ALTER TABLE analysis_snapshots ADD COLUMN adopted INTEGER NOT NULL DEFAULT 1"
    " CHECK (adopted IN (0, 1))",
    "UPDATE analysis_snapshots SET adopted = 0",
    "CREATE UNIQUE INDEX ux_snapshots_minute ON analysis_snapshots (symbol, mode, minute)",
    """CREATE TABLE ledger_decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        symbol TEXT NOT NULL,
        entry_date TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('live', 'demo')),
        snapshot_id INTEGER,
        decided_at TEXT NOT NULL,
        earnings_date TEXT NOT NULL,
        timing TEXT NOT NULL,
        reaction_date TEXT NOT NULL,
        expiration TEXT,
        spot REAL,
        atm_strike REAL,
        call_bid REAL,
        call_ask REAL,
        put_bid REAL,
        put_ask REAL,
        implied_move_pct REAL,
        reaction_implied_move_pct REAL,
        vrp_ratio REAL,
        vrp_reaction_ratio REAL,
        tier TEXT,
        tier_basis TEXT,
        recommendation TEXT,
        ordinary_vol REAL,
        back_iv REAL,
        proven INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'settled', 'void')),
        reason TEXT,
        ref_close REAL,
        reaction_open REAL,
        reaction_close REAL,
        realized_gap_pct REAL,
        realized_close_pct REAL,
        hit INTEGER,
        hit_gap INTEGER,
        hit_reaction INTEGER,
        exit_price REAL,
        pnl_per_contract REAL,
        pnl_estimated INTEGER,
        settled_at TEXT,
        exit_ask_sum REAL,
        exit_quoted_at TEXT,
        UNIQUE (symbol, entry_date, mode)
    )""",
    "CREATE INDEX ix_decisions_status ON ledger_decisions (status, reaction_date)",
    "CREATE INDEX ix_decisions_entry ON ledger_decisions (entry_date, symbol)",
)

# Alerts (issue 14): one row per (rule, symbol, window), the de-duplication key; `window_date` is
# the exchange date of the entry window (of the breaker's opening for a breaker alert).
_V9 = (
    """CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT NOT NULL,
        kind TEXT NOT NULL,
        symbol TEXT NOT NULL,
        window_date TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        tier TEXT,
        tiering_ratio REAL,
        recommendation TEXT,
        UNIQUE (rule, symbol, window_date)
    )""",
    "CREATE INDEX ix_alerts_fired ON alerts (fired_at)",
)

# Version 10: record and replay (issue 14). The entry window's quotes and analyses, per exchange day
# (America/New_York), in this mode's own file (demo and live never share one). Quotes are chunks:
# one row per symbol and stretch of time, the quotes packed by column (engine/quote_codec.py);
# times are integer milliseconds since the Unix epoch (UTC). An analysis row holds up to 8 of a
# symbol's analyses (`n`, from `at_ms` to `end_ms`): each one's JSON (engine/analysis_codec.py)
# packed by engine/analysis_pack.py against the one before it, the first against the last of the
# row named by `base` (the same symbol's previous row from the same writer: an update costs its
# changed numbers), NULL when it stands alone.
_V10 = (
    """CREATE TABLE recorded_quotes (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        symbol TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        n INTEGER NOT NULL CHECK (n > 0),
        codec INTEGER NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX ix_recorded_quotes_day ON recorded_quotes (day, start_ms)",
    """CREATE TABLE recorded_analyses (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        symbol TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        n INTEGER NOT NULL CHECK (n > 0),
        base INTEGER,
        codec INTEGER NOT NULL,
        data BLOB NOT NULL
    )""",
    "CREATE INDEX ix_recorded_analyses_day ON recorded_analyses (day, at_ms)",
)

# Version 11: the exact analysis of each ledger snapshot (issue 13: Enter on a decision opens the
# drill-down as it was). `full_analysis` holds engine/analysis_codec.py's JSON packed standalone
# by engine/analysis_pack.py (a mode byte, then zlib: about a third of the text). NULL for the
# rows stored before v11: their drill-down is the `payload_json` view.
_V11 = ("ALTER TABLE analysis_snapshots ADD COLUMN full_analysis BLOB",)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "ledger mode column; ledger and cache-expiry indexes", _V2),
    Migration(3, "console preferences", _V3),
    Migration(4, "backfill failed attempts and retry-after", _V4),
    Migration(5, "cache entries record when they were stored", _V5),
    Migration(6, "demo and live separated: discard data of unknown provenance", _V6),
    Migration(7, "backfill leases", _V7),
    Migration(8, "ledger decisions and outcomes; snapshots one per symbol per minute", _V8),
    Migration(9, "alerts, one per rule, symbol and entry window", _V9),
    Migration(10, "recorded quotes and analyses of the entry window (record and replay)", _V10),
    Migration(11, "ledger snapshots keep the exact analysis (the decision's drill-down)", _V11),
)
LATEST_VERSION = MIGRATIONS[-1].version


async def current_version(tx: Transaction) -> int:
    """The applied schema version (0 for an empty file)."""
    await tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    row = await tx.fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    return int(row[0]) if row else 0


async def migrate(tx: Transaction, *, now_iso: str, target: int | None = None) -> list[int]:
    """Apply the pending migrations up to `target` (default: the latest) inside `tx`.

    Returns the versions applied. Raises IvCrushError(STORAGE) when the file is newer than this
    program. Runs inside the caller's BEGIN IMMEDIATE, so concurrent openers migrate exactly once.
    """
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"target schema version {target} outside 0..{LATEST_VERSION}")
    version = await current_version(tx)
    if version > LATEST_VERSION:
        raise IvCrushError(
            ErrorCode.STORAGE,
            f"the database has schema version {version}, newer than this ivcrush supports "
            f"({LATEST_VERSION}); upgrade ivcrush or use another storage.path",
        )
    applied: list[int] = []
    for migration in MIGRATIONS:
        if version < migration.version <= target:
            for statement in migration.statements:
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, now_iso),
            )
            applied.append(migration.version)
    return applied
