"""The holiday years kept beside the database: the calendar reads them instead of importing the
holidays package, and anything stale or odd in the file falls back to the package."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from ivcrush_tui.calendar import TradingCalendar, YearDays, default_calendar, use_holiday_store
from ivcrush_tui.holiday_cache import HolidayFileCache, library_key

CLOSED_2026 = frozenset({dt.date(2026, 1, 1), dt.date(2026, 12, 25)})
HALF_2026 = frozenset({dt.date(2026, 11, 27)})


@pytest.fixture(autouse=True)
def _no_store_left_behind() -> Iterator[None]:
    yield
    use_holiday_store(None)


def test_a_saved_year_reads_back_in_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nyse-holidays.json"  # the folder is created on save
    HolidayFileCache(path, key="k1").save({2026: (CLOSED_2026, HALF_2026)})
    assert HolidayFileCache(path, key="k1").load(2026) == (CLOSED_2026, HALF_2026)
    assert HolidayFileCache(path, key="k1").load(2027) is None
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_another_library_key_reads_as_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "nyse-holidays.json"
    HolidayFileCache(path, key="holidays 0.80").save({2026: (CLOSED_2026, HALF_2026)})
    upgraded = HolidayFileCache(path, key="holidays 0.81")
    assert upgraded.load(2026) is None
    upgraded.save({2027: (frozenset(), frozenset())})  # rewritten under the new key only
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["key"] == "holidays 0.81"
    assert sorted(doc["years"]) == ["2027"]


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"key": "k", "years": {"2026": {"closed": "2026-01-01", "half": []}}}),
        json.dumps({"key": "k", "years": {"2026": {"closed": ["2026-13-01"], "half": []}}}),
        json.dumps({"key": "k", "years": {"2026": {"closed": ["2025-12-25"], "half": []}}}),
        json.dumps({"key": "k", "years": {"2026": {"closed": []}}}),
    ],
)
def test_an_odd_file_reads_as_not_stored_and_is_rewritten(tmp_path: Path, text: str) -> None:
    path = tmp_path / "nyse-holidays.json"
    path.write_text(text, encoding="utf-8")
    cache = HolidayFileCache(path, key="k")
    assert cache.load(2026) is None
    cache.save({2026: (CLOSED_2026, HALF_2026)})
    assert HolidayFileCache(path, key="k").load(2026) == (CLOSED_2026, HALF_2026)


def test_an_unwritable_folder_is_not_an_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    cache = HolidayFileCache(blocked / "nyse-holidays.json", key="k")  # parent is a file
    cache.save({2026: (CLOSED_2026, HALF_2026)})  # logged, not raised
    assert cache.load(2026) == (CLOSED_2026, HALF_2026)  # still served from memory


def test_the_library_key_follows_the_installed_rules_file() -> None:
    key = library_key()
    assert key is not None
    assert "financial/ny_stock_exchange.py:" in key


class _Recording:
    """A HolidayYears store in memory that records what the calendar asks."""

    def __init__(self, years: dict[int, YearDays]) -> None:
        self.years = years
        self.loads: list[int] = []
        self.saves: list[list[int]] = []

    def load(self, year: int) -> YearDays | None:
        self.loads.append(year)
        return self.years.get(year)

    def save(self, years: Mapping[int, YearDays]) -> None:
        self.saves.append(sorted(years))
        self.years.update(years)


def test_the_calendar_uses_the_stored_year_and_stores_a_computed_one() -> None:
    # A made-up closure on a Monday proves the stored copy is what the calendar reads.
    monday = dt.date(2031, 7, 7)
    store = _Recording({2031: (frozenset({monday}), frozenset())})
    use_holiday_store(store)
    cal = TradingCalendar()
    assert not cal.is_session(monday)
    assert store.saves == []
    # A year the store lacks comes from the package and is stored for the next process, with
    # the years around it (the next year's January is asked for in November; past earnings are
    # matched to their sessions ~4 years back), in one save; a year already stored is not
    # overwritten by the span.
    observed = dt.date(2032, 12, 24)  # Christmas falls on a Saturday: closed on the Friday
    assert not cal.is_session(observed)
    assert store.saves == [[2028, 2029, 2030, 2032, 2033, 2034]]
    assert not cal.is_session(monday)  # the stored 2031 was kept
    assert cal.is_session(dt.date(2033, 1, 3))
    assert not cal.is_session(dt.date(2033, 1, 17))  # Martin Luther King Jr. Day
    assert store.saves == [[2028, 2029, 2030, 2032, 2033, 2034]]  # 2033 from the store
    closed, _ = store.years[2032]
    assert observed in closed


def test_the_file_cache_gives_the_same_sessions_as_the_package(tmp_path: Path) -> None:
    use_holiday_store(None)
    direct = TradingCalendar()
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    expected = [(d, direct.session(d)) for d in days]
    path = tmp_path / "nyse-holidays.json"
    use_holiday_store(HolidayFileCache(path))
    assert [(d, TradingCalendar().session(d)) for d in days] == expected  # computed, saved
    use_holiday_store(HolidayFileCache(path))  # as the next process: read from the file
    assert [(d, TradingCalendar().session(d)) for d in days] == expected
    assert os.path.getsize(path) > 0


def test_the_warm_up_loads_next_year_too_late_in_the_year() -> None:
    # In late November a scan asks for January's sessions (events, expirations): the warm-up
    # thread loads that year as well, so the first analysis does not pay for it on the loop.
    from ivcrush_tui.engine.warm_up import _warm_up

    store = _Recording({2026: (CLOSED_2026, HALF_2026)})
    use_holiday_store(store)
    default_calendar.cache_clear()  # the shared calendar keeps the years it has read
    try:
        _warm_up(dt.date(2026, 11, 23))
    finally:
        default_calendar.cache_clear()  # it read the made-up 2026 above: not for other tests
    assert store.loads[:2] == [2026, 2027]
    # computed once, with the years around it (2026 was stored already)
    assert store.saves == [[2023, 2024, 2025, 2027, 2028, 2029]]
