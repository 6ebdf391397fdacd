"""TradierClient against httpx.MockTransport with handcrafted payloads for every quirk of
reference/provider-apis.md sections 1.2-1.9 (values made up, shapes as documented there)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest

from ivcrush_tui.calendar import UTC, MarketState
from ivcrush_tui.domain import ErrorCode, IvCrushError, OptionType, ProviderError
from ivcrush_tui.providers.base import DayStatus
from ivcrush_tui.providers.http import make_http_client
from ivcrush_tui.providers.tradier import TradierClient, as_list
from ivcrush_tui.providers.tradier_stream import TradierStream

T = TypeVar("T")

TOKEN = "TRDR-tok-7Zq9xK2pL4mN8vB3"  # distinctive fake: must never leak
BASE = "https://api.test.invalid/v1"
NOW = dt.datetime(2026, 5, 29, 15, 30, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


def js(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


def raw(body: str | bytes, status: int = 200, ctype: str = "application/json") -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, content=content, headers={"content-type": ctype})


class Recorder:
    """The fake Tradier: checks the headers of every request, then answers from `handler`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/json"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        self.requests.append(request)
        return self.handler(request)

    def params(self, i: int = -1) -> dict[str, str]:
        req = self.requests[i]
        out = dict(req.url.params)
        if req.method == "POST":
            out.update({k: v[0] for k, v in parse_qs(req.content.decode()).items()})
        return out


class DictCache:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}
        self.puts: list[tuple[str, str, str, float]] = []
        self.gets = 0

    async def get(self, namespace: str, key: str) -> str | None:
        self.gets += 1
        return self.data.get((namespace, key))

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        self.puts.append((namespace, key, value, ttl_s))
        self.data[(namespace, key)] = value


class BrokenCache:
    async def get(self, namespace: str, key: str) -> str | None:
        raise RuntimeError("disk on fire")

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        raise RuntimeError("disk on fire")


class RecordingGuard:
    """Records endpoints and headers; retries transient failures up to `attempts` times."""

    def __init__(self, attempts: int = 1) -> None:
        self.attempts = attempts
        self.endpoints: list[str] = []
        self.headers: list[Mapping[str, str]] = []

    async def run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        self.endpoints.append(endpoint)
        for i in range(self.attempts):
            try:
                return await attempt()
            except ProviderError as exc:
                if not exc.transient or i == self.attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        self.headers.append(headers)


def client(handler: Handler, **kw: Any) -> tuple[TradierClient, Recorder]:
    rec = Recorder(handler)
    http = make_http_client(timeout_s=5.0, transport=httpx.MockTransport(rec))
    kw.setdefault("clock", lambda: NOW)
    return TradierClient(http, base_url=BASE, token=TOKEN, **kw), rec


def stock(symbol: str, **over: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "symbol": symbol, "description": f"{symbol} Inc", "exch": "Q", "type": "stock",
        "last": 100.5, "change": 1.0, "volume": 1234567, "open": 99.0, "high": 101.0,
        "low": 98.5, "close": None, "bid": 100.49, "ask": 100.51, "change_percentage": 1.0,
        "average_volume": 2000000, "last_volume": 100, "trade_date": 1780070400123,
        "prevclose": 99.5, "week_52_high": 120.0, "week_52_low": 80.0, "bidsize": 3,
        "bidexch": "Q", "bid_date": 1780070401000, "asksize": 2, "askexch": "P",
        "ask_date": 1780070401000, "root_symbols": symbol,
    }  # fmt: skip
    obj.update(over)
    return obj


GREEKS = {
    "delta": -0.2412, "gamma": 0.0071, "theta": -0.0853, "vega": 0.4121, "rho": -0.0913,
    "phi": 0.0942, "bid_iv": 0.1932, "mid_iv": 0.1945, "ask_iv": 0.1958, "smv_vol": 0.195,
    "updated_at": "2026-05-29 14:59:03",
}  # fmt: skip


def option(symbol: str = "SPY260619P00480000", **over: Any) -> dict[str, Any]:
    """The documented replay example of provider-apis.md 1.4."""
    obj: dict[str, Any] = {
        "symbol": symbol, "description": "SPY Jun 19 2026 $480.00 Put", "exch": "Z",
        "type": "option", "last": 3.12, "change": -0.21, "volume": 845, "open": 3.40,
        "high": 3.55, "low": 3.05, "close": None, "bid": 3.10, "ask": 3.14, "underlying": "SPY",
        "strike": 480.0, "change_percentage": -6.31, "average_volume": 0, "last_volume": 2,
        "trade_date": 1780070400123, "prevclose": 3.33, "week_52_high": 0.0, "week_52_low": 0.0,
        "bidsize": 41, "bidexch": "C", "bid_date": 1780070401000, "asksize": 37, "askexch": "X",
        "ask_date": 1780070401000, "open_interest": 15234, "contract_size": 100,
        "expiration_date": "2026-06-19", "expiration_type": "standard", "option_type": "put",
        "root_symbol": "SPY", "greeks": dict(GREEKS),
    }  # fmt: skip
    obj.update(over)
    return obj


# -- 1.2 the collapse ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("null", []),
        ("", []),
        ({}, []),
        ([], []),
        ("2026-06-19", ["2026-06-19"]),
        (175.0, [175.0]),
        ({"a": 1}, [{"a": 1}]),
        ([1, None, 2], [1, 2]),
    ],
)
def test_as_list_undoes_the_collapse(value: Any, expected: list[Any]) -> None:
    assert as_list(value) == expected


