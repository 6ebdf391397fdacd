"""bench_stream's demo server: the demo market (with bench_scan's 20 clones: 100 names) behind a
loopback HTTP server in its own process, its clock running from 15:00 ET on the scan day at
`--speed` times real time, streaming `--rate` events/s per connection. Driven by one command per
stdin line (`stats`, `quit`). `StreamServer` starts and drives it from the benchmark."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _scan_server import DAY, N_CLONES, Server  # noqa: E402

from ivcrush_tui.calendar import NY, UTC  # noqa: E402

START = dt.datetime.combine(DAY, dt.time(15, 0), tzinfo=NY).astimezone(UTC)


def serve(rate: float, speed: float, latency_ms: float, limit: int) -> int:
    import ivcrush_tui.providers.demo.market as market_mod
    from ivcrush_tui.providers.demo.faults import FaultConfig
    from ivcrush_tui.providers.demo.market import DemoMarket
    from ivcrush_tui.providers.demo.server import DemoServer
    from ivcrush_tui.providers.demo.streams import StreamConfig
    from ivcrush_tui.providers.demo.universe import UNIVERSE

    clones = [
        dataclasses.replace(x, symbol=x.symbol + "Z", name=x.name + " (clone)")
        for x in UNIVERSE
        if "." not in x.symbol
    ][:N_CLONES]
    setattr(market_mod, "UNIVERSE", (*UNIVERSE, *clones))  # noqa: B010 - the module's own name
    market = DemoMarket(DAY)
    t0 = [time.monotonic()]

    def clock() -> dt.datetime:
        return START + dt.timedelta(seconds=speed * (time.monotonic() - t0[0]))

    faults = FaultConfig(latency_ms=latency_ms, tradier_limit_per_min=limit)
    stream = StreamConfig(rate_per_s=rate, reprice_s=1.0)
    with DemoServer(market, faults, clock, max_connections=512, stream=stream) as srv:
        print(f"READY {srv.tradier_base} {srv.av_base}", flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stats":
                st = srv.stats()
                out = {"requests": st.requests, "stream": dataclasses.asdict(srv.streams.stats())}
                print("STATS " + json.dumps(out, default=str), flush=True)
                continue
            if cmd == "quit":
                break
            if cmd == "restart":  # the market clock starts again at 15:00 ET
                t0[0] = time.monotonic()
            print("OK", flush=True)
    return 0


class StreamServer(Server):
    """The server subprocess and its control channel (bench_scan's `send`, `stats`, `close`)."""

    def __init__(self, rate: float, speed: float, latency_ms: float, limit: int = 60_000) -> None:
        super().__init__([__file__, str(rate), str(speed), str(latency_ms), str(limit)])

    def rest_requests(self) -> int:
        """Tradier REST requests served (the stream's session and stream endpoints apart)."""
        reqs = self.stats()["requests"]
        return sum(
            n for path, n in reqs.items() if "/tradier/" in path and "/markets/events" not in path
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("rate", type=float)
    ap.add_argument("speed", type=float)
    ap.add_argument("latency_ms", type=float)
    ap.add_argument("limit", type=int)
    a = ap.parse_args()
    sys.exit(serve(a.rate, a.speed, a.latency_ms, a.limit))
