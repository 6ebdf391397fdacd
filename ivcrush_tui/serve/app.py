"""`ivcrush serve` wired together: the runtime, the engine, the scan loop and the HTTP routes.

Routes: GET /health (the `health --json` document; 200 healthy or degraded, 503 down),
GET /metrics (Prometheus text), GET /analyses (the latest analysis per ticker, a JSON array of
`scan --json` objects). Anything else is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from ivcrush_tui.config import Settings
from ivcrush_tui.engine.clock import Clock
from ivcrush_tui.engine.health import check_health
from ivcrush_tui.engine.health_model import HealthReport, HealthStatus
from ivcrush_tui.engine.runtime import Runtime, open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.serve.http import (
    HEAD_TIMEOUT_S,
    Handler,
    HttpServer,
    Response,
    json_response,
)
from ivcrush_tui.serve.loop import ServeLoop
from ivcrush_tui.serve.metrics import CONTENT_TYPE, ServeMetrics

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
# A health report this recent (seconds) answers /health again: monitors polling at once never
# multiply the Tradier probes (each counts against the 120/min window).
HEALTH_REUSE_S = 2.0


class _HealthChecks:
    """One health check at a time; a report younger than HEALTH_REUSE_S is reused."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._lock = asyncio.Lock()
        self._last: tuple[float, HealthReport] | None = None

    async def report(self) -> HealthReport:
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < HEALTH_REUSE_S:
                return self._last[1]
            # No probe when a Tradier call succeeded in the last 15 s (the scans make them).
            report = await check_health(self._rt, probe=False)
            self._last = (time.monotonic(), report)
            return report


class ServeApp:
    """The endpoints and the scan loop over one runtime."""

    def __init__(self, rt: Runtime, engine: Engine, *, metrics: ServeMetrics | None = None) -> None:
        self.rt = rt
        self.metrics = metrics or ServeMetrics()
        self.metrics.watch(rt)
        self.loop = ServeLoop(rt, engine, self.metrics)
        self._health = _HealthChecks(rt)

    def routes(self) -> dict[str, Handler]:
        return {"/health": self.health, "/metrics": self.prometheus, "/analyses": self.analyses}

    async def health(self) -> Response:
        report = await self._health.report()
        code = 503 if report.status is HealthStatus.DOWN else 200
        return json_response(code, report.to_json())

    async def prometheus(self) -> Response:
        await self.metrics.refresh(self.rt)
        return Response(200, self.metrics.exposition(), CONTENT_TYPE)

    async def analyses(self) -> Response:
        return json_response(200, self.loop.latest())


@contextlib.asynccontextmanager
async def serving(
    app: ServeApp, *, host: str, port: int, head_timeout_s: float = HEAD_TIMEOUT_S
) -> AsyncIterator[HttpServer]:
    """`app`'s routes served on host:port (0: a free port) while the block runs."""
    server = HttpServer(app.routes(), host=host, port=port, head_timeout_s=head_timeout_s)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def run_serve(
    settings: Settings,
    clock: Clock,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_listening: Callable[[int], None] | None = None,
) -> None:
    """Serve and scan until `stop` is set, then shut down: stop listening, cancel the scan in
    flight (committed ledger rows stay), flush queued cache writes, close the store.
    `on_listening(port)` is called once the socket listens."""
    async with open_runtime(settings, clock) as rt:
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            async with serving(app, host=host, port=port) as server:
                if on_listening is not None:
                    on_listening(server.port)
                scans = asyncio.create_task(app.loop.run(), name="ivcrush-serve-scans")
                try:
                    await stop.wait()
                finally:
                    scans.cancel()
                    await asyncio.gather(scans, return_exceptions=True)
        finally:
            await engine.aclose()