async def test_single_quote_object_and_list_both_parse() -> None:
    c, _ = client(lambda r: js({"quotes": {"quote": stock("AAPL")}}))
    batch = await c.stock_quotes(["AAPL"])
    q = batch.quotes["AAPL"]
    assert (q.last, q.bid, q.ask, q.prev_close, q.volume) == (100.5, 100.49, 100.51, 99.5, 1234567)
    assert q.timestamp == dt.datetime(2026, 5, 29, 16, 0, 0, 123000, tzinfo=UTC)
    assert batch.unmatched == ()

    c, _ = client(lambda r: js({"quotes": {"quote": [stock("AAPL"), stock("MSFT", last=0)]}}))
    batch = await c.stock_quotes(["AAPL", "MSFT"])
    assert set(batch.quotes) == {"AAPL", "MSFT"}
    assert batch.quotes["MSFT"].last == 0.0
    assert isinstance(batch.quotes["MSFT"].last, float)


@pytest.mark.parametrize(
    "payload",
    [{"quotes": None}, {"quotes": "null"}, {"quotes": {}}, {}, {"quotes": {"quote": None}}],
)
async def test_empty_quote_envelopes_mean_unmatched(payload: dict[str, Any]) -> None:
    c, _ = client(lambda r: js(payload))
    batch = await c.stock_quotes(["AAPL", "MSFT"])
    assert batch.quotes == {}
    assert batch.unmatched == ("AAPL", "MSFT")


# -- 1.3 expirations -------------------------------------------------------------------------------


async def test_expirations_strikes_shape_requested_and_parsed() -> None:
    payload = {"expirations": {"expiration": [
        {"date": "2026-06-26", "contract_size": 100, "expiration_type": "weeklys",
         "strikes": {"strike": [100.0, 95.0]}},
        {"date": "2026-06-19", "contract_size": 100, "expiration_type": "standard",
         "strikes": {"strike": [90.0, 95.0, 100.0, 105]}},
        {"date": "2026-07-17", "expiration_type": "eom", "strikes": {"strike": 100.0}},
        {"date": "2026-08-21", "strikes": None},
    ]}}  # fmt: skip
    c, rec = client(lambda r: js(payload))
    exps = await c.expirations("spy")
    assert rec.params()["strikes"] == "true"
    assert rec.params()["symbol"] == "SPY"
    assert rec.requests[0].url.path == "/v1/markets/options/expirations"
    assert [e.date for e in exps] == [
        dt.date(2026, 6, 19), dt.date(2026, 6, 26), dt.date(2026, 7, 17), dt.date(2026, 8, 21)
    ]  # fmt: skip
    assert exps[0].strikes == (90.0, 95.0, 100.0, 105.0)
    assert exps[1].strikes == (95.0, 100.0)  # sorted
    assert exps[2].strikes == (100.0,)  # a single strike collapses to a bare number
    assert exps[2].expiration_type == "eom"  # an open string
    assert exps[3].strikes == ()
    assert exps[0].contract_size == 100


@pytest.mark.parametrize(
    ("payload", "dates"),
    [
        ({"expirations": {"date": ["2026-06-19", "2026-06-26"]}}, 2),
        ({"expirations": {"date": "2026-07-17"}}, 1),
        ({"expirations": {"expiration": {"date": "2026-07-17", "strikes": {"strike": 5.0}}}}, 1),
        ({"expirations": None}, 0),
        ({"expirations": "null"}, 0),
        ({"expirations": {"date": None}}, 0),
        ({"expirations": {}}, 0),
        ({}, 0),
    ],
)
async def test_expirations_every_envelope(payload: dict[str, Any], dates: int) -> None:
    c, _ = client(lambda r: js(payload))
    assert len(await c.expirations("SPY")) == dates


async def test_expirations_legacy_nesting_and_unknown_keys_do_not_crash() -> None:
    legacy = {"adjustments": {"adjustment": {"strikes": {"strike": [1.0, 2.0]}}}}
    payload = {
        "expirations": {"expiration": {"date": "2013-06-22", "mystery": [1, 2], "strikes": legacy}}
    }
    c, _ = client(lambda r: js(payload))
    (exp,) = await c.expirations("AAPL")
    assert exp.date == dt.date(2013, 6, 22)
    assert exp.strikes == ()


async def test_expirations_bad_strike_is_bad_payload() -> None:
    payload = {"expirations": {"expiration": {"date": "2026-06-19", "strikes": {"strike": "x"}}}}
    c, _ = client(lambda r: js(payload))
    with pytest.raises(ProviderError) as info:
        await c.expirations("AAPL")
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "expirations"


# -- 1.4 chains ------------------------------------------------------------------------------------


async def test_chain_documented_example_with_greeks() -> None:
    c, rec = client(lambda r: js({"options": {"option": [option()]}}))
    chain = await c.chain("SPY", dt.date(2026, 6, 19))
    assert rec.params() == {"symbol": "SPY", "expiration": "2026-06-19", "greeks": "true"}
    (q,) = chain.options
    assert chain.underlying == "SPY"
    assert chain.expiration == dt.date(2026, 6, 19)
    assert q.symbol == "SPY260619P00480000"
    assert q.option_type is OptionType.PUT
    assert q.strike == 480.0
    assert (q.bid, q.ask, q.last, q.volume, q.open_interest) == (3.10, 3.14, 3.12, 845, 15234)
    assert (q.delta, q.gamma, q.theta, q.vega, q.mid_iv) == (
        -0.2412, 0.0071, -0.0853, 0.4121, 0.1945
    )  # fmt: skip
    # updated_at has no zone and is read as UTC (provider-apis.md 1.4).
    assert q.greeks_updated == dt.datetime(2026, 5, 29, 14, 59, 3, tzinfo=UTC)
    assert q.root_symbol == "SPY"
    assert q.expiration_type == "standard"


async def test_chain_single_contract_is_a_bare_object() -> None:
    c, _ = client(lambda r: js({"options": {"option": option()}}))
    chain = await c.chain("SPY", dt.date(2026, 6, 19))
    assert len(chain.options) == 1


