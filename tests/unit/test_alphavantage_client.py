"""AlphaVantageClient against httpx.MockTransport with handcrafted payloads for every quirk of
reference/provider-apis.md sections 2.2-2.6 (message texts paraphrased there; values made up)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import pytest

from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError, Timing
from ivcrush_tui.providers.alphavantage import (
    AlphaVantageClient,
    classify_message,
    parse_earnings_calendar_csv,
)
from ivcrush_tui.providers.cache_scope import cache_scope
from ivcrush_tui.providers.http import PayloadError, make_http_client

T = TypeVar("T")

API_KEY = "AVKEYq7W3xZ9rT2mP5"  # distinctive fake: must never leak
BASE = "https://av.test.invalid/query"

Handler = Callable[[httpx.Request], httpx.Response]

# -- the messages of provider-apis.md 2.2 ----------------------------------------------------------
DAILY = (
    "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
    "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to "
    "instantly remove all daily rate limits."
)
DAILY_ECHO = (
    f"We have detected your API key as {API_KEY} and our standard API rate limit is 25 requests "
    "per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/"
    " to instantly remove all daily rate limits."
)
BURST = (
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more "
    "sparingly (1 request per second). You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day)."
)
BURST_WITH_KEY = (
    f"We have detected your API key as {API_KEY}. Please consider spreading out your free API "
    "requests more sparingly (1 request per second)."
)
LEGACY = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and "
    "500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to "
    "target a higher API call frequency."
)
# The older (2017-18) throttle wording: no limit named, no "frequency"; it is a per-minute throttle.
LEGACY_VOLUME = (
    "Thank you for using Alpha Vantage! Please visit https://www.alphavantage.co/premium/ if you "
    "would like to have a higher API call volume."
)
PREMIUM_ENDPOINT = (
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
    "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
    "endpoints"
)
PREMIUM_FULL = (
    "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium feature "
    "for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly unlock all premium features"
)
BAD_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
INVALID_CALL = (
    "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."
)
DEMO_KEY = (
    "The **demo** API key is for demo purposes only. Please claim your free API key at "
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings."
)

CSV_HEADER = "symbol,name,reportDate,fiscalDateEnding,estimate,currency,timeOfTheDay"


class Recorder:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.params["apikey"] == API_KEY
        self.requests.append(request)
        return self.handler(request)

    def params(self, i: int = -1) -> dict[str, str]:
        out = dict(self.requests[i].url.params)
        out.pop("apikey")
        return out


class RecordingGuard:
    def __init__(self) -> None:
        self.endpoints: list[str] = []
        self.headers: list[Mapping[str, str]] = []

    async def run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        self.endpoints.append(endpoint)
        return await attempt()

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        self.headers.append(headers)


class DictCache:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}
        self.puts: list[tuple[str, str, str, float]] = []

    async def get(self, namespace: str, key: str) -> str | None:
        return self.data.get((namespace, key))

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        self.puts.append((namespace, key, value, ttl_s))
        self.data[(namespace, key)] = value


def js(payload: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=payload)


def text(body: str, status: int = 200, ctype: str = "text/csv") -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"content-type": ctype})


def client(handler: Handler, **kw: Any) -> tuple[AlphaVantageClient, Recorder]:
    rec = Recorder(handler)
    http = make_http_client(timeout_s=5.0, transport=httpx.MockTransport(rec))
    return AlphaVantageClient(http, base_url=BASE, api_key=API_KEY, **kw), rec


# -- 2.2 classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (DAILY, ErrorCode.QUOTA_EXHAUSTED),
        (DAILY_ECHO, ErrorCode.QUOTA_EXHAUSTED),  # mentions "API key": still the quota
        (BURST, ErrorCode.RATE_LIMITED),  # mentions "25 requests per day": still the burst
        (BURST_WITH_KEY, ErrorCode.RATE_LIMITED),  # mentions "API key": never AUTH
        (LEGACY, ErrorCode.RATE_LIMITED),
        (LEGACY_VOLUME, ErrorCode.RATE_LIMITED),  # mentions "premium": still a throttle
        (PREMIUM_ENDPOINT, ErrorCode.PREMIUM),
        (PREMIUM_FULL, ErrorCode.PREMIUM),
        (BAD_KEY, ErrorCode.AUTH),
        (DEMO_KEY, ErrorCode.AUTH),
        (INVALID_CALL, ErrorCode.NOT_FOUND),
        ("Our servers are having a nap.", ErrorCode.BAD_PAYLOAD),
    ],
)
@pytest.mark.parametrize("key", ["Information", "Note", "Error Message"])
async def test_message_bodies_are_classified_in_order(
    message: str, code: ErrorCode, key: str
) -> None:
    c, _ = client(lambda r: js({key: message}))
    with pytest.raises(ProviderError) as info:
        await c.earnings_history("IBM")
    assert info.value.code is code
    assert info.value.endpoint == "EARNINGS"
    assert info.value.provider == "alphavantage"
    assert API_KEY not in str(info.value)


def test_classification_transience_and_retry_hints() -> None:
    burst = classify_message(BURST, has_symbol=True)
    assert burst == (ErrorCode.RATE_LIMITED, 1.5)
    assert classify_message(LEGACY, has_symbol=True) == (ErrorCode.RATE_LIMITED, 12.0)
    assert classify_message(LEGACY_VOLUME, has_symbol=False) == (ErrorCode.RATE_LIMITED, 12.0)
    assert classify_message(DAILY, has_symbol=True) == (ErrorCode.QUOTA_EXHAUSTED, None)
    assert classify_message(INVALID_CALL, has_symbol=False) == (ErrorCode.BAD_REQUEST, None)


async def test_burst_is_transient_and_carries_retry_after() -> None:
    c, _ = client(lambda r: js({"Information": BURST}))
    with pytest.raises(ProviderError) as info:
        await c.overview("IBM")
    assert info.value.transient
    assert info.value.retry_after_s == 1.5
    c, _ = client(lambda r: js({"Information": DAILY}))
    with pytest.raises(ProviderError) as info:
        await c.overview("IBM")
    assert not info.value.transient


async def test_echoed_key_is_masked_in_the_message() -> None:
    c, _ = client(lambda r: js({"Information": DAILY_ECHO}))
    with pytest.raises(ProviderError) as info:
        await c.earnings_calendar()
    assert "API key as ***" in info.value.message
    assert API_KEY not in info.value.message


# -- 2.3 EARNINGS_CALENDAR -------------------------------------------------------------------------

CALENDAR_CSV = (
    CSV_HEADER + "\r\n"
    "AAPL,Apple Inc,2026-07-30,2026-06-30,1.62,USD,post-market\r\n"
    "JPM,JP Morgan Chase & Co,2026-07-14,2026-06-30,4.71,USD,pre-market\r\n"
    'XYZW,"Example Holdings, Inc",2026-08-05,2026-06-30,,USD,\r\n'
    "BRK.B,Berkshire Hathaway Inc,2026-08-01,2026-06-30,None,USD,Pre-Market\r\n"
)


async def test_earnings_calendar_csv() -> None:
    guard = RecordingGuard()
    c, rec = client(lambda r: text(CALENDAR_CSV), guard=guard)
    events = await c.earnings_calendar("6month")
    assert rec.params() == {"function": "EARNINGS_CALENDAR", "horizon": "6month"}
    assert guard.endpoints == ["EARNINGS_CALENDAR"]
    assert len(guard.headers) == 1
    assert [e.symbol for e in events] == ["JPM", "AAPL", "BRK.B", "XYZW"]  # by date
    jpm, aapl, brk, xyzw = events
    assert jpm.timing is Timing.BMO
    assert aapl.timing is Timing.AMC
    assert brk.timing is Timing.BMO  # any casing
    assert xyzw.timing is Timing.UNKNOWN  # empty timeOfTheDay
    assert xyzw.name == "Example Holdings, Inc"  # quoted comma
    assert xyzw.eps_estimate is None
    assert brk.eps_estimate is None  # "None"
    assert aapl.eps_estimate == 1.62
    assert aapl.date == dt.date(2026, 7, 30)
    assert aapl.fiscal_date_ending == dt.date(2026, 6, 30)
    assert aapl.name == "Apple Inc"


async def test_earnings_calendar_six_columns_reordered_and_bom() -> None:
    body = (
        "\ufeffname,symbol,reportDate,estimate,fiscalDateEnding,currency\n"
        "Apple Inc,AAPL,2026-07-30,1.62,2026-06-30,USD\n"
    )
    c, _ = client(lambda r: text(body))
    (event,) = await c.earnings_calendar()
    assert event.symbol == "AAPL"
    assert event.timing is Timing.UNKNOWN
    assert event.eps_estimate == 1.62


@pytest.mark.parametrize("body", [CSV_HEADER, CSV_HEADER + "\r\n", CSV_HEADER + "\n\n"])
async def test_earnings_calendar_header_only_is_empty(body: str) -> None:
    c, _ = client(lambda r: text(body))
    assert await c.earnings_calendar() == ()


async def test_earnings_calendar_skips_malformed_rows(caplog: pytest.LogCaptureFixture) -> None:
    body = (
        CSV_HEADER + "\n"
        "AAPL,Apple Inc,2026-07-30,2026-06-30,1.62,USD,post-market\n"
        "BAD SYMBOL,Bad,2026-07-30,2026-06-30,1,USD,\n"
        "MSFT,Microsoft,not-a-date,2026-06-30,1,USD,\n"
    )
    c, _ = client(lambda r: text(body))
    with caplog.at_level(logging.WARNING):
        events = await c.earnings_calendar()
    assert [e.symbol for e in events] == ["AAPL"]
    assert any("skipped 2" in r.getMessage() for r in caplog.records)


def _cuts(body: str) -> list[str]:
    """Every prefix of `body` that does not end on a line break: what a connection cut
    mid-record leaves. The whole header alone is left out: it is also the honest empty answer."""
    return [
        body[:n]
        for n in range(1, len(body))
        if body[n - 1] not in "\r\n" and body[:n] != CSV_HEADER
    ]


@pytest.mark.parametrize("cut", _cuts(CALENDAR_CSV))
async def test_earnings_calendar_cut_mid_record_is_bad_payload_and_not_cached(cut: str) -> None:
    # A cut body used to parse as a shorter calendar (cached 12 h): the names after the cut read
    # "no upcoming earnings".
    cache = DictCache()
    c, _ = client(lambda r: text(cut), cache=cache)
    with pytest.raises(ProviderError) as info:
        await c.earnings_calendar()
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert cache.puts == []


def test_earnings_calendar_cut_messages_name_the_cause() -> None:
    lines = CALENDAR_CSV.splitlines(keepends=True)
    short_row = "".join(lines[:2]) + "JPM,JP Morgan Chase & Co,2026-07-"
    with pytest.raises(PayloadError, match="line 3 of 3 has 3 fields, the header 7"):
        parse_earnings_calendar_csv(short_row)
    last_field = "".join(lines[:3]) + 'XYZW,"Example Holdings, Inc",2026-08-05,2026-06-30,,USD,'
    with pytest.raises(PayloadError, match="ends mid-record"):
        parse_earnings_calendar_csv(last_field)
    open_quote = "".join(lines[:3]) + 'XYZW,"Example Hold'
    with pytest.raises(PayloadError, match="truncated"):
        parse_earnings_calendar_csv(open_quote)


@pytest.mark.parametrize(
    "body",
    [
        # Rows of garbage under a valid header: seven fields each, none a valid event.
        CSV_HEADER + "\r\n" + "E,r,r,o,r, ,M\r\n" * 5,
        CSV_HEADER + "\nAAPL,Apple Inc,soon,2026-06-30,1.62,USD,post-market\n",
        "symbol,name,reportDate,fiscalDateEnding,estimate,currency",  # a cut 7-column header
        "symbol,name,reportDate\r\n",  # a header missing documented columns
    ],
)
async def test_earnings_calendar_without_a_valid_row_is_bad_payload_not_empty(body: str) -> None:
    cache = DictCache()
    c, _ = client(lambda r: text(body), cache=cache)
    with pytest.raises(ProviderError) as info:
        await c.earnings_calendar()
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert cache.puts == []


def test_earnings_calendar_rows_break_only_at_cr_lf() -> None:
    # A name holding U+2028 or NEL is one field, not two lines (each would fail the field count).
    body = CSV_HEADER + "\r\nABCD,Odd\u2028Name\x85Corp,2026-07-30,2026-06-30,1,USD,\r\n"
    (event,) = parse_earnings_calendar_csv(body)
    assert event.symbol == "ABCD"


async def test_earnings_calendar_header_only_is_cached_as_an_answer() -> None:
    # The honest empty answer stays distinct from a corrupt one.
    cache = DictCache()
    c, _ = client(lambda r: text(CSV_HEADER + "\r\n"), cache=cache)
    assert await c.earnings_calendar() == ()
    assert len(cache.puts) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"Information": "' + DAILY + '"}', ErrorCode.QUOTA_EXHAUSTED),
        ('  {"Note": "' + LEGACY + '"}', ErrorCode.RATE_LIMITED),
        ('{"Error Message": "' + BAD_KEY + '"}', ErrorCode.AUTH),
        ('{"Error Message": "Invalid API call. Please retry."}', ErrorCode.BAD_REQUEST),
        ('{"data": []}', ErrorCode.BAD_PAYLOAD),
        ('{"Information": "trunc', ErrorCode.BAD_PAYLOAD),
        ("<html><body>502</body></html>", ErrorCode.BAD_PAYLOAD),
        ("", ErrorCode.BAD_PAYLOAD),
        ("foo,bar\n1,2\n", ErrorCode.BAD_PAYLOAD),
    ],
)
async def test_earnings_calendar_json_and_garbage_bodies(body: str, code: ErrorCode) -> None:
    c, _ = client(lambda r: text(body))
    with pytest.raises(ProviderError) as info:
        await c.earnings_calendar()
    assert info.value.code is code
    assert info.value.endpoint == "EARNINGS_CALENDAR"


async def test_earnings_calendar_bad_horizon_sends_nothing() -> None:
    c, rec = client(lambda r: text(CSV_HEADER))
    with pytest.raises(ProviderError) as info:
        await c.earnings_calendar("3months")
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert rec.requests == []


# -- 2.4 EARNINGS ----------------------------------------------------------------------------------

EARNINGS = {
    "symbol": "IBM",
    "annualEarnings": [{"fiscalDateEnding": "2025-12-31", "reportedEPS": "11.20"}],
    "quarterlyEarnings": [
        {"fiscalDateEnding": "2026-03-31", "reportedDate": "2026-04-22", "reportedEPS": "1.91",
         "estimatedEPS": "1.81", "surprise": "0.1", "surprisePercentage": "5.5249",
         "reportTime": "post-market"},
        {"fiscalDateEnding": "2025-12-31", "reportedDate": "2026-01-27", "reportedEPS": "3.9",
         "estimatedEPS": "3.8", "surprise": "0.1", "surprisePercentage": "2.6",
         "reportTime": "POST-MARKET"},
        {"fiscalDateEnding": "2025-09-30", "reportedDate": "2025-10-21", "reportedEPS": "2.5",
         "estimatedEPS": "", "surprise": "", "surprisePercentage": "", "ReportTime": "Pre-Market"},
        {"fiscalDateEnding": "2025-06-30", "reportedDate": "2025-07-22", "reportedEPS": "2.1",
         "estimatedEPS": "2.0", "surprise": "0.1", "surprisePercentage": "5",
         "reportTime": "unknown"},
        {"fiscalDateEnding": "2004-09-30", "reportedDate": "2004-10-18", "reportedEPS": "None",
         "estimatedEPS": "None", "surprise": "0", "surprisePercentage": "None"},
    ],
}  # fmt: skip


async def test_earnings_history() -> None:
    c, rec = client(lambda r: js(EARNINGS))
    events = await c.earnings_history("ibm")
    assert rec.params() == {"function": "EARNINGS", "symbol": "IBM"}
    assert [e.date for e in events] == [
        dt.date(2004, 10, 18),
        dt.date(2025, 7, 22),
        dt.date(2025, 10, 21),
        dt.date(2026, 1, 27),
        dt.date(2026, 4, 22),
    ]  # ascending
    old, unknown, pre, upper, latest = events
    assert latest.timing is Timing.AMC
    assert latest.eps_reported == 1.91
    assert latest.eps_estimate == 1.81
    assert latest.fiscal_date_ending == dt.date(2026, 3, 31)
    assert upper.timing is Timing.AMC  # "POST-MARKET"
    assert pre.timing is Timing.BMO  # key and value in odd casing
    assert pre.eps_estimate is None  # ""
    assert unknown.timing is Timing.UNKNOWN
    # "None" strings, and surprise "0" beside estimatedEPS "None": no estimate, not a 0.
    assert old.eps_estimate is None
    assert old.eps_reported is None
    assert old.timing is Timing.UNKNOWN  # no reportTime key
    assert all(e.symbol == "IBM" for e in events)


@pytest.mark.parametrize(
    "payload",
    [{}, {"symbol": "XYZQ"}, {"symbol": "X", "quarterlyEarnings": []}, {"quarterlyEarnings": None}],
)
async def test_earnings_unknown_symbol_is_empty_not_an_error(payload: dict[str, Any]) -> None:
    c, _ = client(lambda r: js(payload))
    assert await c.earnings_history("XYZQ") == ()


async def test_earnings_rows_without_a_date_are_skipped_and_bad_shape_is_bad_payload() -> None:
    rows = [{"reportedDate": "None"}, {"reportedDate": "2026-04-22", "reportedEPS": "abc"}, "x"]
    c, _ = client(lambda r: js({"symbol": "IBM", "quarterlyEarnings": rows}))
    (event,) = await c.earnings_history("IBM")
    assert event.eps_reported is None

    c, _ = client(lambda r: js({"symbol": "IBM", "quarterlyEarnings": 5}))
    with pytest.raises(ProviderError) as info:
        await c.earnings_history("IBM")
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "EARNINGS"


# -- 2.5 TIME_SERIES_DAILY -------------------------------------------------------------------------


def series(volume_key: str = "5. volume") -> dict[str, Any]:
    return {
        "Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes",
                      "2. Symbol": "IBM", "3. Last Refreshed": "2026-05-29",
                      "4. Output Size": "Compact", "5. Time Zone": "US/Eastern"},
        "Time Series (Daily)": {
            "2026-05-29": {"1. open": "251.3", "2. high": "254.87", "3. low": "250.12",
                           "4. close": "253.9", volume_key: "3871234"},
            "2026-05-28": {"1. open": "249.0000", "2. high": "252.0000", "3. low": "248.5000",
                           "4. close": "251.1000", volume_key: "4000000"},
        },
    }  # fmt: skip


async def test_daily_series_newest_first_is_sorted() -> None:
    c, rec = client(lambda r: js(series()))
    bars = await c.daily_series("IBM")
    assert rec.params()["outputsize"] == "full"
    assert [b.day for b in bars] == [dt.date(2026, 5, 28), dt.date(2026, 5, 29)]
    assert bars[0].close == 251.1
    assert bars[1].volume == 3871234
    assert bars[1].high == 254.87


async def test_daily_series_adjusted_volume_key() -> None:
    payload = series("6. volume")
    for values in payload["Time Series (Daily)"].values():
        values["5. adjusted close"] = "1.0"
    c, _ = client(lambda r: js(payload))
    bars = await c.daily_series("IBM")
    assert bars[1].volume == 3871234
    assert bars[1].close == 253.9  # the raw close, not the adjusted one


async def test_premium_full_retries_once_with_compact_and_remembers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["outputsize"] == "full":
            return js({"Information": PREMIUM_FULL})
        return js(series())

    c, rec = client(handler)
    bars = await c.daily_series("IBM")
    assert len(bars) == 2
    assert [r.url.params["outputsize"] for r in rec.requests] == ["full", "compact"]
    await c.daily_series("MSFT")
    assert rec.requests[-1].url.params["outputsize"] == "compact"
    assert len(rec.requests) == 3  # no second "full" attempt


async def test_premium_endpoint_on_compact_is_raised() -> None:
    c, rec = client(lambda r: js({"Information": PREMIUM_ENDPOINT}))
    with pytest.raises(ProviderError) as info:
        await c.daily_series("IBM")
    assert info.value.code is ErrorCode.PREMIUM
    assert len(rec.requests) == 2  # full, then compact once; never a loop


async def test_daily_series_errors() -> None:
    c, _ = client(lambda r: js({"Error Message": INVALID_CALL}))
    with pytest.raises(ProviderError) as info:
        await c.daily_series("XYZQ")
    assert info.value.code is ErrorCode.NOT_FOUND

    bad = series()
    bad["Time Series (Daily)"]["2026-05-29"]["4. close"] = "abc"
    c, _ = client(lambda r: js(bad))
    with pytest.raises(ProviderError) as info:
        await c.daily_series("IBM")
    assert info.value.code is ErrorCode.BAD_PAYLOAD
    assert info.value.endpoint == "TIME_SERIES_DAILY"

    c, _ = client(lambda r: js({"Meta Data": {}}))
    with pytest.raises(ProviderError) as info:
        await c.daily_series("IBM")
    assert info.value.code is ErrorCode.BAD_PAYLOAD

    c, _ = client(lambda r: js({}))
    assert await c.daily_series("IBM") == ()


# -- 2.6 OVERVIEW ----------------------------------------------------------------------------------


async def test_overview() -> None:
    payload = {
        "Symbol": "IBM", "AssetType": "Common Stock", "Name": "International Business Machines",
        "Exchange": "NYSE", "Currency": "USD", "Country": "USA", "Sector": "TECHNOLOGY",
        "Industry": "COMPUTER & OFFICE EQUIPMENT", "FiscalYearEnd": "December",
        "LatestQuarter": "2026-03-31", "MarketCapitalization": "246852600000", "PERatio": "None",
        "DividendYield": "0.0258", "Beta": "-", "SharesOutstanding": "", "ExDividendDate": "None",
        "NewFieldFrom2030": "whatever",
    }  # fmt: skip
    c, rec = client(lambda r: js(payload))
    ov = await c.overview("IBM")
    assert rec.params() == {"function": "OVERVIEW", "symbol": "IBM"}
    assert ov.found
    assert ov.name == "International Business Machines"
    assert ov.sector == "TECHNOLOGY"
    assert ov.market_cap == 246852600000.0
    assert ov.dividend_yield == 0.0258
    assert ov.pe_ratio is None  # "None"
    assert ov.beta is None  # "-"
    assert ov.shares_outstanding is None  # ""
    assert ov.latest_quarter == dt.date(2026, 3, 31)


async def test_overview_unknown_symbol_is_an_empty_overview() -> None:
    c, _ = client(lambda r: js({}))
    ov = await c.overview("XYZQ")
    assert not ov.found
    assert ov.symbol == "XYZQ"
    assert ov.name is None
    assert ov.market_cap is None


async def test_overview_list_body_is_bad_payload() -> None:
    c, _ = client(lambda r: js([1, 2]))
    with pytest.raises(ProviderError) as info:
        await c.overview("IBM")
    assert info.value.code is ErrorCode.BAD_PAYLOAD


# -- transport, status, secrets, cache -------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (text("oops", 500, "text/plain"), ErrorCode.UNAVAILABLE),
        (text("<html>Bad gateway</html>", 502, "text/html"), ErrorCode.UNAVAILABLE),
        (text("slow down", 429, "text/plain"), ErrorCode.RATE_LIMITED),
        (text("nope", 404, "text/plain"), ErrorCode.NOT_FOUND),
        (text('{"symbol": "IBM", "quarterl', 200, "application/json"), ErrorCode.BAD_PAYLOAD),
        (text("", 200, "application/json"), ErrorCode.BAD_PAYLOAD),
        (text("<!DOCTYPE html><html></html>", 200, "text/html"), ErrorCode.BAD_PAYLOAD),
    ],
)
async def test_http_level_failures(response: httpx.Response, code: ErrorCode) -> None:
    c, _ = client(lambda r: response)
    with pytest.raises(ProviderError) as info:
        await c.earnings_history("IBM")
    assert info.value.code is code
    assert info.value.endpoint == "EARNINGS"


async def test_api_key_never_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []

    def leaky_connect(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    def leaky_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out on {request.url}")

    handlers: list[Handler] = [
        leaky_connect,
        leaky_timeout,
        lambda r: js({"Information": DAILY_ECHO}),
        lambda r: js({"Information": BURST_WITH_KEY}),
        lambda r: js({"Error Message": f"bad {API_KEY}"}),
        lambda r: text(f"server error for apikey={API_KEY}", 500, "text/plain"),
        lambda r: text(f'{{"Information": "{API_KEY}"}}'),
    ]
    for handler in handlers:
        c, _ = client(handler)
        with pytest.raises(ProviderError) as info:
            await c.earnings_calendar()
        errors.append(info.value)
    assert errors[0].code is ErrorCode.UNAVAILABLE
    assert errors[1].code is ErrorCode.TIMEOUT
    for err in errors:
        assert API_KEY not in str(err)
        assert API_KEY not in repr(err)
        assert err.__cause__ is None
    c, _ = client(lambda r: js(EARNINGS))
    await c.earnings_history("IBM")
    assert API_KEY not in repr(c)
    # httpx's own INFO line carries the URL; resilience/logs.py redacts it at the handler.
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any("apikey=***" in r.getMessage() for r in ours)  # the URL was logged, redacted
    assert all(API_KEY not in r.getMessage() for r in ours)


async def test_cache_hits_skip_the_request_and_errors_are_not_cached() -> None:
    cache = DictCache()
    responses = iter([js({"Information": BURST}), text(CALENDAR_CSV)])
    c, rec = client(lambda r: next(responses), cache=cache)
    with pytest.raises(ProviderError):
        await c.earnings_calendar()
    assert cache.puts == []
    first = await c.earnings_calendar()
    second = await c.earnings_calendar()
    assert first == second
    assert len(rec.requests) == 2
    ((namespace, key, value, ttl),) = cache.puts
    assert namespace == "alphavantage.earnings_calendar"
    assert key == f"{cache_scope(BASE, API_KEY)} horizon=3month"  # see test_cache_scope.py
    assert ttl == 12 * 3600.0
    assert API_KEY not in key
    assert API_KEY not in value


async def test_cached_series_after_compact_fallback() -> None:
    cache = DictCache()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["outputsize"] == "full":
            return js({"Information": PREMIUM_FULL})
        return js(series())

    c, rec = client(handler, cache=cache, cache_ttls={"daily": 60.0})
    await c.daily_series("IBM")
    assert len(await c.daily_series("IBM")) == 2
    assert len(rec.requests) == 2
    assert [(ns, ttl) for ns, _, _, ttl in cache.puts] == [("alphavantage.daily", 60.0)]


@pytest.mark.parametrize(
    "kw",
    [
        {"base_url": "www.alphavantage.co/query"},
        {"api_key": " "},
        {"cache_ttls": {"quotes": 1.0}},
        {"cache_ttls": {"daily": float("nan")}},
    ],
)
def test_bad_configuration_is_a_config_error(kw: dict[str, Any]) -> None:
    args: dict[str, Any] = {"base_url": BASE, "api_key": API_KEY, **kw}
    with pytest.raises(IvCrushError) as info:
        AlphaVantageClient(httpx.AsyncClient(), **args)
    assert info.value.code is ErrorCode.CONFIG


async def test_invalid_symbol_is_not_sent() -> None:
    c, rec = client(lambda r: js({}))
    with pytest.raises(ProviderError) as info:
        await c.overview("IBM; DROP")
    assert info.value.code is ErrorCode.INVALID_SYMBOL
    assert rec.requests == []
