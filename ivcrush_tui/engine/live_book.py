"""The latest streamed quotes of the tickers being streamed (issue 14): each stream event is
applied to the stock quote of its underlying or to the option leg it names, and the ticker whose
figures it may move is reported, so only those are re-priced.

Prices in dollars per share; instants aware UTC. No I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from ivcrush_tui.analytics.quotes import spot_price
from ivcrush_tui.analytics.reprice import SubscriptionPlan, quoted
from ivcrush_tui.domain import OptionQuote, StockQuote
from ivcrush_tui.providers.tradier_events import (
    StreamEvent,
    StreamQuote,
    StreamSummary,
    StreamTimesale,
    StreamTrade,
)

__all__ = ["QuoteBook"]


class QuoteBook:
    """Latest quotes per streamed symbol, starting from each ticker's REST quotes."""

    def __init__(self) -> None:
        self.stocks: dict[str, StockQuote] = {}  # ticker -> its stock quote
        self.legs: dict[str, OptionQuote] = {}  # OCC symbol -> the leg as last quoted
        self.quote_time: dict[str, dt.datetime] = {}  # ticker -> newest quote applied
        self._owner: dict[str, str] = {}  # OCC symbol -> ticker
        self.applied = 0  # events that changed a quote
        self.ignored = 0  # events for symbols not tracked (or that changed nothing)

    def track(self, plan: SubscriptionPlan, stock: StockQuote) -> None:
        """Follow the plan's symbols. Legs already quoted keep their streamed quote; the stock
        keeps its streamed fields when newer than the REST quote."""
        self.untrack(plan.symbol, keep_stock=True)
        if plan.symbol not in self.stocks:
            self.stocks[plan.symbol] = stock
        for occ, opt in plan.contracts.items():
            self._owner[occ] = plan.symbol
            cur = self.legs.get(occ)
            self.legs[occ] = opt if cur is None else quoted(opt, cur.bid, cur.ask)

    def untrack(self, ticker: str, *, keep_stock: bool = False) -> None:
        for occ in [o for o, t in self._owner.items() if t == ticker]:
            del self._owner[occ]
            self.legs.pop(occ, None)
        if not keep_stock:
            self.stocks.pop(ticker, None)
            self.quote_time.pop(ticker, None)

    def legs_of(self, plan: SubscriptionPlan) -> Mapping[str, OptionQuote]:
        return {occ: self.legs.get(occ, opt) for occ, opt in plan.contracts.items()}

    def apply(self, event: StreamEvent, at: dt.datetime) -> str | None:
        """Apply one event received at `at`; the ticker whose figures it may move, else None."""
        sym = event.symbol
        stock = self.stocks.get(sym)
        if stock is not None:
            new = _stock_with(stock, event, at)
            if new is stock:
                self.ignored += 1
                return None
            self.stocks[sym] = new
            self.applied += 1
            self.quote_time[sym] = _instant(event, at)
            return sym if spot_price(new) != spot_price(stock) else None
        ticker = self._owner.get(sym)
        if ticker is None or not isinstance(event, StreamQuote | StreamTimesale):
            self.ignored += 1
            return None
        leg = self.legs[sym]
        bid = leg.bid if event.bid is None else event.bid
        ask = leg.ask if event.ask is None else event.ask
        new_leg = quoted(leg, bid, ask)
        if new_leg is leg:
            self.ignored += 1
            return None
        self.legs[sym] = new_leg
        self.applied += 1
        self.quote_time[ticker] = _instant(event, at)
        return ticker


def _stock_with(stock: StockQuote, event: StreamEvent, at: dt.datetime) -> StockQuote:
    """The stock quote after `event` (the same object when nothing changed)."""
    changes: dict[str, object] = {}
    if isinstance(event, StreamQuote | StreamTimesale):
        if event.bid is not None and event.bid != stock.bid:
            changes["bid"] = event.bid
        if event.ask is not None and event.ask != stock.ask:
            changes["ask"] = event.ask
    if isinstance(event, StreamTrade):
        price = event.last if event.last is not None else event.price
        if price != stock.last:
            changes["last"] = price
            changes["timestamp"] = event.at or at
    elif isinstance(event, StreamTimesale) and event.last is not None and event.last != stock.last:
        changes["last"] = event.last
        changes["timestamp"] = event.at or at
    elif isinstance(event, StreamSummary) and event.prev_close not in (None, stock.prev_close):
        changes["prev_close"] = event.prev_close
    if not changes:
        return stock
    return dataclasses.replace(stock, **changes)  # type: ignore[arg-type]


def _instant(event: StreamEvent, at: dt.datetime) -> dt.datetime:
    """When the quote was set: the event's own instant when it carries one, else `at`."""
    if isinstance(event, StreamQuote):
        times = [t for t in (event.bid_at, event.ask_at) if t is not None]
        return max(times) if times else at
    if isinstance(event, StreamTrade | StreamTimesale) and event.at is not None:
        return event.at
    return at