async def test_chain_greeks_null_absent_zero_iv_and_exponent_floats() -> None:
    body = (
        '{"options": {"option": ['
        + json.dumps(
            option("SPY260619C00500000", option_type="call", strike=500, greeks=None, last=None)
        )
        + ","
        + json.dumps(
            {
                k: v
                for k, v in option("SPY260619C00510000", option_type="call", strike=510.0).items()
                if k != "greeks"
            }
        )
        + ","
        + json.dumps(
            option(
                "SPY260619P00400000",
                strike=400.0,
                trade_date=0,
                greeks={**GREEKS, "mid_iv": 0.0, "gamma": 0},
            )
        )
        + ","
        + json.dumps(option("SPY260619P00300000", strike=300.0)).replace(
            '"gamma": 0.0071', '"gamma": 1.95546E-10'
        )
        + "]}}"
    )
    c, _ = client(lambda r: raw(body))
    chain = await c.chain("SPY", dt.date(2026, 6, 19))
    by_strike = {q.strike: q for q in chain.options}
    null_greeks = by_strike[500.0]
    assert null_greeks.delta is None
    assert null_greeks.mid_iv is None
    assert null_greeks.last is None
    assert null_greeks.greeks_updated is None
    absent = by_strike[510.0]
    assert absent.delta is None
    assert absent.mid_iv is None
    assert absent.bid == 3.10
    zero_iv = by_strike[400.0]
    assert zero_iv.mid_iv is None  # ORATS 0.0 means "no IV", never a real 0 %
    assert zero_iv.gamma == 0.0
    assert zero_iv.delta == -0.2412
    assert by_strike[300.0].gamma == pytest.approx(1.95546e-10)
    assert [q.strike for q in chain.options] == [300.0, 400.0, 500.0, 510.0]


async def test_chain_greeks_false_is_sent() -> None:
    c, rec = client(lambda r: js({"options": None}))
    await c.chain("SPY", dt.date(2026, 6, 19), greeks=False)
    assert rec.params()["greeks"] == "false"


@pytest.mark.parametrize(
    "payload",
    [{"options": None}, {"options": {"option": None}}, {"options": []}, {"options": "null"}, {}],
)
async def test_chain_empty_envelopes(payload: dict[str, Any]) -> None:
    c, _ = client(lambda r: js(payload))
    chain = await c.chain("XYZQ", dt.date(2026, 6, 19))
    assert chain.options == ()
    assert chain.underlying == "XYZQ"


async def test_chain_share_class_and_non_standard_deliverables() -> None:
    payload = {"options": {"option": [
        option("BRKB260619C00450000", underlying="BRK/B", root_symbol="BRKB", strike=450.0,
               option_type="call"),
        option("BRKB1260619C00450000", underlying="BRK/B", root_symbol="BRKB1", strike=450.0,
               option_type="call", contract_size=50),
    ]}}  # fmt: skip
    c, rec = client(lambda r: js(payload))
    chain = await c.chain("BRK.B", dt.date(2026, 6, 19))
    assert rec.params()["symbol"] == "BRK/B"
    assert chain.underlying == "BRK.B"
    (q,) = chain.options  # the adjusted (50-share) contract is dropped
    assert q.underlying == "BRK.B"
    assert q.root_symbol == "BRKB"


async def test_chain_falls_back_to_the_occ_symbol_for_missing_fields() -> None:
    obj = option()
    for k in ("expiration_date", "strike", "option_type"):
        del obj[k]
    c, _ = client(lambda r: js({"options": {"option": obj}}))
    (q,) = (await c.chain("SPY", dt.date(2026, 6, 19))).options
    assert (q.expiration, q.strike, q.option_type) == (dt.date(2026, 6, 19), 480.0, OptionType.PUT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bid", "abc"),
        ("ask", [1]),
        ("strike", {"x": 1}),
        ("option_type", "straddle"),
        ("volume", 1.5),
        ("greeks", [1, 2]),
        ("expiration_date", 20260619),
        ("symbol", None),
        ("bid", True),
    ],
)
async def test_chain_wrong_types_are_bad_payload_naming_the_endpoint(
    field: str, value: Any
) -> None:
    c, _ = client(lambda r: js({"options": {"option": [option(), option(**{field: value})]}}))
    with pytest.raises(ProviderError) as info:
        await c.chain("SPY", dt.date(2026, 6, 19))
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "chains"
    assert "chains" in str(info.value)


async def test_chain_wrong_greek_type_is_bad_payload() -> None:
    c, _ = client(lambda r: js({"options": {"option": option(greeks={**GREEKS, "delta": "x"})}}))
    with pytest.raises(ProviderError) as info:
        await c.chain("SPY", dt.date(2026, 6, 19))
    assert info.value.code is ErrorCode.BAD_PAYLOAD


# -- 1.5 quotes ------------------------------------------------------------------------------------


async def test_quotes_unmatched_mixed_and_all() -> None:
    mixed = {"quotes": {"quote": stock("AAPL"), "unmatched_symbols": {"symbol": "XYZQ"}}}
    c, rec = client(lambda r: js(mixed))
    batch = await c.stock_quotes(["AAPL", "xyzq"])
    assert rec.requests[0].method == "GET"
    assert rec.params()["symbols"] == "AAPL,XYZQ"
    assert list(batch.quotes) == ["AAPL"]
    assert batch.unmatched == ("XYZQ",)

    all_unknown = {"quotes": {"unmatched_symbols": {"symbol": ["XYZQ", "ABCQ"]}}}
    c, _ = client(lambda r: js(all_unknown))
    batch = await c.stock_quotes(["XYZQ", "ABCQ"])
    assert batch.quotes == {}
    assert batch.unmatched == ("XYZQ", "ABCQ")

    one_unknown = {"quotes": {"unmatched_symbols": {"symbol": "XYZQ"}}}
    c, _ = client(lambda r: js(one_unknown))
    assert (await c.stock_quotes(["XYZQ"])).unmatched == ("XYZQ",)


