"""Operations: what a headless, cron-driven install relies on, over real loopback sockets.

- the response cache survives a restart (a second run within the TTL costs >= 70 % fewer requests);
- config validation reports every kind of mistake, through the CLI too (exit 2);
- New York time and DST: --as-of parsing and the calendar's entry windows in UTC;
- 10 concurrent scans on one database;
- kill -9 in the middle of a scan and of a backfill: the next run continues, nothing committed
  is lost, PRAGMA integrity_check is ok.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from ivcrush_tui.analytics.analysis import Status
from ivcrush_tui.calendar import NY, default_calendar
from ivcrush_tui.config import ConfigError, Settings, load_settings
from ivcrush_tui.domain import Timing
from ivcrush_tui.engine.backfill import BackfillReport, run_backfill
from ivcrush_tui.engine.clock import FixedClock, parse_as_of
from ivcrush_tui.engine.health import RECENT_CALL_S, check_health
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.responses import TRADIER_PREFIX
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.resilience.baselines import LatencyBaselines
from ivcrush_tui.resilience.ratelimit import utc_now
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories import BackfillRepo, WatchlistRepo
from tests.integration.live_env import (
    AS_OF,
    CLOCK,
    WIDE_WINDOW,
    cli,
    cli_popen,
    collect_garbage,
    market,
    scan,
    scan_once,
    server_clock,
    serving,
    settings_for,
    write_config,
)

CAL = default_calendar()
UTC = dt.UTC


@pytest.fixture(autouse=True)
def _finalize() -> Iterator[None]:
    yield
    collect_garbage()


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with serving() as srv:
        yield srv


def _requests(server: DemoServer) -> int:
    return sum(server.request_counts.values())


def _integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- the cache across a restart ------------------------------------------------------------------


async def test_the_cache_persists_across_a_restart(server: DemoServer, tmp_path: Path) -> None:
    settings = settings_for(write_config(tmp_path, server))
    symbols = list(market().symbols[:10])
    first = await scan_once(settings, symbols)  # one process...
    cold = _requests(server)
    server.reset_counters()
    second = await scan_once(settings, symbols)  # ...and the next, within the TTLs
    warm = _requests(server)
    assert cold >= 30
    assert warm <= 0.3 * cold, (cold, warm, server.request_counts)
    ok = {a.symbol for a in first if a.ok}
    assert len(ok) >= 9
    assert {a.symbol for a in second if a.ok} == ok
    # Same inputs, same numbers: the cached bodies are the fetched ones.
    implied = {a.symbol: a.implied for a in first if a.ok}
    assert all(a.implied == implied[a.symbol] for a in second if a.ok)


# -- configuration errors ------------------------------------------------------------------------

BAD_CONFIGS = [
    ("[engine\nconcurrency = 4", "<file>", "TOML syntax error at line 1"),
    ("[engine]\nconcurency = 4", "engine.concurency", "unknown key (did you mean 'concurrency'?)"),
    ("[enigne]\nconcurrency = 4", "enigne", "unknown section"),
    ('[engine]\nconcurrency = "ten"', "engine.concurrency", "must be an integer"),
    ("[engine]\nconcurrency = 0", "engine.concurrency", "must be"),
    ("[engine]\nconcurrency = 65", "engine.concurrency", "must be"),
    ("[tradier]\ntimeout_s = nan", "tradier.timeout_s", "must be a finite number"),
    ('[tradier]\nbase_url = "ftp://x/v1"', "tradier.base_url", "must be an http(s) URL"),
    ('[tradier]\nbase_url = "https://api.tradier.com"', "tradier.base_url", "must end with /v1"),
    (
        '[alphavantage]\nbase_url = "https://www.alphavantage.co/query?apikey=1"',
        "alphavantage.base_url",
        "must not contain a query",
    ),
    ('[tradier]\ntoken = "  "', "tradier.token", "must not be empty"),
    ('[tradier]\ntoken = "two words"', "tradier.token", "must not contain whitespace"),
    ('[analysis]\nprofile = "yolo"', "analysis.profile", "must be one of"),
    ("[analysis]\nrisk_free_rate = 4.0", "analysis.risk_free_rate", "a fraction"),
    (
        "[analysis]\nexcellent = 1.0\ngood = 2.0",
        "analysis.excellent",
        "excellent >= good >= marginal",
    ),
    ("[analysis]\nmin_events = 9\nmax_events = 4", "analysis.min_events", "<= analysis.max"),
    (
        "[resilience]\nbackoff_base_s = 9.0\nbackoff_max_s = 1.0",
        "resilience.backoff_base_s",
        "<= resilience.backoff_max_s",
    ),
    ("demo = 3", "demo", "must be true or false"),
]


@pytest.mark.parametrize(("text", "key", "why"), BAD_CONFIGS)
def test_config_validation_names_the_key_and_the_reason(
    tmp_path: Path, text: str, key: str, why: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    problems = info.value.problems
    assert any(p.key_path == key and why in str(p) for p in problems), [str(p) for p in problems]
    assert info.value.code == "config"


def test_config_problems_from_the_environment_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_settings(tmp_path / "nope.toml", {})
    assert "config file not found" in str(missing.value)
    with pytest.raises(ConfigError) as folder:
        load_settings(tmp_path, {})
    assert "is a folder" in str(folder.value)
    with pytest.raises(ConfigError) as env:
        load_settings(None, {"IVCRUSH_CONFIG": str(tmp_path / "none.toml")})
    assert "config file not found" in str(env.value)
    with pytest.raises(ConfigError) as space:
        load_settings(None, {"IVCRUSH_CONFIG": "", "TRADIER_TOKEN": "a secret value"})
    assert "$TRADIER_TOKEN" in str(space.value)
    assert "secret value" not in str(space.value)


def test_the_cli_reports_every_config_problem_at_once_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[engine]\nconcurrency = 0\nconcurency = 3\n[tradier]\nbase_url = "http://x"\n'
        'token = "tok en"\n',
        encoding="utf-8",
    )
    done = cli("health", "--config", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    err = done.stderr
    assert f"{path} has problems" in err or "configuration has problems" in err
    for key in ("engine.concurrency", "engine.concurency", "tradier.base_url", "tradier.token"):
        assert key in err, err
    assert "tok en" not in err  # a secret is never echoed, even a malformed one
    assert "Traceback" not in err


# -- New York time and DST -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        # A bare date is 15:30 New York time that day: EST (UTC-5) before 2026-03-08...
        ("2026-03-06", dt.datetime(2026, 3, 6, 20, 30, tzinfo=UTC)),
        # ...EDT (UTC-4) from the Monday after the spring-forward Sunday.
        ("2026-03-09", dt.datetime(2026, 3, 9, 19, 30, tzinfo=UTC)),
        # A naive time is New York wall time; after 2026-11-01 (fall back) it is EST again.
        ("2026-10-30T15:30", dt.datetime(2026, 10, 30, 19, 30, tzinfo=UTC)),
        ("2026-11-02T15:30", dt.datetime(2026, 11, 2, 20, 30, tzinfo=UTC)),
        # An explicit offset or Z is taken as given.
        ("2026-11-23T15:30:00-05:00", dt.datetime(2026, 11, 23, 20, 30, tzinfo=UTC)),
        ("2026-07-01T19:00:00Z", dt.datetime(2026, 7, 1, 19, 0, tzinfo=UTC)),
        # The basic form of a date alone means the same as the extended one (not midnight).
        ("20261124", dt.datetime(2026, 11, 24, 20, 30, tzinfo=UTC)),
        ("2026-11-24", dt.datetime(2026, 11, 24, 20, 30, tzinfo=UTC)),
        # The edges of the accepted years.
        ("1990-01-02T10:00", dt.datetime(1990, 1, 2, 15, 0, tzinfo=UTC)),
        ("2100-12-31T12:00", dt.datetime(2100, 12, 31, 17, 0, tzinfo=UTC)),
        # 01:30 on the fall-back Sunday happens twice: fold=0, the first (EDT) one.
        ("2026-11-01T01:30", dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ],
)
def test_as_of_parsing_across_dst(text: str, utc: dt.datetime) -> None:
    parsed = parse_as_of(text)
    assert parsed == utc
    assert parsed.tzinfo is UTC


def test_as_of_rejects_garbage_with_an_example() -> None:
    with pytest.raises(ValueError, match=r"not ISO-8601 \(e\.g\. 2026-11-23T15:30-05:00\)"):
        parse_as_of("next tuesday")


def test_entry_windows_in_utc_follow_dst_and_half_days() -> None:
    def window(day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        return CAL.entry_window(day)

    hour = dt.timedelta(hours=1)
    # Friday before the spring-forward Sunday (EST) and the Monday after (EDT).
    assert window(dt.date(2026, 3, 6)) == (
        dt.datetime(2026, 3, 6, 20, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 6, 20, 0, tzinfo=UTC) + hour,
    )
    assert window(dt.date(2026, 3, 9)) == (
        dt.datetime(2026, 3, 9, 19, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 19, 0, tzinfo=UTC) + hour,
    )
    # The day after Thanksgiving closes at 13:00 ET: the window is 12:00-13:00 ET (17-18 UTC).
    assert window(dt.date(2026, 11, 27)) == (
        dt.datetime(2026, 11, 27, 17, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 27, 18, 0, tzinfo=UTC),
    )
    assert window(dt.date(2026, 11, 26)) is None  # Thanksgiving: closed
    # Thursday evening 20:00 ET (01:00 UTC Friday) -> the next window is Friday's half-day one.
    thursday_night = dt.datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert CAL.next_entry_window(thursday_night)[0] == dt.datetime(2026, 11, 27, 17, tzinfo=UTC)
    # 19:30 UTC is inside the window in summer (15:30 EDT) but before it in winter (14:30 EST).
    assert CAL.minutes_to_entry_window(dt.datetime(2026, 7, 1, 19, 30, tzinfo=UTC)) == 0.0
    assert CAL.minutes_to_entry_window(dt.datetime(2026, 12, 1, 19, 30, tzinfo=UTC)) == 30.0


def test_event_dates_around_the_dst_change_and_holidays() -> None:
    # AMC on the Friday before spring-forward: enter Friday, react Monday (EDT).
    assert CAL.entry_date(dt.date(2026, 3, 6), Timing.AMC) == dt.date(2026, 3, 6)
    assert CAL.reaction_session(dt.date(2026, 3, 6), Timing.AMC) == dt.date(2026, 3, 9)
    # BMO on the Monday after: enter the Friday before.
    assert CAL.entry_date(dt.date(2026, 3, 9), Timing.BMO) == dt.date(2026, 3, 6)
    # An event dated Thanksgiving (closed): AMC is entered Wednesday, reacts on the half day.
    assert CAL.entry_date(dt.date(2026, 11, 26), Timing.AMC) == dt.date(2026, 11, 25)
    assert CAL.reaction_session(dt.date(2026, 11, 26), Timing.AMC) == dt.date(2026, 11, 27)
    # The AMC release on a half day is at 13:00 ET.
    assert CAL.event_time(dt.date(2026, 11, 27), Timing.AMC) == dt.datetime(
        2026, 11, 27, 13, 0, tzinfo=NY
    )
    # The DST week's 23-hour Sunday is counted in pricing time: Friday 16:00 EST to Monday 16:00
    # EDT is 71 hours, not 72.
    fri_close = dt.datetime(2026, 3, 6, 16, 0, tzinfo=NY)
    assert CAL.pricing_time_years(fri_close, dt.date(2026, 3, 9)) * 365 * 24 == pytest.approx(71)


# -- concurrency on one database ---------------------------------------------------------------


async def test_ten_concurrent_scans_share_one_database(server: DemoServer, tmp_path: Path) -> None:
    settings = settings_for(write_config(tmp_path, server))
    names = list(market().symbols[:12])

    async def one(i: int) -> list[tuple[str, Status]]:
        async with open_runtime(settings, CLOCK) as rt:
            results = await scan(rt, names[i % 4 : i % 4 + 4])
            return [(a.symbol, a.status) for a in results]

    t0 = time.perf_counter()
    statuses = await asyncio.gather(*(one(i) for i in range(10)))
    elapsed = time.perf_counter() - t0
    flat = [s for run in statuses for _, s in run]
    assert len(flat) == 40
    assert Status.ERROR not in flat
    ok_names = {sym for run in statuses for sym, s in run if s is Status.OK}
    async with await Database.open(settings.storage.path, clock=CLOCK.now) as db:
        assert await db.integrity_check()
        ledger = await db.fetchval("SELECT count(*) FROM analysis_snapshots")
    # Every committed row is there, once per symbol: the ten scans share one instant, and the
    # ledger's path keeps one row per symbol per minute (METHODS §12).
    assert ledger == len(ok_names)
    assert elapsed < 25.0


# -- kill -9 -------------------------------------------------------------------------------------


class Lines:
    """Collects a pipe's lines on a thread (so the test can wait for progress, then kill)."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pred: Callable[[list[str]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(list(self.lines)):
                return True
            time.sleep(0.02)
        return False

    def join(self) -> None:
        self._thread.join(timeout=5.0)


