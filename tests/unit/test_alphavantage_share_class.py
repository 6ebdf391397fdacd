"""Share classes at the Alpha Vantage boundary: our BRK.B is BRK-B there, both ways (requests,
and the symbols of its earnings calendar), so a watchlist BRK.B gets its earnings."""

from __future__ import annotations

import httpx

from tests.unit.test_alphavantage_client import CSV_HEADER, EARNINGS, client, js, text


def _earnings_or_empty(request: httpx.Request) -> httpx.Response:
    # Alpha Vantage answers {} for a symbol it does not know (BRK.B); BRK-B is what it knows.
    if request.url.params["symbol"] == "BRK-B":
        return js(EARNINGS | {"symbol": "BRK-B"})
    return js({})


async def test_earnings_of_a_share_class_are_asked_with_a_hyphen() -> None:
    c, rec = client(_earnings_or_empty)
    events = await c.earnings_history("BRK.B")
    assert rec.params() == {"function": "EARNINGS", "symbol": "BRK-B"}
    assert events  # found: the hyphen spelling was sent
    assert {e.symbol for e in events} == {"BRK.B"}  # and our spelling comes back


async def test_overview_and_daily_series_send_the_hyphen_spelling() -> None:
    c, rec = client(lambda r: js({"Symbol": "BRK-B", "Name": "Berkshire Hathaway Inc."}))
    overview = await c.overview("brk.b")
    assert rec.params()["symbol"] == "BRK-B"
    assert overview.symbol == "BRK.B"
    assert overview.found

    series = {"Time Series (Daily)": {"2026-05-29": {"1. open": "480", "2. high": "485",
              "3. low": "478", "4. close": "482", "5. volume": "3000000"}}}  # fmt: skip
    c, rec = client(lambda r: js(series))
    (bar,) = await c.daily_series("BRK.B")
    assert rec.params()["symbol"] == "BRK-B"
    assert bar.close == 482.0


async def test_plain_tickers_are_sent_unchanged() -> None:
    c, rec = client(lambda r: js(EARNINGS))
    await c.earnings_history("ibm")
    assert rec.params()["symbol"] == "IBM"


async def test_the_earnings_calendar_maps_hyphens_to_our_spelling() -> None:
    body = "\n".join([
        CSV_HEADER,
        "BRK-B,Berkshire Hathaway Inc,2026-08-01,2026-06-30,4.9,USD,pre-market",
        "BF-A,Brown-Forman Corp,2026-08-28,2026-07-31,0.5,USD,",
        "IBM,International Business Machines,2026-07-22,2026-06-30,2.6,USD,post-market",
    ]) + "\n"  # every record ends with a line break  # fmt: skip
    c, _ = client(lambda r: text(body))
    events = await c.earnings_calendar()
    assert [e.symbol for e in events] == ["IBM", "BRK.B", "BF.A"]  # by date, in our spelling
    assert events[1].name == "Berkshire Hathaway Inc"