async def test_quotes_share_class_keyed_by_our_form_and_invalid_symbols_not_sent() -> None:
    c, rec = client(lambda r: js({"quotes": {"quote": [stock("BRK/B"), stock("AAPL")]}}))
    batch = await c.stock_quotes(["BRK.B", "AAPL", "AAPL", "BAD SYMBOL!"])
    assert rec.params()["symbols"] == "BRK/B,AAPL"  # deduplicated, Tradier spelling
    assert set(batch.quotes) == {"BRK.B", "AAPL"}
    assert batch.quotes["BRK.B"].symbol == "BRK.B"
    assert batch.unmatched == ("BAD SYMBOL!",)


async def test_quotes_long_lists_go_by_post_in_chunks() -> None:
    symbols = [f"S{i:03d}" for i in range(850)]

    c, rec = client(lambda r: js({"quotes": {"quote": [stock(s) for s in sent_symbols(r)]}}))
    batch = await c.stock_quotes(symbols)
    assert len(rec.requests) == 3  # chunks of QUOTE_CHUNK = 400
    posts = [r for r in rec.requests if r.method == "POST"]
    assert len(posts) == 2  # the two full chunks; the last 50 fit a GET
    assert all("symbols" not in r.url.params for r in posts)
    assert posts[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert sorted(len(sent_symbols(r)) for r in rec.requests) == [50, 400, 400]
    assert len(batch.quotes) == 850
    assert batch.unmatched == ()


async def test_option_quotes_carry_up_to_400_occ_symbols_per_request() -> None:
    # A 100-ticker scan asks ~2,500 ATM symbols: at 400 a request that is 7 requests, not 25.
    symbols = [
        f"SPY2606{d:02d}{t}{k:08d}"
        for d in range(1, 31)
        for t in "CP"
        for k in range(100_000, 1_100_000, 50_000)
    ][:1000]

    def handler(request: httpx.Request) -> httpx.Response:
        return js({"quotes": {"quote": [option(s) for s in sent_symbols(request)]}})

    c, rec = client(handler)
    out = await c.option_quotes(symbols)
    assert len(out) == 1000
    sizes = sorted((len(sent_symbols(r)), r.method) for r in rec.requests)
    assert sizes == [(200, "POST"), (400, "POST"), (400, "POST")]


def sent_symbols(request: httpx.Request) -> list[str]:
    if request.method == "POST":
        return parse_qs(request.content.decode())["symbols"][0].split(",")
    return request.url.params["symbols"].split(",")


async def test_option_quotes_use_post_above_50_symbols() -> None:
    symbols = [f"SPY2606{d:02d}C{k:08d}" for d in range(1, 11) for k in range(1000, 10000, 1000)]
    c, rec = client(lambda r: js({"quotes": None}))
    out = await c.option_quotes(symbols[:80])
    assert out == {}
    assert rec.requests[0].method == "POST"


async def test_quotes_get_for_short_lists() -> None:
    symbols = [f"S{i:02d}" for i in range(50)]
    c, rec = client(lambda r: js({"quotes": {"quote": [stock(s) for s in symbols]}}))
    await c.stock_quotes(symbols)
    assert rec.requests[0].method == "GET"
    assert rec.requests[0].content == b""


async def test_quote_chunk_failure_fails_the_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = sent_symbols(request)
        if "S150" in sent:
            return raw("oops", 500, "text/plain")
        return js({"quotes": {"quote": [stock(s) for s in sent]}})

    c, _ = client(handler)
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes([f"S{i:03d}" for i in range(200)])
    assert info.value.code is ErrorCode.UNAVAILABLE


async def test_option_quotes_keyed_by_occ_with_greeks() -> None:
    occ_a = "SPY260619P00480000"
    occ_b = "SPY260619C00500000"
    payload = {"quotes": {
        "quote": [option(occ_a), option(occ_b, option_type="call", strike=500.0, greeks=None)],
        "unmatched_symbols": {"symbol": "SPY260619C09999000"},
    }}  # fmt: skip
    c, rec = client(lambda r: js(payload))
    out = await c.option_quotes([occ_a.lower(), occ_b, "SPY260619C09999000", "not-an-occ"])
    assert rec.params()["greeks"] == "true"
    assert rec.params()["symbols"] == f"{occ_a},{occ_b},SPY260619C09999000"
    assert set(out) == {occ_a, occ_b}
    assert out[occ_a].mid_iv == 0.1945
    assert out[occ_b].mid_iv is None
    assert out[occ_a].underlying == "SPY"


async def test_option_quotes_nothing_valid_sends_nothing() -> None:
    c, rec = client(lambda r: js({}))
    assert await c.option_quotes(["AAPL", ""]) == {}
    assert rec.requests == []


async def test_quote_legacy_iso_trade_date_and_unknown_fields() -> None:
    legacy = stock("AAPL", trade_date="2013-05-22T15:59:59-04:00", cvolume=5, ytd_high=1.0)
    c, _ = client(lambda r: js({"quotes": {"quote": legacy}}))
    q = (await c.stock_quotes(["AAPL"])).quotes["AAPL"]
    assert q.timestamp == dt.datetime(2013, 5, 22, 19, 59, 59, tzinfo=UTC)


async def test_quote_trade_date_zero_means_never_traded() -> None:
    c, _ = client(lambda r: js({"quotes": {"quote": stock("AAPL", trade_date=0)}}))
    assert (await c.stock_quotes(["AAPL"])).quotes["AAPL"].timestamp is None


async def test_quote_wrong_type_bid_is_bad_payload() -> None:
    c, _ = client(lambda r: js({"quotes": {"quote": stock("AAPL", bid="abc")}}))
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "quotes"
    assert "'bid'" in info.value.message


@pytest.mark.parametrize(
    "payload",
    [{"quotes": [1, 2]}, {"quotes": {"quote": ["AAPL"]}}, {"quotes": {"quote": {"last": 1.0}}}],
)
async def test_quote_malformed_envelopes_are_bad_payload(payload: dict[str, Any]) -> None:
    c, _ = client(lambda r: js(payload))
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is ErrorCode.BAD_PAYLOAD


# -- 1.6 history -----------------------------------------------------------------------------------


async def test_history_list_single_and_null() -> None:
    days = [
        {"date": "2026-05-28", "open": 530.9, "high": 533.0, "low": 529.12, "close": 532.05,
         "volume": 55123400},
        {"date": "2026-05-27", "open": 528.1, "high": 531.95, "low": 526.4,
         "close": 562.28999999999996, "volume": 61234567},
    ]  # fmt: skip
    c, rec = client(lambda r: js({"history": {"day": days}}))
    bars = await c.daily_history("SPY", dt.date(2026, 5, 27), dt.date(2026, 5, 28))
    assert rec.params() == {
        "symbol": "SPY", "interval": "daily", "start": "2026-05-27", "end": "2026-05-28"
    }  # fmt: skip
    assert [b.day for b in bars] == [dt.date(2026, 5, 27), dt.date(2026, 5, 28)]
    assert bars[0].close == pytest.approx(562.29)
    assert bars[1].volume == 55123400

    c, _ = client(lambda r: js({"history": {"day": days[0]}}))
    (bar,) = await c.daily_history("SPY", dt.date(2026, 5, 28), dt.date(2026, 5, 28))
    assert bar.open == 530.9

    for empty in ({"history": None}, {"history": "null"}, {}, {"history": {"day": None}}):
        c, _ = client(lambda r, e=empty: js(e))  # type: ignore[misc]
        assert await c.daily_history("SPY", dt.date(2026, 5, 30), dt.date(2026, 5, 31)) == ()


async def test_history_skips_unpriced_bars_and_index_volume_zero() -> None:
    days = [
        {"date": "2026-05-27", "open": None, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 0},
        {"date": "2026-05-28", "open": 5000, "high": 5010, "low": 4990, "close": 5005,
         "volume": 0},
    ]  # fmt: skip
    c, _ = client(lambda r: js({"history": {"day": days}}))
    (bar,) = await c.daily_history("SPX", dt.date(2026, 5, 27), dt.date(2026, 5, 28))
    assert bar.day == dt.date(2026, 5, 28)
    assert bar.volume == 0
    assert bar.close == 5005.0


async def test_history_start_after_end_sends_nothing() -> None:
    c, rec = client(lambda r: js({}))
    assert await c.daily_history("SPY", dt.date(2026, 5, 28), dt.date(2026, 5, 1)) == ()
    assert rec.requests == []


async def test_history_bad_close_is_bad_payload() -> None:
    day = {"date": "2026-05-28", "open": 1, "high": 1, "low": 1, "close": "n/a", "volume": 1}
    c, _ = client(lambda r: js({"history": {"day": day}}))
    with pytest.raises(ProviderError) as info:
        await c.daily_history("SPY", dt.date(2026, 5, 28), dt.date(2026, 5, 28))
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "history"


async def test_history_with_an_unstorable_volume_is_bad_payload_and_never_cached() -> None:
    # volume 1e308 parsed, was cached, then failed every ticker in the store (OverflowError) for
    # the cache's 12 hours, after the server had been fixed.
    day = {"date": "2026-05-28", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1e308}
    cache = DictCache()
    c, _ = client(lambda r: js({"history": {"day": day}}), cache=cache)
    with pytest.raises(ProviderError) as info:
        await c.daily_history("SPY", dt.date(2026, 5, 28), dt.date(2026, 5, 28))
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert "integer out of range" in info.value.message
    assert cache.puts == []


# -- 1.7 clock and calendar ------------------------------------------------------------------------


async def test_clock_epoch_seconds() -> None:
    payload = {"clock": {"date": "2026-05-29", "description": "Market is open from 09:30 to 16:00",
               "state": "open", "timestamp": 1780065388, "next_change": "16:00",
               "next_state": "postmarket"}}  # fmt: skip
    c, rec = client(lambda r: js(payload))
    clock = await c.clock()
    assert rec.requests[0].url.path == "/v1/markets/clock"
    assert clock.state is MarketState.REGULAR
    assert clock.next_state is MarketState.AFTER_HOURS
    # 1780065388 s = 2026-05-29 14:36:28 UTC = 10:36 New York (EDT), consistent with "open".
    assert clock.timestamp == dt.datetime(2026, 5, 29, 14, 36, 28, tzinfo=UTC)
    assert clock.next_change == "16:00"
    assert clock.day == dt.date(2026, 5, 29)


async def test_clock_unknown_state_is_kept_as_text() -> None:
    payload = {"clock": {"date": "2026-05-29", "state": "Halted", "timestamp": 1780065388}}
    c, _ = client(lambda r: js(payload))
    clock = await c.clock()
    assert clock.state is None
    assert clock.state_text == "halted"


async def test_calendar_closed_days_without_hours_and_ny_times() -> None:
    payload = {"calendar": {"month": 7, "year": 2026, "days": {"day": [
        {"date": "2026-07-06", "status": "open", "description": "Market is open",
         "premarket": {"start": "07:00", "end": "09:24"},
         "open": {"start": "09:30", "end": "16:00"},
         "postmarket": {"start": "16:00", "end": "19:55"}},
        {"date": "2026-07-03", "status": "closed",
         "description": "Market is closed for Independence Day"},
    ]}}}  # fmt: skip
    c, rec = client(lambda r: js(payload))
    days = await c.calendar(2026, 7)
    assert rec.params() == {"month": "07", "year": "2026"}
    closed, open_day = days
    assert closed.day == dt.date(2026, 7, 3)
    assert closed.status is DayStatus.CLOSED
    assert closed.open_at is None
    assert closed.close_at is None
    assert open_day.status is DayStatus.OPEN
    # July: New York is UTC-4.
    assert open_day.open_at == dt.datetime(2026, 7, 6, 13, 30, tzinfo=UTC)
    assert open_day.close_at == dt.datetime(2026, 7, 6, 20, 0, tzinfo=UTC)
    assert open_day.premarket_start == dt.datetime(2026, 7, 6, 11, 0, tzinfo=UTC)
    assert open_day.postmarket_end == dt.datetime(2026, 7, 6, 23, 55, tzinfo=UTC)


async def test_calendar_winter_single_day_and_bad_time() -> None:
    jan5 = {"date": "2026-01-05", "status": "open", "open": {"start": "09:30", "end": "16:00"}}
    one = {"calendar": {"month": 1, "year": 2026, "days": {"day": jan5}}}
    c, _ = client(lambda r: js(one))
    (day,) = await c.calendar(2026, 1)
    assert day.open_at == dt.datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # EST: UTC-5

    bad_day = {**jan5, "open": {"start": "9.30am", "end": "16:00"}}
    bad = {"calendar": {"days": {"day": bad_day}}}
    c, _ = client(lambda r: js(bad))
    with pytest.raises(ProviderError) as info:
        await c.calendar(2026, 1)
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "calendar"


async def test_calendar_invalid_month_sends_nothing() -> None:
    c, rec = client(lambda r: js({}))
    with pytest.raises(ProviderError) as info:
        await c.calendar(2026, 13)
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert rec.requests == []


# -- 1.8 rate limits -------------------------------------------------------------------------------


def ratelimit_headers(expiry: str) -> dict[str, str]:
    return {
        "X-Ratelimit-Allowed": "120",
        "X-Ratelimit-Used": "120",
        "X-Ratelimit-Available": "0",
        "X-Ratelimit-Expiry": expiry,
    }


QUOTA_FAULT = {"fault": {"faultstring": "Rate limit quota violation. Quota limit exceeded.",
               "detail": {"errorcode": "policies.ratelimit.QuotaViolation"}}}  # fmt: skip


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        (str(int((NOW.timestamp() + 42.5) * 1000)), 42.5),  # epoch ms (documented)
        (str(int(NOW.timestamp() + 17)), 17.0),  # epoch s (third-party notes)
        (str(int(NOW.timestamp() - 5)), 0.0),  # already past
        (str(int(NOW.timestamp() + 100000)), 120.0),  # garbage far ahead: capped
    ],
)
async def test_429_retry_after_from_expiry_ms_or_s(expiry: str, expected: float) -> None:
    c, _ = client(lambda r: js(QUOTA_FAULT, 429, ratelimit_headers(expiry)))
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert info.value.transient
    assert info.value.retry_after_s == pytest.approx(expected, abs=0.01)


