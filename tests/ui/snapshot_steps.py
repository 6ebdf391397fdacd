"""The steps both snapshot suites take before a screenshot: every worker finished, every message
handled, toasts cleared, then the keys, each followed by the same settling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

SETTLE_ROUNDS = 4  # a result's message may start a worker whose result posts another message


async def settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    for _ in range(SETTLE_ROUNDS):
        await app.workers.wait_for_complete()
        await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


def then(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """A `run_before` for `snap_compare`: settle, then press each key and settle again."""

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run