def _slow_server() -> DemoServer:
    faults = FaultConfig(latency_ms=120.0, jitter_ms=40.0, tradier_limit_per_min=WIDE_WINDOW)
    return DemoServer(market(), faults, server_clock)


def test_kill_9_in_the_middle_of_a_scan_loses_nothing_committed(tmp_path: Path) -> None:
    symbols = list(market().symbols[:16])
    with _slow_server() as server:
        config = write_config(tmp_path, server, engine={"concurrency": 2})
        db_path = settings_for(config).storage.path
        args = ("scan", *symbols, "--json", "--config", str(config), "--as-of", AS_OF)
        proc = cli_popen(*args)
        out = Lines(proc.stdout)
        assert out.wait_for(lambda lines: len(lines) >= 3, timeout=25.0), proc.stderr
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        out.join()
        assert proc.returncode == -signal.SIGKILL
        printed = [json.loads(line) for line in out.lines if line.strip()]
        assert 3 <= len(printed) < len(symbols)  # killed mid-scan
        assert _integrity(db_path) == "ok"
        ok_before = {r["ticker"] for r in printed if r["status"] == "ok"}
        with sqlite3.connect(db_path) as conn:
            stored = {r[0] for r in conn.execute("SELECT symbol FROM analysis_snapshots")}
        assert ok_before <= stored  # every row printed as ok was committed first

        rerun = cli(*args)
        assert rerun.returncode in (0, 1), rerun.stderr
        rows = [json.loads(line) for line in rerun.stdout.splitlines()]
        assert sorted(r["ticker"] for r in rows) == sorted(symbols)
        assert all(r["status"] != "error" for r in rows), rerun.stdout
        assert _integrity(db_path) == "ok"
        with sqlite3.connect(db_path) as conn:
            after = {r[0] for r in conn.execute("SELECT symbol FROM analysis_snapshots")}
        assert stored <= after
        assert {r["ticker"] for r in rows if r["status"] == "ok"} <= after


