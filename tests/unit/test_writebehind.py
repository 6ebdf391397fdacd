"""WriteBehindCache: puts return at once, reads see queued values, flush drains in order."""

from __future__ import annotations

import asyncio

from ivcrush_tui.engine.writebehind import WriteBehindCache


class SlowCache:
    def __init__(self, delay_s: float = 0.01) -> None:
        self.data: dict[tuple[str, str], str] = {}
        self.writes: list[tuple[str, str, str]] = []
        self.delay_s = delay_s
        self.fail = False

    async def get(self, namespace: str, key: str) -> str | None:
        return self.data.get((namespace, key))

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("disk full")
        self.data[(namespace, key)] = value
        self.writes.append((namespace, key, value))


async def test_put_returns_before_the_write_and_reads_see_it() -> None:
    inner = SlowCache(delay_s=0.05)
    cache = WriteBehindCache(inner)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await cache.put("ns", "k", "v1", 60)
    assert loop.time() - t0 < 0.02
    assert inner.data == {}
    assert await cache.get("ns", "k") == "v1"
    await cache.flush()
    assert inner.data == {("ns", "k"): "v1"}
    assert cache.pending == 0


async def test_the_newest_value_wins_and_order_is_kept() -> None:
    inner = SlowCache()
    cache = WriteBehindCache(inner)
    await cache.put("ns", "a", "1", 60)
    await cache.put("ns", "b", "2", 60)
    await cache.put("ns", "a", "3", 60)
    assert await cache.get("ns", "a") == "3"
    await cache.flush()
    assert inner.data == {("ns", "a"): "3", ("ns", "b"): "2"}
    assert inner.writes[-1] == ("ns", "a", "3")


async def test_a_failing_write_is_logged_not_raised() -> None:
    inner = SlowCache()
    inner.fail = True
    cache = WriteBehindCache(inner)
    await cache.put("ns", "k", "v", 60)
    await cache.flush()
    assert cache.pending == 0
    assert await cache.get("ns", "k") is None


async def test_flush_gives_up_after_its_timeout() -> None:
    inner = SlowCache(delay_s=1.0)
    cache = WriteBehindCache(inner)
    await cache.put("ns", "k", "v", 60)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await cache.flush(timeout_s=0.05)
    assert loop.time() - t0 < 0.5
    assert cache.pending == 0
