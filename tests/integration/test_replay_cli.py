"""`ivcrush replay DATE`: bad input is one clear line and exit 2, never a traceback (no recording,
a damaged recording, a file that is no database, the other market's file, a bad date or speed);
demo and live recordings stay in their own files."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.cli import main
from ivcrush_tui.config import load_settings
from ivcrush_tui.engine.analysis_pack import join_parts
from ivcrush_tui.engine.recorder import Recorder
from ivcrush_tui.engine.replay import load_recording
from ivcrush_tui.exit_codes import EXIT_USAGE
from ivcrush_tui.store.db import Database
from tests.ui.fake_backend import SCRIPTS, build_analysis

DAY = dt.date(2026, 11, 23)
AT = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(dt.UTC)
CAL = TradingCalendar()


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[tradier]
token = "test-token"
[alphavantage]
api_key = "test-key"
[storage]
path = "{tmp_path / "live.sqlite3"}"
log_dir = "{tmp_path / "log"}"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)  # it holds (fake) keys: no permission warning on stderr
    return path


def _db_path(cfg: Path, *, demo: bool) -> Path:
    return load_settings(cfg, dict(os.environ), force_demo=demo).database_path


def replay(capsys: pytest.CaptureFixture[str], cfg: Path, *args: str) -> tuple[int, str]:
    code = main(["replay", "--config", str(cfg), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert out == ""
    return code, err


async def _record(path: Path, mode: str, symbols: tuple[str, ...] = ("AAPL", "MSFT")) -> None:
    async with await Database.open(path, clock=lambda: AT, mode=mode) as db:  # type: ignore[arg-type]
        rec = Recorder(db, now=lambda: AT, inside=lambda _at: True)
        for i in range(3):
            for sym in symbols:
                rec.on_analysis(build_analysis(SCRIPTS[sym], AT + dt.timedelta(minutes=i), CAL))
        await rec.close()


async def _execute(path: Path, sql: str) -> None:
    async with await Database.open(path, clock=lambda: AT) as db, db.transaction() as tx:
        await tx.execute(sql)


def test_bad_dates_and_speeds_are_usage_errors(
    capsys: pytest.CaptureFixture[str], cfg: Path
) -> None:
    code, err = replay(capsys, cfg, "2026-13-01")
    assert code == EXIT_USAGE
    assert "DATE '2026-13-01' is not YYYY-MM-DD" in err
    for speed in ("0", "-2", "fast", "1e9"):
        code, err = replay(capsys, cfg, "2026-11-23", "--speed", speed)
        assert code == EXIT_USAGE, speed
        assert "is not a speed" in err


def test_no_database_and_no_recording(capsys: pytest.CaptureFixture[str], cfg: Path) -> None:
    code, err = replay(capsys, cfg, "2026-11-23")
    assert code == EXIT_USAGE
    assert "no recording of 2026-11-23" in err
    assert "is absent" in err
    assert not _db_path(cfg, demo=False).exists()  # a replay creates no file
    asyncio.run(_record(_db_path(cfg, demo=False), "live"))
    code, err = replay(capsys, cfg, "2026-11-24")
    assert code == EXIT_USAGE
    assert "no recording of 2026-11-24" in err
    assert "recorded days: 2026-11-23" in err


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("UPDATE recorded_analyses SET data = substr(data, 1, 12)", "damaged"),
        ("UPDATE recorded_analyses SET data = x'789c0b0e0f'", "damaged"),
        ("UPDATE recorded_analyses SET base = 999999", "chain is broken"),
        ("UPDATE recorded_analyses SET n = 2", "row of"),
        ("UPDATE recorded_analyses SET codec = 99", "unknown analysis codec"),
        ("UPDATE recorded_quotes SET data = x'deadbeef'", "quote chunk of"),
    ],
)
def test_a_damaged_recording_is_refused(
    capsys: pytest.CaptureFixture[str], cfg: Path, sql: str, words: str
) -> None:
    path = _db_path(cfg, demo=False)
    asyncio.run(_record(path, "live"))
    asyncio.run(_execute(path, sql))
    code, err = replay(capsys, cfg, "2026-11-23")
    assert code == EXIT_USAGE
    assert words in err
    assert err.count("\n") == 1  # one line


def test_an_analysis_that_does_not_decode_is_refused(
    capsys: pytest.CaptureFixture[str], cfg: Path
) -> None:
    import zlib

    path = _db_path(cfg, demo=False)
    asyncio.run(_record(path, "live", ("AAPL",)))
    bad = b"\x00" + zlib.compress(b'{"symbol": "AAPL", "status": "sideways"}')
    blob = join_parts([(0, bad)]).hex()
    asyncio.run(
        _execute(path, f"UPDATE recorded_analyses SET data = x'{blob}', base = NULL, n = 1")
    )
    code, err = replay(capsys, cfg, "2026-11-23")
    assert code == EXIT_USAGE
    assert "does not decode" in err


def test_a_file_that_is_no_database(capsys: pytest.CaptureFixture[str], cfg: Path) -> None:
    path = _db_path(cfg, demo=False)
    path.write_bytes(b"this is not SQLite\n" * 200)
    code, err = replay(capsys, cfg, "2026-11-23")
    assert code == EXIT_USAGE
    assert str(path) in err


def test_demo_and_live_recordings_stay_apart(capsys: pytest.CaptureFixture[str], cfg: Path) -> None:
    demo_path = _db_path(cfg, demo=True)
    live_path = _db_path(cfg, demo=False)
    assert demo_path != live_path
    asyncio.run(_record(demo_path, "demo"))
    # The live replay does not see the demo recording (its own file has none) ...
    code, err = replay(capsys, cfg, "2026-11-23")
    assert code == EXIT_USAGE
    assert "no recording of 2026-11-23" in err
    # ... and a live run never opens the demo file, even when pointed at it.
    asyncio.run(_record(live_path, "live"))
    live_path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{live_path}{suffix}").unlink(missing_ok=True)
    live_path.symlink_to(demo_path)
    code, err = replay(capsys, cfg, "2026-11-23")
    assert code == EXIT_USAGE
    assert "demo market's database" in err

    async def demo_day() -> int:
        async with await Database.open(demo_path, clock=lambda: AT, mode="demo") as db:
            return (await load_recording(db, DAY)).analysis_count

    assert asyncio.run(demo_day()) == 6