def test_kill_9_in_the_middle_of_a_backfill_resumes_where_it_stopped(tmp_path: Path) -> None:
    symbols = list(market().symbols[20:30])
    with _slow_server() as server:
        config = write_config(tmp_path, server)
        db_path = settings_for(config).storage.path
        args = ("backfill", *symbols, "--quarters", "4", "--config", str(config), "--as-of", AS_OF)
        proc = cli_popen(*args)
        err = Lines(proc.stderr)

        def three_done(lines: list[str]) -> bool:
            return sum(": done (" in x for x in lines) >= 3

        assert err.wait_for(three_done, timeout=25.0), err.lines
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        err.join()
        finished = [x.split(":")[0] for x in err.lines if ": done (" in x]
        assert 3 <= len(finished) < len(symbols)
        assert _integrity(db_path) == "ok"
        with sqlite3.connect(db_path) as conn:
            progress = dict(
                conn.execute(
                    "SELECT symbol, events_done AND prices_done FROM backfill_progress"
                ).fetchall()
            )
            priced = {r[0] for r in conn.execute("SELECT DISTINCT symbol FROM daily_prices")}
        assert all(progress.get(s) == 1 for s in finished)  # committed progress survived
        assert set(finished) <= priced

        server.reset_counters()
        rerun = cli(*args)
        assert rerun.returncode == 0, rerun.stderr
        assert f"backfill: {len(symbols)} done, 0 failed of {len(symbols)}" in rerun.stderr
        # Only the unfinished names were fetched again (one EARNINGS call each at most).
        av_calls = server.request_counts["/alphavantage/query"]
        assert av_calls <= len(symbols) - len(finished)
        assert _integrity(db_path) == "ok"
        assert _count(db_path, "backfill_progress") == len(symbols)


