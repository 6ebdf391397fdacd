"""Repositories: typed reads and writes of the store (SQL with bound parameters only), one module
per table.

Every write is one transaction. Times in and out are timezone-aware UTC datetimes; days are
`datetime.date` (exchange calendar days). Symbols are normalised to upper case.
"""

from ivcrush_tui.store.repositories._common import normalize_symbol
from ivcrush_tui.store.repositories.alerts import AlertsRepo
from ivcrush_tui.store.repositories.backfill import BackfillProgress, BackfillRepo
from ivcrush_tui.store.repositories.decisions import (
    DecisionsRepo,
    LedgerDecision,
    LegacySnapshot,
    Settlement,
)
from ivcrush_tui.store.repositories.events import (
    RECORD_MAX_AGE,
    UPCOMING_MAX_AGE,
    UPCOMING_RECHECK_WINDOW,
    EventsRepo,
)
from ivcrush_tui.store.repositories.ledger import LedgerRepo, LedgerSnapshot
from ivcrush_tui.store.repositories.metadata import MetadataRepo, TickerMetadata
from ivcrush_tui.store.repositories.prefs import PrefsRepo
from ivcrush_tui.store.repositories.prices import PricesRepo
from ivcrush_tui.store.repositories.quota import QuotaRepo
from ivcrush_tui.store.repositories.watchlist import WatchlistEntry, WatchlistRepo

__all__ = [
    "RECORD_MAX_AGE",
    "UPCOMING_MAX_AGE",
    "UPCOMING_RECHECK_WINDOW",
    "AlertsRepo",
    "BackfillProgress",
    "BackfillRepo",
    "DecisionsRepo",
    "EventsRepo",
    "LedgerDecision",
    "LedgerRepo",
    "LedgerSnapshot",
    "LegacySnapshot",
    "MetadataRepo",
    "PrefsRepo",
    "PricesRepo",
    "QuotaRepo",
    "Settlement",
    "TickerMetadata",
    "WatchlistEntry",
    "WatchlistRepo",
    "normalize_symbol",
]
