"""The demo market: determinism, wire shapes and quirks, earnings schedule, jumps, event bump,
quotes and the edge-case names; plus the in-process transport (auth, XML, limits, faults).

Wire-format expectations follow /work/shared/reference/provider-apis.md (Tradier §1.2-1.9, Alpha
Vantage §2.2-2.6); implied move and VRP follow METHODS.md §3-§5.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
from collections.abc import Mapping

import httpx
import numpy as np
import pytest

from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.calendar import NY, UTC, default_calendar
from ivcrush_tui.domain import Timing
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import (
    RISK_FREE_RATE,
    ContractQuote,
    DemoMarket,
)
from ivcrush_tui.providers.demo.responses import WireRequest
from ivcrush_tui.providers.demo.transport import DEMO_AV_BASE, DEMO_TRADIER_BASE, DemoTransport
from ivcrush_tui.providers.demo.universe import (
    NO_OPTIONS_SYMBOL,
    SHORT_HISTORY_SYMBOL,
    SINGLE_EXPIRATION_SYMBOL,
    THIN_SYMBOL,
)
from ivcrush_tui.providers.demo.wire import route
from ivcrush_tui.symbols import parse_occ

AS_OF = dt.date(2026, 4, 29)  # a Wednesday
NOW = dt.datetime(2026, 4, 29, 15, 30, tzinfo=NY).astimezone(UTC)  # inside the entry window
CAL = default_calendar()
JSON_HEADERS = {"authorization": "Bearer t", "accept": "application/json"}


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(AS_OF)


def _get_with(
    m: DemoMarket,
    path: str,
    params: Mapping[str, str],
    now: dt.datetime = NOW,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    req = WireRequest("GET", path, params, headers if headers is not None else JSON_HEADERS)
    resp = route(m, req, now)
    assert resp.status == 200, resp.body[:200]
    return resp.body


def _tradier(m: DemoMarket, sub: str, now: dt.datetime = NOW, **params: str) -> dict:  # type: ignore[type-arg]
    out = json.loads(_get_with(m, "/tradier/v1" + sub, params, now))
    assert isinstance(out, dict)
    return out


def _av(m: DemoMarket, **params: str) -> bytes:
    return _get_with(m, "/alphavantage/query", {**params, "apikey": "k"})


def _as_list(x: object) -> list:  # type: ignore[type-arg]
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def _chain(m: DemoMarket, symbol: str, exp: dt.date, now: dt.datetime = NOW) -> list[dict]:  # type: ignore[type-arg]
    body = _tradier(
        m, "/markets/options/chains", now, symbol=symbol, expiration=exp.isoformat(), greeks="true"
    )
    return _as_list(body["options"]["option"]) if body["options"] else []


# -- determinism --------------------------------------------------------------------------------

REQUESTS = [
    ("/tradier/v1/markets/quotes", {"symbols": "AAPL,MSFT,PTON,BRK/B"}),
    ("/tradier/v1/markets/options/expirations", {"symbol": "NVDA", "strikes": "true"}),
    ("/tradier/v1/markets/history", {"symbol": "JPM"}),
    ("/alphavantage/query", {"function": "EARNINGS_CALENDAR", "apikey": "k"}),
    ("/alphavantage/query", {"function": "EARNINGS", "symbol": "TSLA", "apikey": "k"}),
]


def _payloads(m: DemoMarket) -> list[bytes]:
    out = [route(m, WireRequest("GET", p, q, JSON_HEADERS), NOW).body for p, q in REQUESTS]
    exp = m.expirations("AAPL")[1].isoformat()
    chain = WireRequest(
        "GET",
        "/tradier/v1/markets/options/chains",
        {"symbol": "AAPL", "expiration": exp, "greeks": "true"},
        JSON_HEADERS,
    )
    return [*out, route(m, chain, NOW).body]


def test_same_inputs_give_byte_identical_payloads(market: DemoMarket) -> None:
    fresh = DemoMarket(AS_OF)
    assert _payloads(market) == _payloads(fresh)
    assert DemoMarket(AS_OF, seed=7).bars("AAPL") == DemoMarket(AS_OF, seed=7).bars("AAPL")


def test_a_different_seed_is_another_world_and_the_next_day_extends_this_one(
    market: DemoMarket,
) -> None:
    assert DemoMarket(AS_OF, seed=1).bars("AAPL") != DemoMarket(AS_OF, seed=2).bars("AAPL")
    assert all(
        x != y for x, y in zip(_payloads(market), _payloads(DemoMarket(AS_OF, seed=3)), strict=True)
    )
    # One world moving forward: the next day serves one more bar, the earlier ones unchanged.
    later = DemoMarket(CAL.next_session(AS_OF)).bars("AAPL")
    assert later[-1].day == AS_OF
    assert later[:-1] == market.bars("AAPL")[-len(later) + 1 :]


def test_universe_has_80_names_with_sectors(market: DemoMarket) -> None:
    assert len(market.symbols) == 250
    assert {"AAPL", "MSFT", "NVDA", "JPM", "BRK.B"} <= set(market.symbols)
    for s in market.symbols:
        p = market.profile(s)
        assert 0.15 <= p.base_vol <= 0.70
        assert 0.02 <= p.typical_move <= 0.12
        assert p.listing.sector
        assert p.listing.name


# -- earnings schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of",
    [
        AS_OF,
        dt.date(2026, 3, 30),
        dt.date(2025, 12, 20),
        dt.date(2026, 11, 23),
        dt.date(2028, 2, 7),
    ],
    ids=str,
)
def test_every_session_of_the_next_two_weeks_has_bmo_and_amc_names(as_of: dt.date) -> None:
    """250 names reporting quarterly make ~4 releases a session: every session of the next two
    weeks has BMO and AMC releases and is the entry day of BMO and AMC names."""
    m = DemoMarket(as_of)
    text = _av(m, function="EARNINGS_CALENDAR").decode()
    rows = list(csv.DictReader(text.splitlines()))
    timing = {"pre-market": Timing.BMO, "post-market": Timing.AMC}
    listed = [(dt.date.fromisoformat(r["reportDate"]), timing.get(r["timeOfTheDay"])) for r in rows]
    start = as_of if CAL.is_session(as_of) else CAL.next_session(as_of)
    for day in CAL.sessions_between(start, as_of + dt.timedelta(days=14)):
        today = [t for d, t in listed if d == day]  # None: time not confirmed yet
        assert len(today) >= 3, day
        assert Timing.BMO in today or None in today, day
        assert Timing.AMC in today or None in today, day
        entries = [d for d, t in listed if CAL.entry_date(d, t or Timing.UNKNOWN) == day]
        assert len(entries) >= 2, day
    assert any(t is None for _, t in listed)  # a few times are not confirmed yet
    upcoming = [s for s in m.symbols if m.upcoming_event(s) is not None]
    assert 100 <= len(upcoming) <= 145  # 30 of a quarter's ~63 sessions
    last = start
    for _ in range(29):
        last = CAL.next_session(last)
    assert all(m.next_event(s).date <= last for s in upcoming)


def test_past_events_are_quarterly_with_timing_and_inside_the_bars(market: DemoMarket) -> None:
    for s in market.symbols:
        past = market.past_events(s)
        bars = market.bars(s)
        days = {b.day for b in bars}
        assert len(past) == (2 if s == SHORT_HISTORY_SYMBOL else len(past))
        if s != SHORT_HISTORY_SYMBOL:
            assert len(past) >= 12
            assert (AS_OF - bars[0].day).days > 3 * 365
        gaps = [(b.date - a.date).days for a, b in itertools.pairwise(past)]
        assert all(60 <= g <= 130 for g in gaps), (s, gaps)
        for e in past:
            assert e.timing in (Timing.BMO, Timing.AMC)
            assert CAL.reaction_session(e.date, e.timing) in days
        assert bars[-1].day == CAL.previous_session(AS_OF)
        assert all(CAL.is_session(b.day) for b in bars[-30:])


def test_reaction_sessions_show_earnings_jumps(market: DemoMarket) -> None:
    event_moves: list[float] = []
    normal_moves: list[float] = []
    event_gap_share: list[float] = []
    for s in market.symbols:
        bars = market.bars(s)
        index = {b.day: i for i, b in enumerate(bars)}
        reactions = {index[CAL.reaction_session(e.date, e.timing)] for e in market.past_events(s)}
        for i in range(1, len(bars)):
            move = abs(bars[i].close / bars[i - 1].close - 1.0)
            if i in reactions:
                event_moves.append(move)
                gap = abs(bars[i].open / bars[i - 1].close - 1.0)
                event_gap_share.append(gap / max(move, 1e-9))
            elif i - 1 not in reactions:
                normal_moves.append(move)
        for b in bars:
            assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
            assert b.low > 0
            assert b.volume > 0
    assert np.mean(event_moves) > 3.0 * np.mean(normal_moves)
    assert np.median(event_gap_share) > 0.6  # the open carries most of the jump


# -- options ---------------------------------------------------------------------------------------


def test_expirations_are_weekly_fridays_plus_three_monthlies(market: DemoMarket) -> None:
    exps = market.expirations("AAPL")
    assert len(exps) == 11
    assert exps[0] >= AS_OF
    fridays = [exps[0] + dt.timedelta(days=(4 - exps[0].weekday()) + 7 * k) for k in range(8)]
    # Juneteenth (Friday 2026-06-19) is closed: that weekly is listed on Thursday 2026-06-18.
    assert list(exps[:8]) == [CAL.listed_friday_expiration(f) for f in fridays]
    assert dt.date(2026, 6, 18) in exps
    assert all(15 <= e.day <= 21 and e.weekday() == 4 for e in exps[8:])
    assert all(market.expiration_type(e) == "standard" for e in exps[8:])
    # Good Friday 2026-04-03 is closed: that week's expiration is listed on Thursday.
    assert dt.date(2026, 4, 2) in DemoMarket(dt.date(2026, 3, 30)).expirations("AAPL")


def test_strike_grids_are_bigger_for_big_names(market: DemoMarket) -> None:
    exp = market.expirations("AAPL")[0]
    aapl = market.strikes("AAPL", exp)
    assert len(aapl) == 80
    assert list(aapl) == sorted(aapl)
    spot = market.bars("AAPL")[-1].close
    assert aapl[0] < spot < aapl[-1]
    assert len(market.strikes("LULU", market.expirations("LULU")[0])) < len(aapl)
    assert market.strikes("AAPL", dt.date(2030, 1, 1)) == ()


def _atm_straddle_move(chain: tuple[ContractQuote, ...], spot: float) -> tuple[float, float]:
    """Mid straddle at the strike nearest spot, as a fraction of spot (METHODS §3)."""
    strikes = sorted({o.strike for o in chain})
    k = min(strikes, key=lambda x: abs(x - spot))
    legs = [o for o in chain if o.strike == k]
    assert len(legs) == 2
    return sum((o.bid + o.ask) / 2 for o in legs) / spot, k


def test_event_expiration_carries_a_visible_variance_bump(market: DemoMarket) -> None:
    checked = 0
    for s in market.symbols:
        ev = market.upcoming_event(s)
        exps = market.expirations(s)
        if ev is None or not exps or market.event_passed(s, NOW):
            continue
        event_exp = CAL.event_expiration(exps, ev.date, ev.timing)
        if event_exp is None:
            continue
        spot = market.spot(s, NOW)
        move, k = _atm_straddle_move(market.chain(s, event_exp, NOW), spot)
        t = CAL.pricing_time_years(NOW, event_exp)
        diff_vol = market.atm_vol(s, t)
        no_event = bsm_price(spot, k, t, diff_vol, np.array([True, False]), RISK_FREE_RATE)
        assert move > 1.01 * float(np.sum(no_event)) / spot, s
        if (event_exp - AS_OF).days <= 14:
            assert move > 1.15 * float(np.sum(no_event)) / spot, s
        before = [e for e in exps if e < CAL.reaction_session(ev.date, ev.timing)]
        if before:
            pre = [o for o in market.chain(s, before[-1], NOW) if o.strike == k]
            post = [o for o in market.chain(s, event_exp, NOW) if o.strike == k]
            assert min(o.model_iv for o in post) > max(o.model_iv for o in pre), s
        checked += 1
    assert checked >= 90


def test_implied_move_is_richer_than_history_for_most_names() -> None:
    """VRP = implied move / mean |close move| of the last 12 events (METHODS §3, §5), for the
    names entered on each of ten sessions, in their entry window."""
    vrps: dict[str, float] = {}
    day = AS_OF
    for _ in range(10):
        m = DemoMarket(day)
        now = dt.datetime.combine(day, dt.time(15, 30), tzinfo=NY).astimezone(UTC)
        for s in m.symbols:
            ev = m.upcoming_event(s)
            exps = m.expirations(s)
            if ev is None or not exps or m.event_passed(s, now):
                continue
            if CAL.entry_date(ev.date, ev.timing) != day:
                continue  # only names entered now: VRP is what it will trade at
            event_exp = CAL.event_expiration(exps, ev.date, ev.timing)
            assert event_exp is not None
            move, _ = _atm_straddle_move(m.chain(s, event_exp, now), m.spot(s, now))
            bars = m.bars(s)
            index = {b.day: i for i, b in enumerate(bars)}
            hist = []
            for e in m.past_events(s)[-12:]:
                i = index[CAL.reaction_session(e.date, e.timing)]
                hist.append(abs(bars[i].close / bars[i - 1].close - 1.0))
            vrps[s] = move / float(np.mean(hist))
        day = CAL.next_session(day)
    assert len(vrps) >= 10
    values = list(vrps.values())
    assert sum(v > 1.1 for v in values) >= 0.6 * len(values), vrps
    assert max(values) < 4.5, vrps
    all_targets = [DemoMarket(AS_OF).profile(s).vrp_target for s in DemoMarket(AS_OF).symbols]
    assert sum(t < 1.0 for t in all_targets) >= 3  # a few names are cheap
    assert sum(1.1 <= t <= 2.8 for t in all_targets) >= 0.7 * len(all_targets)


def test_bid_le_ask_everywhere_and_positive_bids_except_the_thin_name(market: DemoMarket) -> None:
    zero_bid_names = set()
    for s in market.symbols:
        for exp in market.expirations(s)[:2]:
            for c in market.chain(s, exp, NOW):
                assert 0.0 <= c.bid <= c.ask, c.symbol
                assert math.isfinite(c.model_price)
                assert c.model_iv > 0
                if c.bid == 0.0:
                    zero_bid_names.add(s)
    assert zero_bid_names <= {THIN_SYMBOL}


def test_chain_wire_shape_greeks_and_epoch_ms(market: DemoMarket) -> None:
    exp = market.expirations("AAPL")[0]
    chain = _chain(market, "AAPL", exp)
    assert len(chain) == 160
    o = chain[0]
    for key in (
        "symbol",
        "bid",
        "ask",
        "strike",
        "open_interest",
        "trade_date",
        "bid_date",
        "expiration_date",
        "option_type",
        "root_symbol",
        "greeks",
        "expiration_type",
    ):
        assert key in o  # fmt: skip
    assert parse_occ(o["symbol"]) is not None
    g = o["greeks"]
    assert set(g) == {"delta", "gamma", "theta", "vega", "rho", "phi", "bid_iv", "mid_iv",
                      "ask_iv", "smv_vol", "updated_at"}  # fmt: skip
    assert g["bid_iv"] <= g["mid_iv"] <= g["ask_iv"]
    dt.datetime.strptime(g["updated_at"], "%Y-%m-%d %H:%M:%S")
    traded = [c for c in chain if c["trade_date"]]
    assert traded
    assert all(len(str(c["trade_date"])) == 13 for c in traded)
    assert all(len(str(c["bid_date"])) == 13 for c in chain)
    calls = [c for c in chain if c["option_type"] == "call"]
    assert all(-1e-9 <= c["greeks"]["delta"] <= 1 for c in calls)
    # greeks=false: no greeks key at all
    plain = _tradier(market, "/markets/options/chains", symbol="AAPL", expiration=exp.isoformat())
    assert "greeks" not in _as_list(plain["options"]["option"])[0]
    # unknown expiration or symbol -> {"options": null}
    assert _tradier(market, "/markets/options/chains", symbol="AAPL", expiration="2030-01-04") == {
        "options": None
    }
    assert (
        _tradier(market, "/markets/options/chains", symbol="ZZZZ", expiration=exp.isoformat())[
            "options"
        ]
        is None
    )


# -- edge-case names -------------------------------------------------------------------------------


def test_thin_name_has_wide_spreads_low_oi_null_greeks_and_never_traded_contracts(
    market: DemoMarket,
) -> None:
    def atm_spread_pct(s: str) -> float:
        exp = market.expirations(s)[0]
        chain = _chain(market, s, exp)
        spot = market.spot(s, NOW)
        k = min({o["strike"] for o in chain}, key=lambda x: abs(x - spot))
        legs = [o for o in chain if o["strike"] == k]
        return float(np.mean([(o["ask"] - o["bid"]) / ((o["ask"] + o["bid"]) / 2) for o in legs]))

    assert atm_spread_pct(THIN_SYMBOL) > 4 * atm_spread_pct("AAPL")
    thin = [o for e in market.expirations(THIN_SYMBOL) for o in _chain(market, THIN_SYMBOL, e)]
    assert max(o["open_interest"] for o in thin) < 300
    assert any(o["greeks"] is None for o in thin)
    assert any(o["trade_date"] == 0 and o["last"] is None for o in thin)
    assert all(market.expiration_type(e) == "standard" for e in market.expirations(THIN_SYMBOL))


def test_short_history_name_has_two_past_events(market: DemoMarket) -> None:
    body = json.loads(_av(market, function="EARNINGS", symbol=SHORT_HISTORY_SYMBOL))
    assert len(body["quarterlyEarnings"]) == 2
    assert len(market.bars(SHORT_HISTORY_SYMBOL)) < 252
    assert market.next_event(SHORT_HISTORY_SYMBOL).date >= AS_OF


def test_no_options_name_has_null_expirations_but_a_quote(market: DemoMarket) -> None:
    exp = _tradier(market, "/markets/options/expirations", symbol=NO_OPTIONS_SYMBOL)
    assert exp == {"expirations": None}
    q = _tradier(market, "/markets/quotes", symbols="BRK/A")["quotes"]["quote"]
    assert q["symbol"] == "BRK/A"
    assert q["last"] > 0
    assert "root_symbols" not in q


def test_single_expiration_name_collapses_to_a_bare_string(market: DemoMarket) -> None:
    body = _tradier(market, "/markets/options/expirations", symbol=SINGLE_EXPIRATION_SYMBOL)
    date = body["expirations"]["date"]
    assert isinstance(date, str)
    ev = market.next_event(SINGLE_EXPIRATION_SYMBOL)
    assert dt.date.fromisoformat(date) >= CAL.reaction_session(ev.date, ev.timing)
    objs = _tradier(
        market, "/markets/options/expirations", symbol=SINGLE_EXPIRATION_SYMBOL, strikes="true"
    )
    single = objs["expirations"]["expiration"]
    assert isinstance(single, dict)
    assert isinstance(single["strikes"]["strike"], list)


# -- Tradier wire quirks --------------------------------------------------------------------------


def test_quotes_collapse_and_unmatched_symbols(market: DemoMarket) -> None:
    one = _tradier(market, "/markets/quotes", symbols="AAPL")["quotes"]
    assert isinstance(one["quote"], dict)
    assert "unmatched_symbols" not in one
    many = _tradier(market, "/markets/quotes", symbols="AAPL,MSFT,XYZQ")["quotes"]
    assert [q["symbol"] for q in many["quote"]] == ["AAPL", "MSFT"]
    assert many["unmatched_symbols"] == {"symbol": "XYZQ"}
    none = _tradier(market, "/markets/quotes", symbols="XYZQ,ABCQ")["quotes"]
    assert none == {"unmatched_symbols": {"symbol": ["XYZQ", "ABCQ"]}}
    q = one["quote"]
    assert q["bid"] <= q["last"] <= q["ask"]
    assert q["bid"] < q["ask"]
    assert len(str(q["trade_date"])) == 13
    assert q["close"] is None
    assert q["type"] == "stock"
    brk = _tradier(market, "/markets/quotes", symbols="BRK.B")["quotes"]["quote"]
    assert brk["symbol"] == "BRK/B"


def test_option_symbols_quote_with_greeks(market: DemoMarket) -> None:
    c = market.chain("MSFT", market.expirations("MSFT")[1], NOW)[40]
    body = _tradier(market, "/markets/quotes", symbols=f"{c.symbol},MSFT", greeks="true")
    first = body["quotes"]["quote"][0]
    assert first["symbol"] == c.symbol
    other = market.chain("MSFT", market.expirations("MSFT")[1], NOW)[41]
    pair = _tradier(market, "/markets/quotes", symbols=f"{c.symbol},{other.symbol},MSFT260101C1")
    assert [q["symbol"] for q in pair["quotes"]["quote"]] == [c.symbol, other.symbol]
    assert "greeks" not in pair["quotes"]["quote"][0]
    assert pair["quotes"]["unmatched_symbols"] == {"symbol": "MSFT260101C1"}
    assert first["type"] == "option"
    assert first["greeks"]["mid_iv"] == pytest.approx(c.model_iv, rel=1e-5)


def test_history_single_bar_object_null_and_intervals(market: DemoMarket) -> None:
    last = market.bars("AAPL")[-1]
    one = _tradier(market, "/markets/history", symbol="AAPL", start=last.day.isoformat(),
                   end=last.day.isoformat())  # fmt: skip
    assert one["history"]["day"] == {
        "date": last.day.isoformat(), "open": last.open, "high": last.high, "low": last.low,
        "close": last.close, "volume": last.volume,
    }  # fmt: skip
    weekend = _tradier(market, "/markets/history", symbol="AAPL", start="2026-04-25",
                       end="2026-04-26")  # fmt: skip
    assert weekend == {"history": None}
    assert _tradier(market, "/markets/history", symbol="NOPE") == {"history": None}
    weekly = _tradier(market, "/markets/history", symbol="AAPL", interval="weekly")
    daily = _tradier(market, "/markets/history", symbol="AAPL")
    assert len(weekly["history"]["day"]) < len(daily["history"]["day"]) / 4


@pytest.mark.parametrize(
    ("hour", "minute", "state", "next_state"),
    [(8, 0, "premarket", "open"), (11, 0, "open", "postmarket"),
     (17, 0, "postmarket", "closed"), (21, 0, "closed", "premarket")],
)  # fmt: skip
def test_clock_state_follows_the_calendar(
    market: DemoMarket, hour: int, minute: int, state: str, next_state: str
) -> None:
    now = dt.datetime(2026, 4, 29, hour, minute, tzinfo=NY)
    clock = _tradier(market, "/markets/clock", now)["clock"]
    assert clock["state"] == state
    assert clock["next_state"] == next_state
    assert clock["timestamp"] == int(now.timestamp())  # epoch seconds
    assert clock["date"] == "2026-04-29"


def test_calendar_month_closed_days_have_no_session_keys(market: DemoMarket) -> None:
    days = _tradier(market, "/markets/calendar", month="4", year="2026")["calendar"]
    assert days["month"] == 4
    assert days["year"] == 2026
    rows = {d["date"]: d for d in days["days"]["day"]}
    assert len(rows) == 30
    good_friday = rows["2026-04-03"]
    assert good_friday["status"] == "closed"
    assert "open" not in good_friday
    assert "premarket" not in good_friday
    assert rows["2026-04-02"]["open"] == {"start": "09:30", "end": "16:00"}
    half = _tradier(market, "/markets/calendar", month="11", year="2026")["calendar"]
    day_after_thanksgiving = {d["date"]: d for d in half["days"]["day"]}["2026-11-27"]
    assert day_after_thanksgiving["open"]["end"] == "13:00"


def test_xml_without_accept_json_and_apigee_401(market: DemoMarket) -> None:
    body = _get_with(market, "/tradier/v1/markets/clock", {}, headers={"authorization": "Bearer t"})
    assert body.startswith(b"<?xml")
    assert b"<state>open</state>" in body


# -- Alpha Vantage wire quirks ------------------------------------------------------------------


def test_earnings_calendar_csv_header_quoting_and_timing(market: DemoMarket) -> None:
    text = _av(market, function="EARNINGS_CALENDAR", horizon="3month").decode()
    lines = text.split("\r\n")
    assert lines[0] == "symbol,name,reportDate,fiscalDateEnding,estimate,currency,timeOfTheDay"
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) >= 80
    assert {r["timeOfTheDay"] for r in rows} == {"pre-market", "post-market", ""}
    assert any(r["estimate"] == "" for r in rows)
    assert '"Meta Platforms, Inc."' in text
    meta = next(r for r in rows if r["symbol"] == "META")
    assert meta["name"] == "Meta Platforms, Inc."
    assert all(r["reportDate"] >= AS_OF.isoformat() for r in rows)
    longer = _av(market, function="EARNINGS_CALENDAR", horizon="12month").decode()
    assert len(longer.splitlines()) > 3 * len(lines) - 10
    empty = _av(market, function="EARNINGS_CALENDAR", symbol="NOPE").decode()
    assert empty.strip() == lines[0]


def test_earnings_json_strings_none_and_report_time(market: DemoMarket) -> None:
    seen_none = seen_no_time = False
    for s in market.symbols:
        body = json.loads(_av(market, function="EARNINGS", symbol=s))
        q = body["quarterlyEarnings"]
        dates = [r["reportedDate"] for r in q]
        assert dates == sorted(dates, reverse=True)  # newest first
        for r in q:
            assert all(isinstance(v, str) for v in r.values())
            if r["estimatedEPS"] == "None":
                seen_none = True
                assert r["surprise"] == "0"
            if "reportTime" not in r:
                seen_no_time = True
            else:
                assert r["reportTime"] in ("pre-market", "post-market")
    assert seen_none
    assert seen_no_time
    assert json.loads(_av(market, function="EARNINGS", symbol="NOPE")) == {}


def test_alpha_vantage_spells_share_classes_with_a_dash(market: DemoMarket) -> None:
    # As Alpha Vantage does (BRK-B), so the client's mapping back to BRK.B is exercised.
    assert json.loads(_av(market, function="EARNINGS", symbol="BRK-B"))["symbol"] == "BRK-B"
    far = _av(market, function="EARNINGS_CALENDAR", horizon="12month").decode().splitlines()
    rows = [line.split(",")[0] for line in far[1:]]
    assert "BRK-B" in rows
    assert not any("." in sym for sym in rows)


def test_overview_and_daily_series(market: DemoMarket) -> None:
    ov = json.loads(_av(market, function="OVERVIEW", symbol="AAPL"))
    assert ov["Symbol"] == "AAPL"
    assert all(isinstance(v, str) for v in ov.values())
    assert int(ov["MarketCapitalization"]) > 0
    assert json.loads(_av(market, function="OVERVIEW", symbol="NOPE")) == {}
    ts = json.loads(_av(market, function="TIME_SERIES_DAILY", symbol="AAPL"))
    series = ts["Time Series (Daily)"]
    assert len(series) == 100
    keys = list(series)
    assert keys == sorted(keys, reverse=True)
    assert keys[0] == market.bars("AAPL")[-1].day.isoformat()
    assert float(series[keys[0]]["4. close"]) == market.bars("AAPL")[-1].close
    assert ts["Meta Data"]["4. Output Size"] == "Compact"


@pytest.mark.parametrize(
    ("params", "key", "needle"),
    [
        ({"function": "TIME_SERIES_DAILY", "symbol": "AAPL", "outputsize": "full"},
         "Information", "premium feature"),
        ({"function": "TIME_SERIES_DAILY_ADJUSTED", "symbol": "AAPL"}, "Information",
         "premium endpoint"),
        ({"function": "TIME_SERIES_DAILY", "symbol": "NOPE"}, "Error Message", "Invalid API call"),
        ({"function": "NOPE"}, "Error Message", "Invalid API call"),
    ],
)  # fmt: skip
def test_alpha_vantage_errors_are_200_one_key_bodies(
    market: DemoMarket, params: dict[str, str], key: str, needle: str
) -> None:
    body = json.loads(_av(market, **params))
    assert list(body) == [key]
    assert needle in body[key]


def test_all_wire_payloads_are_finite_json(market: DemoMarket) -> None:
    for s in market.symbols:
        for exp in market.expirations(s)[:1]:
            params = {"symbol": s, "expiration": exp.isoformat(), "greeks": "true"}
            body = _get_with(market, "/tradier/v1/markets/options/chains", params)
            assert b"NaN" not in body
            assert b"Infinity" not in body
            json.loads(body)


def test_intraday_spot_moves_and_bmo_today_names_are_crushed(market: DemoMarket) -> None:
    later = NOW + dt.timedelta(minutes=20)
    assert any(market.spot(s, NOW) != market.spot(s, later) for s in market.symbols)
    pre_open = dt.datetime(2026, 4, 29, 8, 0, tzinfo=NY)
    assert market.spot("AAPL", pre_open) == market.bars("AAPL")[-1].close
    # Monday 2026-05-04 has BMO releases (the world's weekly cycle: BMO on Thu, Fri and Mon).
    monday = DemoMarket(dt.date(2026, 5, 4))
    inside = dt.datetime(2026, 5, 4, 15, 30, tzinfo=NY)
    bmo_today = [
        s for s in monday.symbols
        if monday.next_event(s).date == monday.as_of and monday.next_event(s).timing is Timing.BMO
    ]  # fmt: skip
    assert bmo_today
    assert all(monday.event_passed(s, inside) for s in bmo_today)
    assert not any(monday.event_passed(s, inside.replace(hour=8)) for s in bmo_today)


# -- the in-process transport ----------------------------------------------------------------------


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fake_mono() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def client_factory(
    market: DemoMarket, fake_mono: FakeMonotonic
) -> tuple[DemoTransport, httpx.AsyncClient]:
    transport = DemoTransport(market, lambda: NOW, monotonic=fake_mono)
    headers = {"Authorization": "Bearer t", "Accept": "application/json"}
    return transport, httpx.AsyncClient(transport=transport, headers=headers)


async def test_transport_serves_both_apis(
    client_factory: tuple[DemoTransport, httpx.AsyncClient],
) -> None:
    transport, client = client_factory
    async with client:
        r = await client.get(f"{DEMO_TRADIER_BASE}/markets/quotes", params={"symbols": "AAPL"})
        assert r.status_code == 200
        assert r.json()["quotes"]["quote"]["symbol"] == "AAPL"
        r = await client.post(f"{DEMO_TRADIER_BASE}/markets/quotes", data={"symbols": "AAPL,MSFT"})
        assert len(r.json()["quotes"]["quote"]) == 2
        r = await client.get(DEMO_AV_BASE, params={"function": "OVERVIEW", "symbol": "KO",
                                                   "apikey": "demo"})  # fmt: skip
        assert r.json()["Symbol"] == "KO"
        r = await client.get(DEMO_AV_BASE, params={"function": "OVERVIEW", "symbol": "KO"})
        assert "apikey is invalid or missing" in r.json()["Error Message"]
        r = await client.get(f"{DEMO_TRADIER_BASE}/markets/clock", headers={"Accept": "*/*"})
        assert r.status_code == 200
        assert r.text.startswith("<?xml")
        r = await client.get(f"{DEMO_TRADIER_BASE}/markets/clock", headers={"Authorization": ""})
        assert r.status_code == 401
        assert r.json()["fault"]["detail"]["errorcode"].endswith("invalid_access_token")
    stats = transport.stats()
    assert stats.requests["/tradier/v1/markets/quotes"] == 2
    assert stats.requests["/alphavantage/query"] == 2


async def test_transport_rate_limit_window(market: DemoMarket, fake_mono: FakeMonotonic) -> None:
    faults = FaultConfig(tradier_limit_per_min=3)
    transport = DemoTransport(market, lambda: NOW, faults=faults, monotonic=fake_mono)
    url = f"{DEMO_TRADIER_BASE}/markets/clock"
    headers = {"Authorization": "Bearer t", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=transport, headers=headers) as client:
        used = []
        for _ in range(3):
            r = await client.get(url)
            assert r.status_code == 200
            used.append(int(r.headers["X-Ratelimit-Used"]))
            assert int(r.headers["X-Ratelimit-Used"]) + int(r.headers["X-Ratelimit-Available"]) == 3
        assert used == [1, 2, 3]
        fake_mono.t += 10.0
        r = await client.get(url)
        assert r.status_code == 429
        assert r.headers["X-Ratelimit-Available"] == "0"
        expiry_ms = int(r.headers["X-Ratelimit-Expiry"])
        assert expiry_ms == round((NOW + dt.timedelta(seconds=50)).timestamp() * 1000)
        fake_mono.t += 50.0  # the fixed window started with the first request: now expired
        r = await client.get(url)
        assert r.status_code == 200
        assert r.headers["X-Ratelimit-Used"] == "1"
    assert transport.stats().rate_limited == 1


async def test_transport_alpha_vantage_burst_and_daily_quota(
    market: DemoMarket, fake_mono: FakeMonotonic
) -> None:
    faults = FaultConfig(av_daily_quota=3, av_burst_per_s=2)
    transport = DemoTransport(market, lambda: NOW, faults=faults, monotonic=fake_mono)
    params = {"function": "OVERVIEW", "symbol": "KO", "apikey": "k"}
    async with httpx.AsyncClient(transport=transport) as client:
        bodies = [(await client.get(DEMO_AV_BASE, params=params)).json() for _ in range(3)]
        assert "Symbol" in bodies[0]
        assert "Symbol" in bodies[1]
        assert "spreading out" in bodies[2]["Information"]
        fake_mono.t += 1.5
        assert "Symbol" in (await client.get(DEMO_AV_BASE, params=params)).json()
        fake_mono.t += 1.5
        r = await client.get(DEMO_AV_BASE, params=params)
        assert r.status_code == 200
        assert "25 requests per day" not in r.json()["Information"]
        assert "3 requests per day" in r.json()["Information"]


async def test_transport_legacy_note_throttle(market: DemoMarket, fake_mono: FakeMonotonic) -> None:
    faults = FaultConfig(av_burst_per_s=1, av_legacy_note=True)
    transport = DemoTransport(market, lambda: NOW, faults=faults, monotonic=fake_mono)
    params = {"function": "OVERVIEW", "symbol": "KO", "apikey": "k"}
    async with httpx.AsyncClient(transport=transport) as client:
        assert "Symbol" in (await client.get(DEMO_AV_BASE, params=params)).json()
        body = (await client.get(DEMO_AV_BASE, params=params)).json()
    assert list(body) == ["Note"]
    assert "call frequency" in body["Note"]


async def test_transport_injected_faults(market: DemoMarket) -> None:
    transport = DemoTransport(market, lambda: NOW, faults=FaultConfig(reset_rate=1.0))
    url = f"{DEMO_TRADIER_BASE}/markets/clock"
    headers = {"Authorization": "Bearer t", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=transport, headers=headers) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url)
        transport.set_faults(FaultConfig(error_rate=1.0))
        assert (await client.get(url)).status_code in (500, 502, 503, 504)
        transport.set_faults(FaultConfig(malformed_rate=1.0, seed=3))
        for _ in range(4):
            r = await client.get(url)
            assert r.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                json.loads(r.text)
        transport.set_faults(FaultConfig())
        transport.set_down(True)
        assert (await client.get(url)).status_code == 503
        transport.set_down(False)
        assert (await client.get(url)).status_code == 200


async def test_transport_market_factory_follows_the_clock() -> None:
    built: list[dt.date] = []

    def factory(day: dt.date) -> DemoMarket:
        built.append(day)
        return DemoMarket(day)

    now = [NOW]
    transport = DemoTransport(factory, lambda: now[0])
    headers = {"Authorization": "Bearer t", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=transport, headers=headers) as client:
        await client.get(f"{DEMO_TRADIER_BASE}/markets/clock")
        await client.get(f"{DEMO_TRADIER_BASE}/markets/clock")
        now[0] = NOW + dt.timedelta(days=1)
        await client.get(f"{DEMO_TRADIER_BASE}/markets/clock")
    assert built == [AS_OF, AS_OF + dt.timedelta(days=1)]


def test_fault_config_validates() -> None:
    with pytest.raises(ValueError):
        FaultConfig(error_rate=1.5)
    with pytest.raises(ValueError):
        FaultConfig(latency_ms=-1)
    with pytest.raises(ValueError):
        FaultConfig(tradier_limit_per_min=-1)


def test_a_quote_request_prices_its_contracts_exactly_as_the_whole_chain(
    market: DemoMarket,
) -> None:
    """Option quotes price only the strikes asked for; the contracts must be the chain's own
    (same prices, sizes, greeks: every random draw is still made for the whole chain)."""
    from ivcrush_tui.providers.demo.tradier_wire import tradier_quotes

    sym = "AAPL"
    exp = market.expirations(sym)[1]
    full = market.chain(sym, exp, NOW)
    mid = len(full) // 4  # a call near the middle of the strikes
    picked = [full[mid], full[mid + 1], full[len(full) // 2 + mid]]  # two calls and a put
    subset = market.chain(sym, exp, NOW, {round(c.strike * 1000) for c in picked})
    by_symbol = {c.symbol: c for c in full}
    assert subset  # puts and calls of the picked strikes
    assert all(by_symbol[c.symbol] == c for c in subset)
    assert {c.symbol for c in picked} <= {c.symbol for c in subset}

    body = tradier_quotes(market, [picked[0].symbol, "AAPL", "AAPL991231C00001000"], True, NOW)
    quotes = body["quotes"]["quote"]
    assert [q["symbol"] for q in quotes] == [picked[0].symbol, "AAPL"]
    assert quotes[0]["bid"] == picked[0].bid
    assert quotes[0]["ask"] == picked[0].ask
    assert body["quotes"]["unmatched_symbols"]["symbol"] == "AAPL991231C00001000"