def test_two_backfills_at_once_never_fetch_a_ticker_twice(tmp_path: Path) -> None:
    """Two processes (cron and a terminal) fetched 12 of the same 13 tickers, spending the Alpha
    Vantage quota twice. Each now claims a ticker in the store before fetching it."""
    symbols = list(market().symbols[30:40])
    with _slow_server() as server:
        config = write_config(tmp_path, server)
        args = ("backfill", *symbols, "--quarters", "4", "--config", str(config), "--as-of", AS_OF)
        first, second = cli_popen(*args), cli_popen(*args)
        outs = [p.communicate(timeout=60) for p in (first, second)]
        assert first.returncode == 0, outs[0][1]
        assert second.returncode == 0, outs[1][1]
        # One EARNINGS request per ticker in all: none was fetched by both processes.
        assert server.request_counts["/alphavantage/query"] == len(symbols)
        done = [{x.split(":")[0] for x in err.splitlines() if ": done (" in x} for _, err in outs]
        assert done[0] | done[1] == set(symbols)  # (one may report a name the other fetched)
        assert _integrity(settings_for(config).storage.path) == "ok"


# -- a backfill ticker that keeps failing ---------------------------------------------------------


async def _backfill_at(
    settings: Settings, when: dt.datetime, symbols: list[str] | None = None
) -> tuple[BackfillReport, str, dict[str, Any]]:
    """One backfill run at `when` (default universe unless `symbols`), then `health`."""
    out = io.StringIO()
    async with open_runtime(settings, FixedClock(when)) as rt:
        report = await run_backfill(rt, symbols or [], quarters=4, out=Console(file=out, width=200))
        health = (await check_health(rt)).to_json()
    backfill = next(c for c in health["components"] if c["name"] == "backfill")
    return report, out.getvalue(), backfill


