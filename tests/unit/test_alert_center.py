"""AlertCenter: baseline per symbol, de-duplication (memory and store), listeners, the command
queue (a stub runner here; the real subprocess is in tests/integration/test_alerts.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from ivcrush_tui.alerts.center import AlertCenter
from ivcrush_tui.alerts.command import CommandOutcome
from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.config import AlertRule, AlertSettings, RuleKind
from ivcrush_tui.domain import ErrorCode, IvCrushError
from tests.ui.fake_backend import FIXED_NOW, SCRIPTS, build_analysis, error_analysis

CAL = TradingCalendar()


def analysis(implied_pct: float, symbol: str = "MSFT") -> Analysis:
    script = dataclasses.replace(SCRIPTS[symbol], implied_pct=implied_pct)
    return build_analysis(script, FIXED_NOW, CAL)


class Harness:
    def __init__(self, settings: AlertSettings, *, store_says_new: bool = True) -> None:
        self.stored: list[Alert] = []
        self.heard: list[Alert] = []
        self.sent: list[tuple[tuple[str, ...], bytes, float]] = []
        self.store_says_new = store_says_new
        self.store_down = False
        self.release = asyncio.Event()
        self.release.set()
        self.center = AlertCenter(
            settings,
            calendar=CAL,
            clock=lambda: FIXED_NOW,
            record=self.record,
            mode="demo",
            runner=self.run,
        )
        self.center.set_watchlist(["MSFT"])
        self.center.subscribe(self.heard.append)

    async def record(self, a: Alert) -> bool:
        if self.store_down:
            raise IvCrushError(ErrorCode.STORAGE, "disk full")
        self.stored.append(a)
        return self.store_says_new

    async def run(self, argv: tuple[str, ...], payload: bytes, limit_s: float) -> CommandOutcome:
        await self.release.wait()
        self.sent.append((argv, payload, limit_s))
        return CommandOutcome(0)


GOOD = AlertSettings(rules=(AlertRule(RuleKind.TIER, tier="good"),))


async def test_a_rise_fires_once_and_reaches_the_listeners() -> None:
    h = Harness(GOOD)
    assert await h.center.observe(analysis(5.0)) == []  # baseline (marginal)
    fired = await h.center.observe(analysis(6.5))  # 6.5 / 3.82 = 1.70: good
    assert [a.message for a in fired] == ["MSFT rose to good (VRP 1.70 straddle)"]
    assert h.heard == fired
    assert h.stored == fired
    # Down and up again in the same window: not repeated.
    await h.center.observe(analysis(5.0))
    assert await h.center.observe(analysis(6.5)) == []
    assert len(h.heard) == 1


async def test_an_error_in_between_keeps_the_baseline() -> None:
    h = Harness(GOOD)
    await h.center.observe(analysis(5.0))
    await h.center.observe(error_analysis("MSFT", FIXED_NOW, "timeout", "slow"))
    assert len(await h.center.observe(analysis(6.5))) == 1


async def test_what_the_store_already_holds_is_not_delivered_again() -> None:
    h = Harness(GOOD, store_says_new=False)  # fired before a restart
    await h.center.observe(analysis(5.0))
    assert await h.center.observe(analysis(6.5)) == []
    assert h.heard == []
    assert len(h.stored) == 1


async def test_a_store_failure_still_delivers_the_alert() -> None:
    h = Harness(GOOD)
    h.store_down = True
    await h.center.observe(analysis(5.0))
    assert len(await h.center.observe(analysis(6.5))) == 1
    assert len(h.heard) == 1


async def test_the_command_runs_in_the_background_one_at_a_time() -> None:
    settings = dataclasses.replace(GOOD, command=("notify", "x"), command_timeout_s=2.0)
    h = Harness(settings)
    h.center.set_watchlist(["MSFT", "AAPL"])
    h.release.clear()  # the command "hangs"
    for sym, low, high in (("MSFT", 5.0, 6.5), ("AAPL", 1.0, 20.0)):
        await h.center.observe(analysis(low, sym))
        fired = await h.center.observe(analysis(high, sym))
        assert fired, sym  # observe returned although the command has not run
    assert h.sent == []
    h.release.set()
    await h.center.drain()
    assert [s[0] for s in h.sent] == [("notify", "x"), ("notify", "x")]
    assert h.sent[0][2] == 2.0
    assert b'"symbol": "MSFT"' in h.sent[0][1]
    assert h.sent[0][1].endswith(b"\n")
    await h.center.aclose()


async def test_breakers_fire_once_per_opening_day() -> None:
    h = Harness(AlertSettings(rules=(AlertRule(RuleKind.BREAKER),)))
    assert await h.center.observe_breakers({"tradier": "closed", "alphavantage": "closed"}) == []
    opened = await h.center.observe_breakers({"tradier": "open", "alphavantage": "closed"})
    assert [(a.symbol, a.title) for a in opened] == [("tradier", "Provider down")]
    await h.center.observe_breakers({"tradier": "half_open", "alphavantage": "closed"})
    assert await h.center.observe_breakers({"tradier": "open", "alphavantage": "closed"}) == []
    assert opened[0].window == dt.date(2026, 11, 23)


class _BrokenCalendar(TradingCalendar):
    def entry_window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        raise RuntimeError("calendar bug")


async def test_a_failing_rule_never_breaks_the_caller() -> None:
    settings = AlertSettings(rules=(AlertRule(RuleKind.ENTRY_WINDOW),))
    h = Harness(settings)
    broken = AlertCenter(
        settings, calendar=_BrokenCalendar(), clock=lambda: FIXED_NOW, record=h.record, mode="demo"
    )
    broken.set_watchlist(["MSFT"])
    assert await broken.observe(analysis(6.5)) == []  # logged, not raised


# -- as the engine's observer (engine/observers.py): streamed re-prices reach the rules --------


async def test_as_an_engine_observer_analyses_go_through_the_rules_in_order() -> None:
    from ivcrush_tui.engine.observers import Observers

    h = Harness(GOOD)
    observers = Observers()
    observers.add(h.center)
    # Synchronous calls, as the live monitor makes them: nothing waits for the store.
    observers.analysis(analysis(5.0))  # baseline (marginal)
    observers.analysis(analysis(6.5))  # good: the rise
    observers.analysis(analysis(5.0))  # down again: order matters
    assert h.heard == []
    await h.center.idle()
    assert [a.message for a in h.heard] == ["MSFT rose to good (VRP 1.70 straddle)"]
    await h.center.aclose()


async def test_a_backlog_that_falls_behind_drops_the_oldest_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ivcrush_tui.alerts import center as center_module

    h = Harness(GOOD)
    blocked = asyncio.Event()

    async def slow_record(a: Alert) -> bool:
        await blocked.wait()
        return True

    h.center._record = slow_record
    h.center.on_analysis(analysis(5.0))
    h.center.on_analysis(analysis(6.5))  # fires, and its record waits
    await asyncio.sleep(0.01)
    for _ in range(center_module.MAX_BACKLOG + 3):
        h.center.on_analysis(analysis(5.0))
    assert h.center.dropped == 3
    assert "3 analyses dropped" not in caplog.text  # logged once at the first drop
    assert "1 analyses dropped" in caplog.text
    blocked.set()
    await h.center.idle()
    assert len(h.heard) == 1
    await h.center.aclose()
