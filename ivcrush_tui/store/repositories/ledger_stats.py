"""Counts of the ledger's rows, for monitoring (`ivcrush serve`'s /metrics)."""

from __future__ import annotations

from ivcrush_tui.store.db import Database

NO_RECOMMENDATION = "none"  # the label of rows stored without a recommendation


async def ledger_counts(db: Database) -> dict[str, int]:
    """Ledger rows per recommendation (SELL, WATCH, SKIP; `none` when a row has none)."""
    rows = await db.fetchall(
        "SELECT COALESCE(recommendation, ?), COUNT(*) FROM analysis_snapshots"
        " GROUP BY COALESCE(recommendation, ?)",
        (NO_RECOMMENDATION, NO_RECOMMENDATION),
    )
    return {str(r[0]): int(r[1]) for r in rows}
