"""Outages keep the last good values: the one rule for a refresh that failed (issue 14).

When a ticker's refresh fails (the breaker is open, a timeout, a bad payload) and the ticker had a
good analysis, the good one is kept, marked stale with the reason, instead of an error row: the
trader needs the last numbers most exactly then. Every place that receives analyses and keeps the
latest per ticker routes each new result through `hold_last_good`: the console (`app.app` for
every result it receives, the drill-down for its own fetch) and `ivcrush serve` (`serve.loop`).
Streamed updates go through it too, so a stream and a poll can never disagree about a row.

Pure: no clock is read (`now` is a parameter), nothing is mutated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ivcrush_tui.analytics.analysis import Analysis, StaleMark, Status

# The reason given when an error result carries no ErrorInfo (it always should).
UNKNOWN_FAILURE = ("error", "the refresh failed")


def is_good(a: Analysis | None) -> bool:
    """A result worth keeping through an outage: any outcome but an error (an `ok` analysis, but
    also "no upcoming event" or "no options": they are answers, not failures)."""
    return a is not None and a.status is not Status.ERROR


def hold_last_good(previous: Analysis | None, new: Analysis, now: dt.datetime) -> Analysis:
    """The analysis to show for `new.symbol` after receiving `new`, given the one shown before.

    - `new` is not an error: it is returned as it is (its `stale` is None): a good result clears
      an outage.
    - `new` is an error and `previous` is good (fresh, or already kept stale): `previous` is
      returned marked stale with `new`'s error (code, message, correlation id). `since` is the
      first failure of the outage (kept from `previous.stale`), else `now` (aware UTC).
    - `new` is an error and there is nothing good to keep (no previous, or an error): `new`.
    - `new` is already marked stale (held by another holder on its way here): returned as is.
    """
    if new.stale is not None or new.status is not Status.ERROR:
        return new
    if previous is None or not is_good(previous) or previous.symbol != new.symbol:
        return new
    code, message = (new.error.code, new.error.message) if new.error else UNKNOWN_FAILURE
    since = previous.stale.since if previous.stale is not None else now
    corr = new.error.correlation_id if new.error else None
    return replace(previous, stale=StaleMark(code, message, since, corr))
