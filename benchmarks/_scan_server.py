"""bench_scan's demo server: the demo market, with 20 clones added to its universe, behind a
loopback HTTP server in its own process (as a real provider: its CPU is not the client's), driven
by one command per stdin line. `Server` starts and drives it from the benchmark."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivcrush_tui.calendar import NY, UTC  # noqa: E402

DAY = dt.date(2026, 11, 23)
SCAN_AT = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY)
LATENCY_MS = 100.0
UNLIMITED_PER_MIN = 60_000  # advertised in X-Ratelimit-Allowed, so the client learns it
N_CLONES = 20
N_BASE = 80  # scanned names of the universe: with the clones, 100 tickers


# -- the server process ----------------------------------------------------------------------------


def serve() -> int:
    """Run the demo server with the extended universe; obey one command per stdin line."""
    import ivcrush_tui.providers.demo.market as market_mod
    from ivcrush_tui.providers.demo.faults import FaultConfig
    from ivcrush_tui.providers.demo.market import DemoMarket
    from ivcrush_tui.providers.demo.server import DemoServer
    from ivcrush_tui.providers.demo.universe import UNIVERSE

    clones = [
        dataclasses.replace(x, symbol=x.symbol + "Z", name=x.name + " (clone)")
        for x in UNIVERSE
        if "." not in x.symbol
    ][:N_CLONES]
    setattr(market_mod, "UNIVERSE", (*UNIVERSE, *clones))  # noqa: B010 - the module's own name
    # The demo market synthesises every quote in Python (about 1.6 ms per stock quote, and a
    # whole chain per option quote), in this one process: unmemoised, the server's own CPU (not
    # the client) bounds the runs. A real provider answers in near-constant time, so quotes and
    # chains are memoised per (arguments, instant) - the clock is frozen per run, so the bytes
    # are the same - and the bench warms them with an unmeasured scan first.
    for name in ("stock_quote", "chain"):
        _memoise(DemoMarket, name)
    market = DemoMarket(DAY)
    now = [SCAN_AT.astimezone(UTC)]
    faults = FaultConfig(latency_ms=LATENCY_MS, tradier_limit_per_min=UNLIMITED_PER_MIN)
    with DemoServer(market, faults, lambda: now[0], max_connections=512) as srv:
        print(f"READY {srv.tradier_base} {srv.av_base}", flush=True)
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            if cmd == "latency":
                srv.set_faults(dataclasses.replace(srv.faults, latency_ms=float(arg)))
            elif cmd == "limit":
                srv.set_faults(dataclasses.replace(srv.faults, tradier_limit_per_min=int(arg)))
            elif cmd == "clock":
                now[0] = dt.datetime.fromisoformat(arg).astimezone(UTC)
            elif cmd == "reset":
                srv.reset_counters()
            elif cmd == "stats":
                st = srv.stats()
                out = {"requests": st.requests, "rate_limited": st.rate_limited}
                print("STATS " + json.dumps(out), flush=True)
                continue
            elif cmd == "quit":
                break
            print("OK", flush=True)
    return 0


def _memoise(cls: type, name: str) -> None:
    original = getattr(cls, name)
    memo: dict[tuple[Any, ...], Any] = {}

    def wrapper(self: Any, *args: Any) -> Any:
        # A chain's `only_strikes_milli` is a set: keyed as a frozenset.
        key = (id(self), *(frozenset(a) if isinstance(a, set | list) else a for a in args))
        if key not in memo:
            memo[key] = original(self, *args)
        return memo[key]

    setattr(cls, name, wrapper)


class Server:
    """The server subprocess and its control channel."""

    def __init__(self, argv: list[str] | None = None) -> None:
        """Start the server script `argv` (default: this module's) and wait for its READY."""
        self.proc = subprocess.Popen(
            [sys.executable, *(argv or [__file__])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError(f"server did not start: {ready}")
        self.tradier_base, self.av_base = ready[1], ready[2]
        self.symbols = self._symbols()

    @staticmethod
    def _symbols() -> list[str]:
        from ivcrush_tui.providers.demo.universe import UNIVERSE

        base = [x.symbol for x in UNIVERSE][:N_BASE]  # the universe's first (historic) 80
        clones = [s + "Z" for s in base if "." not in s][:N_CLONES]
        return base + clones

    def send(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stats(self) -> dict[str, Any]:
        line = self.send("stats")
        data: dict[str, Any] = json.loads(line.removeprefix("STATS "))
        return data

    def close(self) -> None:
        try:
            self.send("quit")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    sys.exit(serve())