async def test_429_plain_text_without_headers() -> None:
    c, _ = client(lambda r: raw("Too Many Requests", 429, "text/plain"))
    with pytest.raises(ProviderError) as info:
        await c.clock()
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert info.value.retry_after_s is None


async def test_guard_sees_every_response_headers_and_endpoint_names() -> None:
    guard = RecordingGuard()
    responses = iter([
        js({"quotes": {"quote": stock("AAPL")}}, headers=ratelimit_headers("1780070460000")),
        js(QUOTA_FAULT, 429, ratelimit_headers("1780070460000")),
        js({"expirations": None}, headers=ratelimit_headers("1780070460000")),
    ])  # fmt: skip
    c, _ = client(lambda r: next(responses), guard=guard)
    await c.stock_quotes(["AAPL"])
    with pytest.raises(ProviderError):
        await c.chain("AAPL", dt.date(2026, 6, 19))
    await c.expirations("AAPL")
    assert guard.endpoints == ["quotes", "chains", "expirations"]
    assert len(guard.headers) == 3  # the 429 too
    assert all(h["x-ratelimit-allowed"] == "120" for h in guard.headers)


# -- 1.9 error bodies and statuses -----------------------------------------------------------------


async def test_401_apigee_fault_json() -> None:
    fault = {"fault": {"faultstring": "Invalid Access Token",
             "detail": {"errorcode": "keymanagement.service.invalid_access_token"}}}  # fmt: skip
    c, _ = client(lambda r: js(fault, 401))
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is ErrorCode.AUTH
    assert not info.value.transient
    assert "Invalid Access Token" in info.value.message
    assert info.value.provider == "tradier"
    assert info.value.endpoint == "quotes"


