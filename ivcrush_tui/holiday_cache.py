"""The NYSE closed days and half days per year, as the holidays package computed them, in a small
JSON file beside the database (`calendar.HolidayYears`).

Why: importing the holidays package costs ~0.25 s of CPU in every CLI process. The file is keyed
by the installed package's NYSE rules file (size and modification time, read without importing
the package), so an upgrade that adds a closure (e.g. a national day of mourning) is picked up
at once. Anything unexpected in the file (unreadable, another key, a day outside its year) reads
as "not stored": the package is asked again and the file rewritten. It is only a cache.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivcrush_tui.calendar import YearDays, use_holiday_store
from ivcrush_tui.files import private_dir, replace_atomically

log = logging.getLogger(__name__)

FILE_NAME = "nyse-holidays.json"
# The package's files whose change means the rules may have changed.
_RULE_FILES = ("financial/ny_stock_exchange.py", "version.py")


def library_key() -> str | None:
    """An identifier of the installed holidays package's NYSE rules; None if not installed."""
    spec = importlib.util.find_spec("holidays")  # a top-level lookup: nothing is imported
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    try:
        stats = [(root / name).stat() for name in _RULE_FILES]
    except OSError:
        return None
    parts = (f"{n}:{st.st_size}:{st.st_mtime_ns}" for n, st in zip(_RULE_FILES, stats, strict=True))
    return ";".join(parts)


class HolidayFileCache:
    """`calendar.HolidayYears` in one JSON file: {"key": ..., "years": {"2026": {...}}}."""

    def __init__(self, path: Path, key: str | None = None) -> None:
        self.path = path
        self._key = key if key is not None else library_key()
        self._lock = threading.Lock()  # the warm-up thread and the loop may both ask
        self._years: dict[str, Any] | None = None

    def load(self, year: int) -> YearDays | None:
        if self._key is None:
            return None
        with self._lock:
            entry: Any = self._read().get(str(year))
        try:
            closed = _days(entry["closed"], year)
            half = _days(entry["half"], year)
        except (TypeError, KeyError, ValueError):
            return None  # absent or not what this module writes
        return closed, half

    def save(self, years_days: Mapping[int, YearDays]) -> None:
        if self._key is None:
            return
        with self._lock:
            years = dict(self._read())
            for year, (closed, half) in years_days.items():
                years[str(year)] = {
                    "closed": sorted(d.isoformat() for d in closed),
                    "half": sorted(d.isoformat() for d in half),
                }
            doc = {"key": self._key, "years": years}
            try:
                private_dir(self.path.parent)
                replace_atomically(self.path, json.dumps(doc, indent=1, sort_keys=True).encode())
            except OSError as exc:
                log.debug("holiday cache not written (%s): %s", self.path, exc)
            self._years = years

    def _read(self) -> dict[str, Any]:
        """The stored years for this key ({} when none); read once per instance."""
        if self._years is None:
            self._years = {}
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return self._years
            if isinstance(doc, dict) and doc.get("key") == self._key:
                years = doc.get("years")
                if isinstance(years, dict):
                    self._years = years
        return self._years


def _days(values: object, year: int) -> frozenset[dt.date]:
    if not isinstance(values, list):
        raise TypeError("not a list")
    days = frozenset(dt.date.fromisoformat(v) for v in values)
    if any(d.year != year for d in days):
        raise ValueError(f"a day outside {year}")
    return days


def keep_beside(database: Path) -> None:
    """From now on, the process's calendar keeps its holiday years in FILE_NAME beside
    `database` (call before the calendar is first asked: the runtime and the console do)."""
    use_holiday_store(HolidayFileCache(database.with_name(FILE_NAME)))
