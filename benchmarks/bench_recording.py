"""Benchmark: the size of a recording (issue 14 target: a 1-hour entry window for 100 names
< 50 MB), recorded through the real Recorder into a real SQLite store.

Worst case, by construction:
- quotes: every name streams its underlying, its ATM call and put and the two strikes bracketing
  spot (5 symbols), each at 8 events/s (jittered), twice the recorder's cap, so every symbol
  records 4 quotes/s for the whole hour (7.2 M quotes for 100 names); random walks on the tick
  grid (0.01 stock, 0.05 option), cumulative volumes growing;
- analyses: every name re-analysed every 15 s (the console's entry-window refresh; 24,000
  analyses: the demo market's pace, 4x what Tradier's 120 requests/min allow live), each one a
  real analysis of the demo market (one engine scan of 100 names) with EVERY intraday number
  moved at random (relative 1e-4, full precision) between two analyses: quotes, IVs, the skew
  fit, the term structure, VRP, Greeks. Only the daily data stays (past moves, the event's
  dates, the realised vol, the market cap), as it does in the window.

Run: `.venv/bin/python benchmarks/bench_recording.py` (~2-4 min; a temporary folder).
`--names 20 --minutes 10` for a quick look (the size is then extrapolated to 100 names x 1 hour).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivcrush_tui.analytics.analysis import Analysis  # noqa: E402
from ivcrush_tui.calendar import NY, default_calendar  # noqa: E402
from ivcrush_tui.config import load_settings  # noqa: E402
from ivcrush_tui.engine.analysis_codec import decode_analysis, encode_analysis  # noqa: E402
from ivcrush_tui.engine.clock import FixedClock  # noqa: E402
from ivcrush_tui.engine.recorded import RecordedQuote  # noqa: E402
from ivcrush_tui.engine.recorder import EntryWindowFilter, Recorder  # noqa: E402
from ivcrush_tui.engine.replay import load_recording  # noqa: E402
from ivcrush_tui.engine.runtime import open_runtime  # noqa: E402
from ivcrush_tui.engine.service import Engine  # noqa: E402
from ivcrush_tui.providers.demo.universe import UNIVERSE  # noqa: E402
from ivcrush_tui.store.db import Database  # noqa: E402

DAY = dt.date(2026, 11, 23)
OPEN = dt.datetime(2026, 11, 23, 15, 0, tzinfo=NY).astimezone(dt.UTC)
SCAN_AT = OPEN + dt.timedelta(minutes=30)
TARGET_MB = 50.0
QUOTES_PER_S = 4  # the recorder's cap per symbol
ANALYSIS_EVERY_S = 15
SYMBOLS_PER_NAME = 5


async def _analyses(folder: Path, names: Sequence[str]) -> list[Analysis]:
    """One real engine scan of `names` on the in-process demo market."""
    cfg = folder / "config.toml"
    cfg.write_text(
        f'[storage]\npath = "{folder / "scan.sqlite3"}"\nlog_dir = "{folder / "log"}"\n',
        encoding="utf-8",
    )
    settings = load_settings(cfg, {}, force_demo=True)
    async with open_runtime(settings, FixedClock(SCAN_AT)) as rt:
        engine = Engine(rt)
        try:
            return [a async for a in engine.scan(list(names), SCAN_AT)]
        finally:
            await engine.aclose()


def _jiggle(value: Any, rng: random.Random) -> Any:
    """Every float moved by a relative 1e-4 (full precision), recursively in decoded JSON."""
    if isinstance(value, float):
        return value * (1.0 + rng.gauss(0.0, 1e-4))
    if isinstance(value, list):
        return [_jiggle(v, rng) for v in value]
    if isinstance(value, dict):
        return {k: _jiggle(v, rng) for k, v in value.items()}
    return value


# Daily data: the same all day (past moves and events from daily bars, the event's dates, the
# realised vol, the company), so not moved between two analyses of the window.
DAILY = frozenset({"history", "schedule", "rv30", "market_cap", "expiration_info"})


def _moved(a: Analysis, at: dt.datetime, rng: random.Random) -> Analysis:
    data = json.loads(encode_analysis(a))
    data = {k: v if k in DAILY else _jiggle(v, rng) for k, v in data.items()}
    return dataclasses.replace(decode_analysis(json.dumps(data)), as_of=at)


def _stream_symbols(a: Analysis) -> list[str]:
    atm = getattr(a.implied, "atm", None)
    if atm is None:  # no options: the underlying and synthetic legs (same count)
        return [a.symbol] + [f"{a.symbol}X{i}" for i in range(SYMBOLS_PER_NAME - 1)]
    lo = atm.call.symbol[:-8] + "00000001"
    hi = atm.call.symbol[:-8] + "99999999"
    return [a.symbol, atm.call.symbol, atm.put.symbol, lo, hi]


async def run(names: int, minutes: int, seed: int, offered: int) -> dict[str, float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="ivcrush-bench-rec-") as tmp:
        folder = Path(tmp)
        symbols = [x.symbol for x in UNIVERSE[:names]]
        t0 = time.perf_counter()
        base = await _analyses(folder, symbols)
        scan_s = time.perf_counter() - t0
        path = folder / "recording.sqlite3"
        db = await Database.open(path, clock=lambda: OPEN)
        await db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        empty = path.stat().st_size  # the schema of every table: not the recording's
        clock = [OPEN]
        rec = Recorder(db, now=lambda: clock[0], inside=EntryWindowFilter(default_calendar()))
        streams = [(a, _stream_symbols(a)) for a in base]
        price = {s: (rng.uniform(20, 500) if i == 0 else rng.uniform(1, 20))
                 for _, syms in streams for i, s in enumerate(syms)}  # fmt: skip
        volume = dict.fromkeys(price, 1000)
        steps = minutes * 60 * offered
        step_ms = 1000 // offered
        cpu0 = time.process_time()
        t1 = time.perf_counter()
        quotes = analyses = 0
        for step in range(steps):
            now = OPEN + dt.timedelta(milliseconds=step * step_ms)
            clock[0] = now
            for n, (a, syms) in enumerate(streams):
                for i, sym in enumerate(syms):
                    tick = 0.01 if i == 0 else 0.05
                    if rng.random() < 0.3:
                        price[sym] = max(tick, price[sym] + rng.choice((-tick, tick)))
                    if rng.random() < 0.2:
                        volume[sym] += rng.randint(1, 500)
                    p = round(price[sym], 2)
                    at = now + dt.timedelta(milliseconds=rng.randint(0, step_ms // 2))
                    q = RecordedQuote(sym, at, p, round(p + tick, 2), p, volume[sym])
                    rec.on_quote(sym, q, at)
                    quotes += 1
                # Staggered: name n is analysed when (step + 3n) hits its 15 s slot.
                if (step + 3 * n) % (ANALYSIS_EVERY_S * offered) == 0:
                    rec.on_analysis(_moved(a, now, rng))
                    analyses += 1
            if step % offered == 0:
                rec.tick(now)
            if step % (10 * offered) == 0:
                await rec.flush()
        await rec.close()
        record_s = time.perf_counter() - t1
        cpu_s = time.process_time() - cpu0
        assert rec.lost == 0, rec.lost
        await db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        q_bytes = await db.fetchval("SELECT COALESCE(SUM(length(data)), 0) FROM recorded_quotes")
        a_bytes = await db.fetchval("SELECT COALESCE(SUM(length(data)), 0) FROM recorded_analyses")
        chunk_rows = await db.fetchval("SELECT COUNT(*) FROM recorded_quotes")
        free = await db.fetchval("PRAGMA freelist_count")
        unused = await db.fetchall(
            "SELECT name, SUM(unused) FROM dbstat WHERE name LIKE '%recorded%' GROUP BY name"
        )
        await db.close()
        size = path.stat().st_size - empty
        assert free == 0, free
        db2 = await Database.open(path, clock=lambda: OPEN)
        t2 = time.perf_counter()
        recording = await load_recording(db2, DAY)
        load_s = time.perf_counter() - t2
        await db2.close()
        scale = (100 / names) * (60 / minutes)
        return {
            "names": names,
            "minutes": minutes,
            "quotes_offered": quotes,
            "quotes_recorded": rec.quotes_recorded,
            "analyses": analyses,
            "analyses_loaded": recording.analysis_count,
            "mb": size / 1e6,
            "mb_100_names_1h": size * scale / 1e6,
            "quote_blob_mb": q_bytes / 1e6,
            "analysis_blob_mb": a_bytes / 1e6,
            "chunk_rows": chunk_rows,
            "page_slack_mb": sum(int(r[1]) for r in unused) / 1e6,
            "blob_bytes_per_quote": q_bytes / max(1, rec.quotes_recorded),
            "blob_bytes_per_analysis": a_bytes / max(1, analyses),
            "scan_s": scan_s,
            "record_wall_s": record_s,
            "record_cpu_s": cpu_s,
            "load_check_s": load_s,
        }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--names", type=int, default=100)
    p.add_argument("--minutes", type=int, default=60)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument(
        "--offered-per-s",
        type=int,
        default=8,
        help="stream events per second and symbol (default 8: twice the cap, so every symbol"
        " records 4 a second)",
    )
    args = p.parse_args(argv)
    result = asyncio.run(run(args.names, args.minutes, args.seed, args.offered_per_s))
    for key, value in result.items():
        print(f"{key:>18}: {value:,.3f}" if isinstance(value, float) else f"{key:>18}: {value:,}")
    ok = result["mb_100_names_1h"] < TARGET_MB
    print(f"target < {TARGET_MB:g} MB for 100 names x 1 hour: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