async def test_401_plain_text() -> None:
    c, _ = client(lambda r: raw("Invalid Access Token", 401, "text/plain"))
    with pytest.raises(ProviderError) as info:
        await c.expirations("AAPL")
    assert info.value.code is ErrorCode.AUTH
    assert "Invalid Access Token" in info.value.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_unavailable_and_transient(status: int) -> None:
    c, _ = client(lambda r: raw("<html><body>Bad Gateway</body></html>", status, "text/html"))
    with pytest.raises(ProviderError) as info:
        await c.chain("SPY", dt.date(2026, 6, 19))
    assert info.value.code is ErrorCode.UNAVAILABLE
    assert info.value.transient
    assert f"HTTP {status}" in info.value.message


async def test_404_plain_is_transient_and_retried_by_the_guard() -> None:
    responses = iter([raw("", 404, "text/plain"), js({"expirations": {"date": "2026-06-19"}})])
    c, rec = client(lambda r: next(responses), guard=RecordingGuard(attempts=3))
    exps = await c.expirations("AAPL")
    assert len(exps) == 1
    assert len(rec.requests) == 2


async def test_404_plain_error_is_unavailable() -> None:
    c, _ = client(lambda r: raw("Not Found", 404, "text/plain"))
    with pytest.raises(ProviderError) as info:
        await c.expirations("AAPL")
    assert info.value.code is ErrorCode.UNAVAILABLE


