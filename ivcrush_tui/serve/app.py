"""`ivcrush serve` wired together: the runtime, the engine, the scan loop and the HTTP routes.

Routes: GET /health (the `health --json` document; 200 healthy or degraded, 503 down),
GET /metrics (Prometheus text), GET /analyses (the latest analysis per ticker, a JSON array of
`scan --json` objects). Anything else is 404.

The listener binds first. A store that cannot be opened (damaged, read-only, a full disk) does not
end the process: /health answers 503 with the reason, as `health --json` prints it, and opening is
tried again every STORE_RETRY_S seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable

from ivcrush_tui.config import Settings
from ivcrush_tui.engine.clock import Clock
from ivcrush_tui.engine.health import check_health, store_down_report
from ivcrush_tui.engine.health_model import HealthReport, HealthStatus
from ivcrush_tui.engine.live_quotes import LiveMonitor
from ivcrush_tui.engine.recorder import Recorder
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
from ivcrush_tui.store.db import StorageError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
# A health report this recent (seconds) answers /health again: monitors polling at once never
# multiply the Tradier probes (each counts against the 120/min window).
HEALTH_REUSE_S = 2.0
STORE_RETRY_S = 60.0  # seconds between attempts to open a store that could not be opened


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

    def __init__(
        self,
        rt: Runtime,
        engine: Engine,
        *,
        metrics: ServeMetrics | None = None,
        monitor: LiveMonitor | None = None,
    ) -> None:
        self.rt = rt
        self.metrics = metrics or ServeMetrics()
        self.metrics.watch(rt)
        self.loop = ServeLoop(rt, engine, self.metrics)
        self.monitor = monitor
        if monitor is not None:
            self.loop.streamed = monitor.streamed
        self._health = _HealthChecks(rt)

    def routes(self) -> dict[str, Handler]:
        return {"/health": self.health, "/metrics": self.prometheus, "/analyses": self.analyses}

    async def health(self) -> Response:
        report = await self._health.report()
        if self.monitor is not None:
            report = dataclasses.replace(report, stream=self.monitor.status().to_json())
        code = 503 if report.status is HealthStatus.DOWN else 200
        return json_response(code, report.to_json())

    async def prometheus(self) -> Response:
        stream = self.monitor.status().to_json() if self.monitor is not None else None
        await self.metrics.refresh(self.rt, stream=stream, alerts_fired=self.loop.alerts.fired)
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


class _Current:
    """The routes' target: the ServeApp while the store is open, else the store-down answers."""

    def __init__(self, settings: Settings, clock: Clock, metrics: ServeMetrics) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.app: ServeApp | None = None
        self.store_error = "the store is not open (serve is starting or stopping)"

    def routes(self) -> dict[str, Handler]:
        return {"/health": self.health, "/metrics": self.prometheus, "/analyses": self.analyses}

    async def health(self) -> Response:
        if self.app is not None:
            return await self.app.health()
        report = store_down_report(self.clock.now(), self.settings.demo, self.store_error)
        return json_response(503, report.to_json())

    async def prometheus(self) -> Response:
        if self.app is not None:
            return await self.app.prometheus()
        return Response(200, self.metrics.exposition(), CONTENT_TYPE)

    async def analyses(self) -> Response:
        return await self.app.analyses() if self.app is not None else json_response(200, [])


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

    The socket is bound first (a port in use fails before anything else). `on_listening(port)`
    is called after the first attempt to open the store, so /health then answers for it."""
    current = _Current(settings, clock, ServeMetrics())
    server = HttpServer(current.routes(), host=host, port=port)
    await server.start()
    try:
        tried = asyncio.Event()
        keeper = asyncio.create_task(_keep_store_open(current, stop, tried))
        first_try = asyncio.create_task(tried.wait())
        try:
            await asyncio.wait([keeper, first_try], return_when=asyncio.FIRST_COMPLETED)
            if on_listening is not None and tried.is_set():
                on_listening(server.port)
            await keeper
        finally:
            for task in (keeper, first_try):
                task.cancel()
            await asyncio.gather(keeper, first_try, return_exceptions=True)
    finally:
        await server.close()


async def _keep_store_open(current: _Current, stop: asyncio.Event, tried: asyncio.Event) -> None:
    """Run with the store until `stop`; while it cannot be opened, say why and retry."""
    while not stop.is_set():
        try:
            await _run_with_store(current, stop, tried)
        except _StoreUnavailable as exc:
            current.store_error = exc.message
            tried.set()
            log.error("serve: %s; retrying in %.0f s", exc.message, STORE_RETRY_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STORE_RETRY_S)


class _StoreUnavailable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _run_with_store(current: _Current, stop: asyncio.Event, tried: asyncio.Event) -> None:
    """Open the runtime, scan and answer until `stop`; raises _StoreUnavailable when the store
    cannot be opened (a failure after that propagates as it is)."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            rt = await stack.enter_async_context(open_runtime(current.settings, current.clock))
        except StorageError as exc:
            raise _StoreUnavailable(exc.message) from exc
        engine = Engine(rt)
        stack.push_async_callback(engine.aclose)
        # The entry window's quotes and analyses are recorded (`ivcrush replay DATE`).
        recorder = Recorder.for_runtime(rt)
        recorder.start()
        stack.push_async_callback(recorder.close)
        engine.record_with(recorder)
        # serve owns the account's market stream while it runs (docs/DEPLOYMENT.md).
        monitor = LiveMonitor(engine, owner="serve")
        await monitor.start()
        stack.push_async_callback(monitor.stop)
        app = ServeApp(rt, engine, metrics=current.metrics, monitor=monitor)
        current.app = app
        tried.set()
        scans = asyncio.create_task(app.loop.run(), name="ivcrush-serve-scans")
        try:
            await stop.wait()
        finally:
            current.app = None
            scans.cancel()
            await asyncio.gather(scans, return_exceptions=True)
