"""Alerts with real parts: the SQLite store (v9), real subprocesses for the command (JSON on
stdin, a hanging command killed at its timeout with what it started), `ivcrush alerts --json`
(demo and live kept apart), and the console's backend and `serve` firing them on the demo
market."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Literal

import pytest

from ivcrush_tui.alerts.center import AlertCenter
from ivcrush_tui.alerts.command import run_command
from ivcrush_tui.alerts.model import Alert, alert_to_json
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.cli import main
from ivcrush_tui.config import AlertRule, AlertSettings, RuleKind, default_settings
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.serve.app import ServeApp
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories import AlertsRepo, WatchlistRepo
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, build_analysis

# Monday 2026-11-23 15:30 ET: inside that day's entry window (20:00-21:00 UTC).
INSIDE = dt.datetime(2026, 11, 23, 20, 30, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 23)
ENTRY_WINDOW_ONLY = AlertSettings(rules=(AlertRule(RuleKind.ENTRY_WINDOW),))


def alert(symbol: str = "MSFT", window: dt.date = DAY, at: dt.datetime = INSIDE) -> Alert:
    return Alert(
        rule="tier:excellent",
        kind="tier",
        symbol=symbol,
        window=window,
        fired_at=at,
        title="Tier up",
        message=f"{symbol} rose to excellent (VRP 2.10 reaction)",
        tier="excellent",
        tiering_ratio=2.1,
        recommendation="SELL",
    )


# -- the store -----------------------------------------------------------------------------------


async def test_the_store_keeps_one_alert_per_rule_symbol_and_window(tmp_path: Path) -> None:
    async with await Database.open(
        tmp_path / "db.sqlite3", clock=lambda: INSIDE, mode="demo"
    ) as db:
        repo = AlertsRepo(db)
        first = alert()
        assert await repo.record(first) is True
        later = dataclasses.replace(first, fired_at=INSIDE + dt.timedelta(minutes=5), message="x")
        assert await repo.record(later) is False  # same rule, symbol and window
        next_day = alert(window=dt.date(2026, 11, 24), at=INSIDE + dt.timedelta(days=1))
        assert await repo.record(next_day) is True
        assert await repo.record(alert("AAPL")) is True
        assert [a.key for a in await repo.list()] == [
            first.key,
            alert("AAPL").key,
            next_day.key,
        ]
        assert (await repo.list())[0] == first  # every field round-trips
        assert [a.window for a in await repo.list(until=INSIDE)] == [DAY, DAY]
        assert [a.key for a in await repo.list(limit=1)] == [next_day.key]


# -- the command ---------------------------------------------------------------------------------

_HANG = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent, init here) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _gone_within(pid: int, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_a_hanging_command_is_killed_at_its_timeout_with_what_it_started(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    t0 = time.monotonic()
    outcome = await run_command([sys.executable, "-c", _HANG, str(pid_file)], b"{}\n", 1.5)
    elapsed = time.monotonic() - t0
    assert outcome.timed_out
    assert not outcome.ok
    assert outcome.error == "killed after 1.5 s"
    assert 1.5 <= elapsed < 6.0
    grandchild = int(pid_file.read_text())
    assert _gone_within(grandchild, 5.0)  # the whole process group was killed


async def test_a_failing_or_missing_command_is_reported_not_raised(tmp_path: Path) -> None:
    missing = await run_command([str(tmp_path / "no-such-program")], b"{}", 5)
    assert missing.returncode is None
    assert missing.error is not None
    assert missing.error.startswith("cannot run")
    failing = await run_command(
        [sys.executable, "-c", "import sys; sys.stderr.write('no display'); sys.exit(3)"], b"", 5
    )
    assert failing.returncode == 3
    assert failing.error == "exit status 3: no display"


async def test_the_command_gets_each_new_alert_as_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "received.jsonl"
    reader = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())"
    settings = AlertSettings(
        command=(sys.executable, "-c", reader),
        rules=(AlertRule(RuleKind.ENTRY_WINDOW, symbols=("MSFT",)),),
    )
    stored: list[Alert] = []

    async def record(a: Alert) -> bool:
        stored.append(a)
        return True

    center = AlertCenter(
        settings,
        calendar=TradingCalendar(),
        clock=lambda: INSIDE,
        record=record,
        mode="demo",
    )
    cal = TradingCalendar()
    built = build_analysis(SCRIPTS["MSFT"], FIXED_NOW, cal)
    assert built.schedule is not None
    window = cal.entry_window(built.schedule.entry_date)
    assert window is not None
    analysis = dataclasses.replace(built, as_of=window[0] + dt.timedelta(minutes=1))
    try:
        fired = await center.observe(analysis)
        assert await center.observe(analysis) == []  # de-duplicated in memory
        await center.drain()
    finally:
        await center.aclose()
    assert len(fired) == 1
    assert stored == fired
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [alert_to_json(fired[0], "demo")]
    assert next(iter(center.outcomes)).ok


# -- `ivcrush alerts --json` ---------------------------------------------------------------------


def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


async def _store(path: Path, mode: Literal["live", "demo"], *alerts: Alert) -> None:
    async with await Database.open(path, clock=lambda: INSIDE, mode=mode) as db:
        for a in alerts:
            await AlertsRepo(db).record(a)


def test_cli_lists_the_stored_alerts_as_json_lines_demo_and_live_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _isolate(tmp_path, monkeypatch)
    live_db = tmp_path / "ivcrush.sqlite3"
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[tradier]\ntoken = "t0ken-x"\n[alphavantage]\napi_key = "k3y-x"\n'
        f'[storage]\npath = "{live_db}"\nlog_dir = "{tmp_path / "log"}"\n'
    )
    cfg.chmod(0o600)
    settings = default_settings(live_db)
    later = alert("AAPL", at=INSIDE + dt.timedelta(hours=1))
    asyncio.run(_store(settings.database_path, "demo", alert(), later))  # the demo file
    asyncio.run(_store(live_db, "live", alert("NVDA")))

    assert main(["--demo", "--config", str(cfg), "alerts", "--json"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["symbol"], r["mode"]) for r in rows] == [("MSFT", "demo"), ("AAPL", "demo")]
    assert rows[0] == {
        "fired_at": "2026-11-23T20:30:00+00:00",
        "mode": "demo",
        "rule": "tier:excellent",
        "kind": "tier",
        "symbol": "MSFT",
        "window": "2026-11-23",
        "title": "Tier up",
        "message": "MSFT rose to excellent (VRP 2.10 reaction)",
        "tier": "excellent",
        "tiering_ratio": 2.1,
        "recommendation": "SELL",
    }
    # --as-of: only what had fired by then.
    as_of = ["--as-of", "2026-11-23T15:45-05:00"]
    assert main(["--demo", "--config", str(cfg), "alerts", "--json", *as_of]) == 0
    out, _ = capsys.readouterr()
    assert [json.loads(line)["symbol"] for line in out.splitlines()] == ["MSFT"]
    # Live mode reads the live file only.
    assert main(["--config", str(cfg), "alerts", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert [json.loads(line)["symbol"] for line in out.splitlines()] == ["NVDA"]
    # The table form, and a bad limit.
    assert main(["--config", str(cfg), "alerts"]) == 0
    out, err = capsys.readouterr()
    assert "NVDA" in out
    assert "Traceback" not in err
    assert main(["--config", str(cfg), "alerts", "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err


# -- the console's backend and serve on the demo market -------------------------------------------


async def test_the_console_backend_fires_stores_and_hands_over_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(tmp_path, monkeypatch)
    settings = dataclasses.replace(
        default_settings(tmp_path / "db.sqlite3", demo=True), alerts=ENTRY_WINDOW_ONLY
    )
    got: list[tuple[str, int]] = []

    def listener(a: Alert) -> None:
        got.append((a.symbol, threading.get_ident()))

    backend = EngineBackend(settings, FixedClock(INSIDE))
    backend.subscribe_alerts(listener)
    await backend.start()
    try:
        names = await backend.watchlist()  # seeded: the names entering in the next sessions
        results = [a async for a in backend.scan(names)]
        entering = sorted(
            a.symbol for a in results if a.schedule is not None and a.schedule.entry_date == DAY
        )
        assert entering, "the demo has names entering on this day"
        assert sorted(s for s, _ in got) == entering
        engine_thread = backend.engine_thread.thread
        assert engine_thread is not None
        assert {t for _, t in got} == {engine_thread.ident}  # handed over from the engine
        _ = [a async for a in backend.scan(names)]  # again: nothing new
        assert len(got) == len(entering)
    finally:
        await backend.stop()
    # A restart remembers what fired (the store de-duplicates).
    again = EngineBackend(settings, FixedClock(INSIDE + dt.timedelta(minutes=10)))
    again.subscribe_alerts(listener)
    await again.start()
    try:
        _ = [a async for a in again.scan(names)]
    finally:
        await again.stop()
    assert len(got) == len(entering)
    async with await Database.open(settings.database_path, clock=lambda: INSIDE) as db:
        stored = await AlertsRepo(db).list()
    assert sorted(a.symbol for a in stored) == entering
    assert {(a.rule, a.window) for a in stored} == {("entry_window", DAY)}


async def test_serve_observes_each_analysis_of_its_scans(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        default_settings(tmp_path / "db.sqlite3", demo=True), alerts=ENTRY_WINDOW_ONLY
    )
    async with open_runtime(settings, FixedClock(INSIDE)) as rt:
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            day_names = await engine.candidates(DAY, INSIDE)
            await WatchlistRepo(rt.db).add(day_names[:3])
            await app.loop.scan_once()
            stored = await AlertsRepo(rt.db).list()
        finally:
            await app.loop.alerts.aclose()
            await engine.aclose()
    assert sorted(a.symbol for a in stored) == sorted(day_names[:3])


async def test_the_console_backend_alerts_when_a_breaker_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(tmp_path, monkeypatch)
    rules = AlertSettings(rules=(AlertRule(RuleKind.BREAKER, providers=("tradier",)),))
    settings = dataclasses.replace(
        default_settings(tmp_path / "db.sqlite3", demo=True), alerts=rules
    )
    got: list[Alert] = []
    heard = threading.Event()

    def listener(a: Alert) -> None:  # on the engine thread
        got.append(a)
        heard.set()

    backend = EngineBackend(settings, FixedClock(INSIDE))
    backend.subscribe_alerts(listener)
    await backend.start()

    async def trip() -> None:  # on the engine loop, where the breakers live
        breaker = backend.runtime.guards["tradier"].breaker
        for _ in range(settings.resilience.breaker_failures):
            breaker.record_failure(RuntimeError("connection reset"), breaker.acquire("quotes"))

    try:
        await backend.engine_thread.run(trip())
        assert await asyncio.to_thread(heard.wait, 10)  # the status refresher sees it
    finally:
        await backend.stop()
    assert [(a.rule, a.symbol, a.title) for a in got] == [("breaker", "tradier", "Provider down")]