async def test_404_unknown_proxy_is_not_found() -> None:
    fault = {
        "fault": {
            "faultstring": "Unable to identify proxy for host: x and url: /v2/nope",
            "detail": {"errorcode": "messaging.adaptors.http.flow.ApplicationNotFound"},
        }
    }
    c, _ = client(lambda r: js(fault, 404))
    with pytest.raises(ProviderError) as info:
        await c.clock()
    assert info.value.code is ErrorCode.NOT_FOUND
    assert not info.value.transient
    assert "base_url" in info.value.message


async def test_400_errors_body_list_joined() -> None:
    body = {"errors": {"error": ["Invalid Parameter: symbol", "Missing expiration"]}}
    c, _ = client(lambda r: js(body, 400))
    with pytest.raises(ProviderError) as info:
        await c.chain("SPY", dt.date(2026, 6, 19))
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert "Invalid Parameter: symbol | Missing expiration" in info.value.message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"errors": {"error": "Something failed downstream"}}, ErrorCode.BAD_REQUEST),
        ({"errors": {"error": "Invalid access token"}}, ErrorCode.AUTH),
        (QUOTA_FAULT, ErrorCode.RATE_LIMITED),
        ({"fault": {"faultstring": "Access Token expired",
                    "detail": {"errorcode": "keymanagement.service.access_token_expired"}}},
         ErrorCode.AUTH),
    ],
)  # fmt: skip
async def test_200_with_error_body_is_typed(body: dict[str, Any], code: ErrorCode) -> None:
    c, _ = client(lambda r: js(body))
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is code


@pytest.mark.parametrize(
    ("body", "ctype", "fragment"),
    [
        ('{"quotes": {"quote": {"symbol": "AAPL", "la', "application/json", "invalid JSON"),
        ("<!DOCTYPE html><html><title>Maintenance</title></html>", "text/html", "HTML page"),
        ('<?xml version="1.0"?><quotes><quote/></quotes>', "application/xml", "XML"),
        ("", "application/json", "empty"),
        ("   \n", "application/json", "empty"),
        ('{"quotes": {"quote": {"symbol": "AAPL", "bid": NaN}}}', "application/json", "NaN"),
        ("[1, 2, 3]", "application/json", "JSON object"),
        ("\xff\xfe{", "application/json", "JSON"),
    ],
)
async def test_unreadable_bodies_are_bad_payload_naming_the_endpoint(
    body: str, ctype: str, fragment: str
) -> None:
    c, _ = client(lambda r: raw(body, 200, ctype))
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "quotes"
    assert "quotes" in str(info.value)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ConnectTimeout("timed out"), ErrorCode.TIMEOUT),
        (httpx.ReadTimeout("read timed out"), ErrorCode.TIMEOUT),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorCode.UNAVAILABLE),
        (httpx.RemoteProtocolError("Server disconnected"), ErrorCode.UNAVAILABLE),
        (httpx.ReadError("connection reset"), ErrorCode.UNAVAILABLE),
    ],
)
async def test_transport_failures_are_typed(exc: Exception, code: ErrorCode) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    c, _ = client(handler)
    with pytest.raises(ProviderError) as info:
        await c.stock_quotes(["AAPL"])
    assert info.value.code is code
    assert info.value.transient
    assert info.value.__cause__ is None  # the httpx exception (and its request) is not chained


# -- secrets ---------------------------------------------------------------------------------------


async def test_token_never_in_errors_logs_or_cache(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cache = DictCache()
    echo = f"Invalid Access Token {TOKEN} (Bearer {TOKEN})"
    scenarios: list[Handler] = [
        lambda r: raw(echo, 401, "text/plain"),
        lambda r: js({"fault": {"faultstring": echo, "detail": {"errorcode": "x"}}}, 401),
        lambda r: js({"errors": {"error": echo}}, 400),
        lambda r: js({"errors": {"error": echo}}),
        lambda r: raw(echo, 500, "text/plain"),
        lambda r: raw(echo, 404, "text/plain"),
        lambda r: raw(echo, 429, "text/plain"),
    ]
    errors: list[ProviderError] = []
    for handler in scenarios:
        c, _ = client(handler, cache=cache)
        with pytest.raises(ProviderError) as info:
            await c.stock_quotes(["AAPL"])
        errors.append(info.value)

    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"failed with Authorization: Bearer {TOKEN}")

    c, _ = client(leaky)
    with pytest.raises(ProviderError) as info:
        await c.clock()
    errors.append(info.value)

    c, _ = client(lambda r: js({"quotes": {"quote": stock("AAPL")}}), cache=cache)
    await c.stock_quotes(["AAPL"])
    for err in errors:
        assert TOKEN not in str(err)
        assert TOKEN not in repr(err)
        assert TOKEN not in err.message
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert all(TOKEN not in r.getMessage() for r in ours)
    assert all(TOKEN not in k and TOKEN not in v for (_, k, v, _) in cache.puts)
    assert TOKEN not in repr(c)


# -- cache -----------------------------------------------------------------------------------------


