"""Option quotes kept per underlying: a batch of several tickers' ATM quotes is stored cut per
underlying, each under the key a request of that underlying's symbols alone has, so one ticker's
quotes are found without the batch (a rescan); and where a scan's tickers stand to a batch."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from ivcrush_tui.engine.quote_stage import QuoteStages
from ivcrush_tui.providers.http import make_http_client
from ivcrush_tui.providers.tradier import TradierClient
from tests.unit.test_cache_scope import DictCache

BASE = "https://api.tradier.com/v1"
AAPL = ["AAPL261218C00200000", "AAPL261218P00200000"]
MSFT = ["MSFT261218C00400000", "MSFT261218P00400000"]


def _option(occ: str) -> dict[str, Any]:
    root = occ[:4]
    return {
        "symbol": occ, "type": "option", "underlying": root, "root_symbol": root,
        "bid": 1.0, "ask": 1.2, "last": 1.1, "strike": 200.0, "expiration_date": "2026-12-18",
        "option_type": "call" if "C" in occ[4:] else "put", "contract_size": 100,
        "greeks": {"mid_iv": 0.3},
    }  # fmt: skip


def _sent(request: httpx.Request) -> list[str]:
    if request.method == "POST":
        return parse_qs(request.content.decode())["symbols"][0].split(",")
    return request.url.params["symbols"].split(",")


def _client(cache: DictCache, requests: list[list[str]]) -> TradierClient:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = _sent(request)
        requests.append(sent)
        body = {"quotes": {"quote": [_option(s) for s in sent if not s.startswith("GONE")]}}
        return httpx.Response(200, content=json.dumps(body).encode())

    http = make_http_client(timeout_s=5.0, transport=httpx.MockTransport(handler))
    return TradierClient(http, base_url=BASE, token="tok-123456", cache=cache)


async def test_a_batch_of_two_underlyings_is_found_per_underlying() -> None:
    cache, requests = DictCache(), list[list[str]]()
    c = _client(cache, requests)
    assert await c.cached_option_quotes(AAPL) is None  # nothing kept yet; nothing sent
    assert requests == []
    await c.option_quotes([*AAPL, *MSFT])
    assert len(requests) == 1
    got = await c.cached_option_quotes(list(reversed(MSFT)))  # any order
    assert got is not None
    assert set(got) == set(MSFT)
    assert got[MSFT[0]].mid_iv == pytest.approx(0.3)
    aapl = await c.cached_option_quotes(AAPL)
    assert aapl is not None
    assert set(aapl) == set(AAPL)
    # The batch itself is not kept (its key, both names, is not asked again): one entry each.
    assert len(cache.data) == 2
    # A request of one underlying's symbols alone is served by its entry.
    assert set(await c.option_quotes(AAPL)) == set(AAPL)
    assert len(requests) == 1


async def test_a_different_set_of_one_underlyings_symbols_is_not_served() -> None:
    cache, requests = DictCache(), list[list[str]]()
    c = _client(cache, requests)
    await c.option_quotes([*AAPL, *MSFT])
    assert await c.cached_option_quotes(AAPL[:1]) is None  # spot moved: other strikes
    assert await c.cached_option_quotes([*AAPL, "AAPL261218C00210000"]) is None


async def test_symbols_the_provider_did_not_return_stay_absent() -> None:
    cache, requests = DictCache(), list[list[str]]()
    c = _client(cache, requests)
    gone = "GONE261218C00100000"
    await c.option_quotes([*AAPL, gone])
    got = await c.cached_option_quotes([gone])
    assert got == {}  # kept as "no quote", like the request answered


async def test_nothing_is_kept_when_the_quotes_ttl_is_zero() -> None:
    cache = DictCache()
    http = make_http_client(
        timeout_s=5.0,
        transport=httpx.MockTransport(
            lambda r: httpx.Response(
                200, content=json.dumps({"quotes": {"quote": [_option(s) for s in _sent(r)]}})
            )
        ),
    )
    c = TradierClient(http, base_url=BASE, token="tok-123456", cache=cache,
                      cache_ttls={"quotes": 0})  # fmt: skip
    await c.option_quotes([*AAPL, *MSFT])
    assert cache.data == {}
    assert await c.cached_option_quotes(AAPL) is None


# -- quote stages --------------------------------------------------------------------------------


def test_a_batch_is_complete_once_no_ticker_is_before_its_lookup() -> None:
    changes: list[int] = []
    stages = QuoteStages(lambda: changes.append(1))
    with stages.scan(2) as scan, stages.ticker(scan):  # ticker A
        with stages.ticker(scan):  # ticker B (the current one)
            assert not stages.complete(0)
            stages.passed(notify=False)  # B joins a batch
            assert not stages.complete(1)  # A is before its lookup: it may add keys
            assert changes == []
        assert changes == [1]  # B's end
        stages.passed()  # A found its quotes in the cache
        assert changes == [1, 1]
        assert stages.complete(1)  # A is still in flight, but it adds no keys
    assert stages.complete(1)  # no scan: a lone analysis sends at once


def test_a_full_gate_of_waiting_tickers_completes_the_batch() -> None:
    stages = QuoteStages(lambda: None)
    with stages.scan(3) as scan, stages.ticker(scan):
        stages.passed(notify=False)
        # One ticker in flight (the gate is full), two queued: if it waits on the batch, no
        # ticker finishes to let a queued one in.
        assert stages.complete(1)
        assert not stages.complete(0)
