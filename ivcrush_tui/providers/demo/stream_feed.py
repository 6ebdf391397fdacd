"""The demo market's streaming events (reference/provider-apis.md §1.11): the lines one stream
connection sends, from the seeded world at the instants it is asked for.

Underlyings tick along the day's seeded intraday path (`DemoMarket.spot`, with the name's stock
half-spread around it). Options are re-priced from the chain model (`DemoMarket.chain`, only the
subscribed strikes) at most every `reprice_s` seconds of market time per (underlying,
expiration): pricing a chain costs ~1.5 ms, so a 1,000 events/s stream re-prices each group about
once a second and repeats the last quote in between (Tradier, too, repeats unchanged sides).

Wire shapes follow the documented examples: quote numbers as JSON numbers with epoch-ms dates as
strings; trade and summary numbers as strings. Unknown symbols produce no events. Prices in
dollars per share; instants aware UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ivcrush_tui.providers.demo.chains import ContractQuote, ms
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.symbols import parse_occ

__all__ = ["ALL_FILTERS", "StreamConfig", "StreamFeed"]

ALL_FILTERS: Final = ("quote", "trade", "summary", "timesale")
# Event kinds cycled per symbol (summary is sent once, when the symbol is subscribed).
_CYCLE: Final = ("quote", "trade", "timesale")
_EXCH: Final = "ABCHIMNPQWXZ"
# Malformed lines injected by `malformed_every`: a string for a number, an unknown type, a cut
# line, an HTML gateway page, a JSON array.
_MALFORMED: Final = (
    '{{"type":"quote","symbol":"{s}","bid":"n/a","ask":"1.00x"}}',
    '{{"type":"flux","symbol":"{s}","bid":1.0}}',
    '{{"type":"trade","symbol":"{s}","pri',
    "<html><body>502 Bad Gateway</body></html>",
    "[1,2,3]",
)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """How the demo streams, and the faults it injects (for tests and benchmarks).

    rate_per_s: data events per second across all symbols of a connection. keepalive_s: a bare
    line after this long without one. tick_s: pacing step (real seconds): events due are sent in
    one chunk per step. reprice_s: option re-pricing interval (market seconds).
    keepalive_only: send keep-alives and nothing else. malformed_every: every n-th line is
    malformed (0: never). session_status: answer the session request with this HTTP status
    (e.g. 401) instead. drop_after_events: end the body after this many events (None: never);
    drop_reset: drop the connection abruptly instead of ending the body."""

    rate_per_s: float = 20.0
    keepalive_s: float = 5.0
    tick_s: float = 0.02
    reprice_s: float = 1.0
    keepalive_only: bool = False
    malformed_every: int = 0
    session_status: int | None = None
    drop_after_events: int | None = None
    drop_reset: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.rate_per_s <= 100_000:
            raise ValueError(f"rate_per_s must be in (0, 100000], got {self.rate_per_s}")
        for name in ("keepalive_s", "tick_s", "reprice_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.malformed_every < 0:
            raise ValueError("malformed_every must be >= 0")
        if self.drop_after_events is not None and self.drop_after_events < 0:
            raise ValueError("drop_after_events must be >= 0 or None")
        if self.session_status is not None and not 100 <= self.session_status <= 599:
            raise ValueError("session_status must be an HTTP status")


@dataclass(frozen=True, slots=True)
class _Stock:
    wire: str  # as subscribed (BRK/B)
    symbol: str  # canonical (BRK.B)


@dataclass(frozen=True, slots=True)
class _Option:
    wire: str  # the OCC symbol
    underlying: str
    expiration: dt.date
    strike_milli: int


class StreamFeed:
    """The events of one connection. `market_at(now)` is the market to price at `now` (the demo
    endpoint's day cache); symbols in the Tradier spelling; filters: the event kinds asked for
    (empty: all)."""

    def __init__(
        self,
        market_at: Callable[[dt.datetime], DemoMarket],
        symbols: Sequence[str],
        filters: Sequence[str],
        config: StreamConfig,
        now: dt.datetime,
    ) -> None:
        self._market_at = market_at
        self._config = config
        wanted = {f for f in filters if f in ALL_FILTERS} or set(ALL_FILTERS)
        self._summary = "summary" in wanted
        self._cycle = tuple(k for k in _CYCLE if k in wanted)
        market = market_at(now)
        self._items: list[_Stock | _Option] = []
        seen: set[str] = set()
        for raw in symbols:
            wire = raw.strip().upper()
            if not wire or wire in seen:
                continue
            seen.add(wire)
            item = _resolve(market, wire)
            if item is not None:  # unknown symbols silently produce no events (§1.11)
                self._items.append(item)
        self._groups: dict[tuple[str, dt.date], set[int]] = {}
        for item in self._items:
            if isinstance(item, _Option):
                key = (item.underlying, item.expiration)
                self._groups.setdefault(key, set()).add(item.strike_milli)
        self._priced: dict[tuple[str, dt.date], tuple[dt.datetime, dict[str, ContractQuote]]] = {}
        self._spots: dict[str, float] = {}
        self._spots_at: dt.datetime | None = None
        self._next = 0
        self._kinds = [0] * len(self._items)
        self._lines = 0
        self._volume = [0] * len(self._items)

    @property
    def symbol_count(self) -> int:
        """Symbols that will tick (the known ones)."""
        return len(self._items)

    def summaries(self, now: dt.datetime) -> list[bytes]:
        """The summary line of every symbol (sent when the stream opens), if asked for."""
        if not self._summary:
            return []
        market = self._market_at(now)
        out: list[bytes] = []
        for item in self._items:
            fields: tuple[float | None, ...]
            if isinstance(item, _Stock):
                q = market.stock_quote(item.symbol, now)
                fields = (q.open, q.high, q.low, q.prev_close)
            else:
                c = self._contract(item, now)
                if c is None:
                    continue
                fields = (c.open, c.high, c.low, c.prev_close)
            payload = {"type": "summary", "symbol": item.wire}
            for key, value in zip(("open", "high", "low", "prevClose"), fields, strict=True):
                if value is not None:
                    payload[key] = f"{value:.2f}"
            out.append(self._line(payload))
        return out

    def lines(self, count: int, now: dt.datetime) -> list[bytes]:
        """The next `count` data events at instant `now` (symbols round-robin, each cycling
        through the asked-for kinds)."""
        if not self._items or not self._cycle:
            return []
        out: list[bytes] = []
        for _ in range(count):
            i = self._next % len(self._items)
            self._next += 1
            item = self._items[i]
            kind = self._cycle[self._kinds[i] % len(self._cycle)]
            self._kinds[i] += 1
            every = self._config.malformed_every
            if every and (self._lines + 1) % every == 0:
                self._lines += 1
                bad = _MALFORMED[(self._lines // every) % len(_MALFORMED)]
                out.append(bad.format(s=item.wire).encode() + b"\n")
                continue
            payload = self._event(i, item, kind, now)
            if payload is not None:
                out.append(self._line(payload))
        return out

    # -- events --------------------------------------------------------------------------------

    def _line(self, payload: dict[str, Any]) -> bytes:
        self._lines += 1
        return json.dumps(payload, separators=(",", ":")).encode() + b"\n"

    def _event(self, i: int, item: _Stock | _Option, kind: str, now: dt.datetime) -> Any:
        stamp = str(ms(now))
        exch = _EXCH[(self._next * 7 + i) % len(_EXCH)]
        if isinstance(item, _Stock):
            spot = self._spot(item.symbol, now)
            half = self._market_at(now).profile(item.symbol).stock_half_spread
            bid, ask = round(spot - half, 2), round(spot + half, 2)
            if ask <= bid:
                ask = round(bid + 0.01, 2)
            last, size = spot, 100 * (1 + (self._next % 9))
        else:
            c = self._contract(item, now)
            if c is None:
                return None
            bid, ask = c.bid, c.ask
            last = c.last if c.last is not None else round((bid + ask) / 2, 2)
            size = 1 + self._next % 20
        if kind == "quote":
            return {
                "type": "quote",
                "symbol": item.wire,
                "bid": bid,
                "bidsz": 1 + (self._next * 3) % 40,
                "bidexch": exch,
                "biddate": stamp,
                "ask": ask,
                "asksz": 1 + (self._next * 5) % 40,
                "askexch": exch,
                "askdate": stamp,
            }
        self._volume[i] += size
        if kind == "trade":
            return {
                "type": "trade",
                "symbol": item.wire,
                "exch": exch,
                "price": f"{last:.2f}",
                "size": str(size),
                "cvol": str(self._volume[i]),
                "date": stamp,
                "last": f"{last:.2f}",
            }
        return {
            "type": "timesale",
            "symbol": item.wire,
            "exch": exch,
            "bid": f"{bid:.2f}",
            "ask": f"{ask:.2f}",
            "last": f"{last:.2f}",
            "size": str(size),
            "date": stamp,
            "seq": self._next,
            "flag": "",
            "cancel": False,
            "correction": False,
            "session": "normal",
        }

    def _spot(self, symbol: str, now: dt.datetime) -> float:
        """Spot at `now` (dollars), computed once per symbol and instant (a chunk's events
        share one instant)."""
        if now != self._spots_at:
            self._spots.clear()
            self._spots_at = now
        found = self._spots.get(symbol)
        if found is None:
            found = self._market_at(now).spot(symbol, now)
            self._spots[symbol] = found
        return found

    def _contract(self, item: _Option, now: dt.datetime) -> ContractQuote | None:
        """The contract's quote, re-priced (its whole subscribed group at once) when the last
        pricing is `reprice_s` old or from another day."""
        key = (item.underlying, item.expiration)
        found = self._priced.get(key)
        stale = found is None or (
            (now - found[0]).total_seconds() >= self._config.reprice_s
            or now.date() != found[0].date()
            or now < found[0]
        )
        if stale:
            market = self._market_at(now)
            chain = market.chain(item.underlying, item.expiration, now, self._groups[key])
            found = (now, {c.symbol: c for c in chain})
            self._priced[key] = found
        assert found is not None
        return found[1].get(item.wire)


def _resolve(market: DemoMarket, wire: str) -> _Stock | _Option | None:
    """A subscribed symbol as the market knows it, or None (unknown: no events)."""
    stock = market.normalize(wire)
    if stock is not None:
        return _Stock(wire, stock)
    parsed = parse_occ(wire)
    if parsed is None:
        return None
    root, expiration, _, strike = parsed
    underlying = market.symbol_for_root(root)
    if underlying is None or expiration not in market.expirations(underlying):
        return None
    milli = round(strike * 1000)
    if milli not in {round(k * 1000) for k in market.strikes(underlying, expiration)}:
        return None
    return _Option(wire, underlying, expiration, milli)