async def test_cache_serves_the_second_call_with_endpoint_ttls() -> None:
    cache = DictCache()
    routes: dict[str, dict[str, Any]] = {
        "/v1/markets/quotes": {"quotes": {"quote": stock("AAPL")}},
        "/v1/markets/options/expirations": {"expirations": {"date": "2026-06-19"}},
        "/v1/markets/options/chains": {"options": {"option": option()}},
        "/v1/markets/history": {"history": {"day": {"date": "2026-05-28", "open": 1, "high": 1,
                                                    "low": 1, "close": 1, "volume": 1}}},
        "/v1/markets/calendar": {"calendar": {"days": {"day": {"date": "2026-07-03",
                                                               "status": "closed"}}}},
        "/v1/markets/clock": {"clock": {"date": "2026-05-29", "state": "closed"}},
    }  # fmt: skip
    c, rec = client(lambda r: js(routes[r.url.path]), cache=cache)
    for _ in range(2):
        assert (await c.stock_quotes(["AAPL"])).quotes["AAPL"].last == 100.5
        assert len(await c.expirations("SPY")) == 1
        assert len((await c.chain("SPY", dt.date(2026, 6, 19))).options) == 1
        assert len(await c.daily_history("SPY", dt.date(2026, 5, 28), dt.date(2026, 5, 28))) == 1
        assert len(await c.calendar(2026, 7)) == 1
        await c.clock()
    paths = [r.url.path for r in rec.requests]
    assert paths.count("/v1/markets/clock") == 2  # never cached
    assert len(paths) == 5 + 2  # everything else once
    ttls = {ns: ttl for ns, _, _, ttl in cache.puts}
    assert ttls == {
        "tradier.quotes": 30.0,
        "tradier.expirations": 6 * 3600.0,
        "tradier.chain": 30.0,
        "tradier.history": 12 * 3600.0,
        "tradier.calendar": 24 * 3600.0,
    }


async def test_errors_are_never_cached_and_custom_ttls_apply() -> None:
    cache = DictCache()
    responses = iter([raw("down", 503, "text/plain"), js({"expirations": {"date": "2026-06-19"}})])
    c, _rec = client(lambda r: next(responses), cache=cache, cache_ttls={"expirations": 60.0})
    with pytest.raises(ProviderError):
        await c.expirations("SPY")
    assert cache.puts == []
    await c.expirations("SPY")
    assert [(ns, ttl) for ns, _, _, ttl in cache.puts] == [("tradier.expirations", 60.0)]
    # 200 bodies that are errors are not cached either.
    c, _ = client(lambda r: js({"errors": {"error": "nope"}}), cache=cache)
    with pytest.raises(ProviderError):
        await c.chain("SPY", dt.date(2026, 6, 19))
    assert len(cache.puts) == 1


async def test_zero_ttl_disables_caching_for_an_endpoint() -> None:
    cache = DictCache()
    c, rec = client(lambda r: js({"quotes": {"quote": stock("AAPL")}}), cache=cache,
                    cache_ttls={"quotes": 0})  # fmt: skip
    await c.stock_quotes(["AAPL"])
    await c.stock_quotes(["AAPL"])
    assert len(rec.requests) == 2
    assert cache.puts == []


async def test_corrupt_cache_entry_is_ignored_and_broken_cache_tolerated() -> None:
    cache = DictCache()
    c, rec = client(lambda r: js({"expirations": {"date": "2026-06-19"}}), cache=cache)
    await c.expirations("SPY")
    ((key, _),) = [(k, v) for k, v in cache.data.items()]
    cache.data[key] = '{"expirations": {"date": '  # truncated
    assert len(await c.expirations("SPY")) == 1
    assert len(rec.requests) == 2

    c, rec = client(lambda r: js({"expirations": {"date": "2026-06-19"}}), cache=BrokenCache())
    assert len(await c.expirations("SPY")) == 1


async def test_quote_cache_key_is_order_independent() -> None:
    cache = DictCache()
    c, rec = client(lambda r: js({"quotes": {"quote": [stock("AAPL"), stock("MSFT")]}}),
                    cache=cache)  # fmt: skip
    await c.stock_quotes(["AAPL", "MSFT"])
    batch = await c.stock_quotes(["MSFT", "AAPL"])
    assert len(rec.requests) == 1
    assert set(batch.quotes) == {"AAPL", "MSFT"}


# -- construction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"base_url": "https://api.tradier.com"}, "/v1"),
        ({"base_url": "ftp://x/v1"}, "http"),
        ({"token": "  "}, "empty"),
        ({"token": "abc def"}, "spaces"),
        ({"cache_ttls": {"bogus": 1.0}}, "bogus"),
        ({"cache_ttls": {"quotes": -1.0}}, ">= 0"),
    ],
)
def test_bad_configuration_is_a_config_error(kw: dict[str, Any], fragment: str) -> None:
    args: dict[str, Any] = {"base_url": BASE, "token": TOKEN, **kw}
    with pytest.raises(IvCrushError) as info:
        TradierClient(httpx.AsyncClient(), **args)
    assert info.value.code is ErrorCode.CONFIG
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"base_url": "https://api.tradier.com"}, "/v1"),
        ({"token": "  "}, "empty"),
        ({"token": "abc def"}, "spaces"),
    ],
)
def test_the_stream_checks_base_url_and_token_as_the_client_does(
    kw: dict[str, Any], fragment: str
) -> None:
    args: dict[str, Any] = {"base_url": BASE, "token": TOKEN, **kw}
    with pytest.raises(IvCrushError) as info:
        TradierStream(httpx.AsyncClient(), **args)
    assert info.value.code is ErrorCode.CONFIG
    assert fragment in info.value.message


async def test_trailing_slash_base_and_invalid_symbol() -> None:
    rec = Recorder(lambda r: js({"expirations": None}))
    http = make_http_client(timeout_s=5.0, transport=httpx.MockTransport(rec))
    c = TradierClient(http, base_url=BASE + "/", token=TOKEN)
    await c.expirations("AAPL")
    assert str(rec.requests[0].url).startswith(BASE + "/markets/options/expirations?")
    with pytest.raises(ProviderError) as info:
        await c.chain("NOT A SYMBOL", dt.date(2026, 6, 19))
    assert info.value.code is ErrorCode.INVALID_SYMBOL
    assert len(rec.requests) == 1
