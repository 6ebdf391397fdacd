"""Benchmark: full analysis of one ticker (6 expirations x 80 strikes, 12 past events).

Target (issue: analytics core): <= 5 ms per ticker on one core. Run:

    .venv/bin/python benchmarks/bench_analysis.py [--repeat 200] [--no-provider-iv]

`--no-provider-iv` strips the provider's mid_iv so every leg IV is solved by Newton/bisection
(the worst case); by default Tradier-style greeks are present, as in live data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivcrush_tui.analytics.analysis import AnalysisInputs, analyze
from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.calendar import NY, default_calendar
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    OptionChain,
    OptionQuote,
    OptionType,
    StockQuote,
    Timing,
)
from ivcrush_tui.symbols import occ_symbol


def build_inputs(provider_iv: bool) -> AnalysisInputs:
    """A deterministic synthetic ticker: smile + event bump, 3.5 years of bars, 12 events."""
    rng = np.random.default_rng(7)
    cal = default_calendar()
    now = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(dt.UTC)
    spot = 187.3
    event = EarningsEvent("BENCH", dt.date(2026, 11, 24), Timing.AMC)
    fridays = [dt.date(2026, 11, 27) + dt.timedelta(days=7 * i) for i in range(6)]
    expirations = tuple(cal.listed_friday_expiration(f) for f in fridays)
    chains = []
    for exp in expirations:
        T = cal.pricing_time_years(now, exp)  # noqa: N806 - the conventional symbol
        strikes = np.round(spot * np.exp(np.linspace(-0.45, 0.45, 80)), 0)
        k = np.log(strikes / spot)
        bump = 0.08 / max(T, 1e-3)
        ivs = np.sqrt((0.32 - 0.25 * k + 0.6 * k * k) ** 2 + bump)
        opts = []
        for strike, iv in zip(strikes, ivs, strict=True):
            for kind in (OptionType.CALL, OptionType.PUT):
                px = float(bsm_price(spot, strike, T, iv, kind is OptionType.CALL, 0.04))
                half = max(0.01, px * 0.03)
                opts.append(
                    OptionQuote(
                        symbol=occ_symbol("BENCH", exp, kind, float(strike)),
                        underlying="BENCH",
                        expiration=exp,
                        strike=float(strike),
                        option_type=kind,
                        bid=round(max(px - half, 0.01), 2),
                        ask=round(px + half, 2),
                        volume=100,
                        open_interest=500,
                        mid_iv=float(iv) if provider_iv else None,
                    )
                )
        chains.append(OptionChain("BENCH", exp, tuple(opts)))
    sessions = cal.sessions_between(dt.date(2023, 5, 1), dt.date(2026, 11, 20))
    closes = 150.0 * np.exp(np.cumsum(rng.normal(0, 0.018, len(sessions))))
    bars = tuple(
        Bar(d, c * 0.998, c * 1.01, c * 0.99, float(c), 1_000_000)
        for d, c in zip(sessions, closes, strict=True)
    )
    past = tuple(
        EarningsEvent("BENCH", sessions[-30 - 63 * i], Timing.AMC if i % 2 else Timing.BMO)
        for i in range(12)
    )
    return AnalysisInputs(
        symbol="BENCH",
        now=now,
        quote=StockQuote("BENCH", spot, spot - 0.02, spot + 0.02, spot),
        upcoming=event,
        expirations=expirations,
        chains=tuple(chains),
        bars=bars,
        past_events=past,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-provider-iv", action="store_true")
    args = parser.parse_args()
    inputs = build_inputs(provider_iv=not args.no_provider_iv)
    params = AnalysisParams()
    cal = default_calendar()
    result = analyze(inputs, params, cal)  # warm-up (imports, caches)
    assert result.status.value == "ok", result
    samples = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        analyze(inputs, params, cal)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[int(0.95 * (len(samples) - 1))]
    mode = "solved IVs" if args.no_provider_iv else "provider IVs"
    print(
        f"analysis of one ticker (6 x 80 strikes, 12 events, {mode}): "
        f"median {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms over {len(samples)} runs"
    )


if __name__ == "__main__":
    main()