async def test_a_ticker_that_keeps_failing_is_given_up_on_and_the_rest_refresh(
    server: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = market()
    bad, unknown = m.symbols[41], "ZZZQ"
    real_bars = m.bars

    def bars(symbol: str) -> Any:  # the server answers 500 to every history request for `bad`
        if symbol == bad:
            raise RuntimeError("history unavailable")
        return real_bars(symbol)

    monkeypatch.setattr(m, "bars", bars)
    settings = settings_for(write_config(tmp_path, server, resilience={"retry_attempts": 2}))
    async with await Database.open(settings.storage.path, clock=CLOCK.now) as db:
        await WatchlistRepo(db).add([m.symbols[40], bad, unknown])
    t0 = CLOCK.now().astimezone(UTC)
    hour = dt.timedelta(hours=1)

    # Run 1: the unknown symbol is given up on at once (7 days); `bad` fails its first attempt.
    report, text, health = await _backfill_at(settings, t0)
    names = report.requested
    assert set(report.failed) == {bad, unknown}
    assert f"{bad}: failed: unavailable" in text
    assert "(attempt 1 of 3; tried again on the next run)" in text
    assert f"{unknown}: failed: not_found" in text
    assert [g.symbol for g in report.given_up] == [unknown]
    assert report.given_up[0].retry_after == t0 + dt.timedelta(days=7)
    assert health["status"] == "degraded"
    assert f"{unknown} (not_found, retry after" in health["detail"]
    assert bad not in health["detail"]  # not given up on yet
    assert len(report.completed) == names - 2

    # Runs 2 and 3 retry only `bad` (everything else is done); the third attempt gives up.
    server.reset_counters()
    report, text, health = await _backfill_at(settings, t0 + hour)
    assert list(report.failed) == [bad]
    assert f"{unknown}: skipped: given up after 1 attempt (not_found:" in text
    history_calls = server.request_counts[f"{TRADIER_PREFIX}/markets/history"]
    assert history_calls == 2  # `bad` alone (2 attempts of one request): nothing else re-fetched
    report, text, health = await _backfill_at(settings, t0 + 2 * hour)
    retry_at = t0 + 2 * hour + dt.timedelta(days=1)
    assert {g.symbol for g in report.given_up} == {bad, unknown}
    et = f"{retry_at.astimezone(NY):%Y-%m-%d %H:%M} ET"
    assert f"given up after 3 attempts; tried again after {et}" in text
    assert f"{names - 2} done, 1 failed, 1 skipped (failed earlier) of {names}" in text
    assert f"{bad} (unavailable, retry after" in health["detail"]
    assert health["last_error"]["code"] == "unavailable"  # the most recent failure

    # Run 4: nothing is pending any more, so the full refresh starts; both failures are skipped.
    server.reset_counters()
    report, text, health = await _backfill_at(settings, t0 + 3 * hour)
    assert report.complete
    assert not report.failed  # tickers skipped as failed alone do not fail a run (exit 0)
    assert len(report.completed) == names - 2
    assert f"{names - 2} done, 0 failed, 2 skipped (failed earlier) of {names}" in text
    async with await Database.open(settings.storage.path, clock=CLOCK.now) as db:
        refreshed = await BackfillRepo(db).get(m.symbols[40])
        skipped = await BackfillRepo(db).get(bad)
    assert refreshed is not None
    assert refreshed.done
    assert refreshed.updated_at == t0 + 3 * hour  # stored again by this run
    assert skipped is not None
    assert skipped.updated_at == t0 + 2 * hour  # untouched since it was given up on
    assert health["status"] == "degraded"

    # After its retry-after `bad` gets one more try (and is given up on again at once).
    report, text, _ = await _backfill_at(settings, retry_at + hour)
    assert list(report.failed) == [bad]
    assert "given up after 4 attempts" in text

    # Once the provider serves it again, naming it retries it now, and health is clean of it.
    monkeypatch.setattr(m, "bars", real_bars)
    report, text, health = await _backfill_at(settings, retry_at + 2 * hour, [bad])
    assert report.completed == [bad]
    assert not report.given_up
    assert bad not in health["detail"]
    assert unknown in health["detail"]  # still waiting for its own retry-after


# -- per-operation latency and the slow-request warning ----------------------------------------


async def test_a_run_records_per_operation_latency_for_health(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(write_config(tmp_path, server))
    async with open_runtime(settings, CLOCK) as rt:
        await scan(rt, market().symbols[:5])
        report = (await check_health(rt)).to_json()
        last_ok_ms = rt.tradier_guard.stats.last_ok_latency_ms
    tradier = next(c for c in report["components"] if c["name"] == "tradier")
    ops = {o["name"]: o for o in tradier["operations"]}
    assert {"quotes", "expirations", "chains", "history"} <= set(ops)
    # The scan's calls had just succeeded: they answer for Tradier, no clock request is spent.
    assert "clock" not in ops
    assert tradier["status"] == "healthy"
    assert tradier["detail"].startswith("last call ok ")
    assert tradier["detail"].endswith(" s ago (no probe sent)")
    assert tradier["latency_ms"] == pytest.approx(last_ok_ms, abs=0.01)
    for op in ops.values():
        assert op["count"] >= 1
        assert 0 < op["mean_ms"] <= op["p99_ms"] + 1e-9
        assert op["p95_ms"] <= op["p99_ms"] + 1e-9
    av = next(c for c in report["components"] if c["name"] == "alphavantage")
    assert {o["name"] for o in av["operations"]} >= {"EARNINGS_CALENDAR", "EARNINGS"}


async def test_health_probes_tradier_when_no_recent_call_answers_for_it(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(write_config(tmp_path, server))
    async with open_runtime(settings, CLOCK) as rt:
        ops = rt.tradier_guard.stats.operations

        def clock_calls() -> int:
            op = ops().get("clock")
            return 0 if op is None else op.count

        first = (await check_health(rt)).component("tradier")  # a new process: nothing seen yet
        assert clock_calls() == 1
        assert first is not None
        assert first.detail.startswith("market ")
        again = (await check_health(rt)).component("tradier")  # the probe itself is recent
        assert clock_calls() == 1
        assert again is not None
        assert again.detail.endswith("(no probe sent)")
        await check_health(rt, probe=True)  # asked for (the CLI, the console's refresh key)
        assert clock_calls() == 2
        stats = rt.tradier_guard.stats
        assert stats.last_success_mono is not None
        stats.last_success_mono -= RECENT_CALL_S + 1  # as if the probe were 16 s old
        await check_health(rt)
        assert clock_calls() == 3
        stats.last_call_ok = False  # a later call failed: the provider is asked again
        await check_health(rt)
        assert clock_calls() == 4


def test_health_json_from_the_cli_shows_the_operations(server: DemoServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, server)
    done = cli("health", "--json", "--config", str(config), "--as-of", AS_OF)
    report = json.loads(done.stdout)
    assert done.returncode in (0, 1), done.stderr
    tradier = next(c for c in report["components"] if c["name"] == "tradier")
    assert tradier["status"] == "healthy"
    (clock_op,) = tradier["operations"]  # a health check makes exactly one request
    assert clock_op["name"] == "clock"
    assert clock_op["count"] == 1
    assert clock_op["mean_ms"] > 0
    assert clock_op["p95_ms"] > 0
    assert clock_op["p99_ms"] > 0


async def test_a_slow_endpoint_logs_one_warning_with_the_correlation_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faults = FaultConfig(latency_ms=60.0, tradier_limit_per_min=WIDE_WINDOW)
    with DemoServer(market(), faults, server_clock) as server:
        settings = settings_for(write_config(tmp_path, server))
        async with open_runtime(settings, CLOCK) as rt:
            # Baselines below the injected latency (the shipped ones are 1.5-3 s).
            rt.tradier_guard.baselines = LatencyBaselines(
                "tradier", {"chains": 40.0}, default_ms=None
            )
            caplog.set_level(logging.WARNING, "ivcrush_tui.resilience.baselines")
            results = await scan(rt, market().symbols[:4])
            exceeded = dict(rt.tradier_guard.baselines.exceeded)
    slow = [r for r in caplog.records if r.name == "ivcrush_tui.resilience.baselines"]
    assert exceeded["chains"] >= 4  # every chain request was slow...
    assert len(slow) == 1  # ...and said so once this minute
    message = slow[0].getMessage()
    assert message.startswith("tradier chains took ")
    assert "above its 40 ms baseline" in message
    cid = message.split("[")[1].split("]")[0]
    assert re.fullmatch(r"[0-9a-f]{8}", cid), message  # the slow ticker analysis's id
    assert all(a.status is not Status.ERROR for a in results)


async def test_health_reports_the_last_calls_latency_and_age_across_processes(
    server: DemoServer, tmp_path: Path
) -> None:
    """Alpha Vantage is never probed (quota): health shows its last good call's latency and age,
    also in a fresh process (the runtime stores them on close). A provider that is down shows
    its last good call, never the fraction of a millisecond a refused connection took."""
    settings = settings_for(write_config(tmp_path, server))
    async with open_runtime(settings, CLOCK) as rt:
        await scan(rt, market().symbols[:3])
        av_ms = rt.av_guard.stats.last_ok_latency_ms
        av_at = rt.av_guard.stats.last_success_at
        tradier_ms = rt.tradier_guard.stats.last_ok_latency_ms
        here = (await check_health(rt)).component("alphavantage")
    assert av_ms is not None
    assert av_at is not None
    assert tradier_ms is not None
    assert here is not None
    assert here.latency_ms == pytest.approx(av_ms)
    assert here.latency_age_s is not None

    later = FixedClock(CLOCK.now() + dt.timedelta(minutes=10))
    async with open_runtime(settings, later) as rt:  # a fresh `health`: no calls of its own
        fresh = (await check_health(rt)).component("alphavantage")
        assert rt.av_guard.stats.calls == 0
        # Tradier is probed (no recent call): that probe is now its last good call.
        tradier_ms = rt.tradier_guard.stats.last_ok_latency_ms
    assert fresh is not None
    assert fresh.latency_ms == pytest.approx(av_ms)
    # Aged on the wall clock the guard stamped the call with (an --as-of clock is not real).
    assert fresh.latency_age_s == pytest.approx((utc_now() - av_at).total_seconds(), abs=5)
    assert fresh.to_json()["latency_age_s"] == pytest.approx(fresh.latency_age_s, abs=0.01)

    server.stop()  # Tradier refuses connections now
    async with open_runtime(settings, later) as rt:
        down = (await check_health(rt, probe=True)).component("tradier")
    assert down is not None
    assert down.status.value == "down"
    assert down.latency_ms == pytest.approx(tradier_ms)  # the last good call's, not the probe's
    assert down.latency_age_s is not None
    assert down.latency_age_s >= here.latency_age_s
