"""Enter on a Results decision (issue 13) with the FakeBackend: the real drill-down (TickerScreen)
frozen on the decision's exact analysis when the store kept it (schema v11): its figures, a
read-only banner, no fetch, no refresh, no streamed or scanned update; Escape back to Results
with the cursor kept. Without a kept analysis (an older row, a damaged value, a failed read):
the snapshot view of the stored object, as before."""

from __future__ import annotations

import dataclasses
import datetime as dt

from textual.pilot import Pilot

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.vrp import VrpResult
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.decision_view import outcome_text
from ivcrush_tui.app.formatting import fmt_num, fmt_pct
from ivcrush_tui.app.screens.results import ResultsScreen
from ivcrush_tui.app.screens.snapshot import SnapshotScreen
from ivcrush_tui.app.screens.ticker import TickerScreen
from ivcrush_tui.calendar import NY
from tests.ui.fake_backend import FakeBackend, FakeStore
from tests.ui.fake_ledger import FakeLedger
from tests.ui.screen_text import ticker_panels
from tests.ui.snapshot_steps import settle

SIZE = (120, 40)


def _app(backend: FakeBackend) -> IvCrushApp:
    app = IvCrushApp(backend, refresh_s=3600)
    app.animation_level = "none"
    return app


def _figures(a: Analysis) -> tuple[str, str, str]:
    """The implied move, the tiering ratio with its tier, and the action, as the panels show
    them."""
    assert isinstance(a.implied, ImpliedMove)
    assert isinstance(a.vrp, VrpResult)
    assert a.tier is not None
    assert a.recommendation is not None
    implied = f"±{fmt_pct(a.implied.implied_move_pct)}"
    vrp = f"{fmt_num(a.vrp.tiering_ratio)} ({a.tier.value})"
    return implied, vrp, a.recommendation.action.value


async def _open_nvda(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    await pilot.press("down")  # NVDA, under CRM (newest first)
    await pilot.press("enter")
    await settle(pilot)


async def test_enter_opens_the_drilldown_frozen_on_the_decisions_analysis() -> None:
    ledger = FakeLedger()
    kept = ledger.keep_analysis("NVDA")
    fb = FakeBackend(FakeStore(watchlist=["NVDA", "AAPL"]), ledger=ledger)
    app = _app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await _open_nvda(pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        assert screen.decision is not None
        assert screen.decision.analysis is kept
        assert screen.analysis is kept
        nvda = next(r for r in ledger.rows if r.symbol == "NVDA")
        assert fb.analysis_reads == [nvda.snapshot_id]
        panels = ticker_panels(screen)
        implied, vrp, action = _figures(kept)
        assert implied in panels["straddle"]
        assert "±8.40%" in panels["straddle"]
        assert vrp in panels["stats"]
        assert action in panels["recommendation"]
        at = kept.as_of.astimezone(NY)
        assert f"as of {at:%H:%M} ET" in panels["title"]
        banner = panels["decision-banner"]
        assert "DECISION of Wed 2026-11-18 · as of 15:58:00 ET · READ-ONLY" in banner
        assert "Outcome: settled · hit ✓ · close +3.10% gap +4.00%" in banner
        assert "P&L +305 $/contract (estimated exit)" in banner
        # Nothing was fetched for it, and the refresh key is not offered.
        assert screen.fetches == 0
        assert fb.analyze_calls == []
        assert screen.check_action("refresh", ()) is False
        assert "ticker.refresh" not in {b.binding.id for b in app.active_bindings.values()}

        # A streamed re-price of NVDA and a rescan (`r` falls through to the app's Rescan):
        # the app takes both, the frozen drill-down shows neither.
        assert kept.spot is not None
        live = dataclasses.replace(kept, as_of=fb.now(), spot=kept.spot * 1.2)
        fb.push_live(live)
        scans = app.scan_count
        await pilot.press("r")
        screen.action_refresh()  # however the action comes (a palette, a keymap): no fetch
        await settle(pilot)
        await pilot.pause(0.4)  # past the live redraw throttle
        assert app.scan_count == scans + 1
        assert app.results["NVDA"] is not kept
        assert app.results["NVDA"].as_of > kept.as_of
        assert fb.analyze_calls == []
        assert screen.fetches == 0
        assert screen.analysis is kept
        assert ticker_panels(screen) == panels

        await pilot.press("escape")
        await settle(pilot)
        results = app.screen
        assert isinstance(results, ResultsScreen)
        row = results.highlighted()
        assert row is not None
        assert row.symbol == "NVDA"


async def test_a_row_without_a_kept_analysis_opens_the_snapshot_view() -> None:
    ledger = FakeLedger()  # no exact analysis kept: rows stored before schema v11
    fb = FakeBackend(ledger=ledger)
    app = _app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await _open_nvda(pilot)
        assert isinstance(app.screen, SnapshotScreen)
        assert app.screen.row.symbol == "NVDA"
        assert len(fb.analysis_reads) == 1  # asked once, then the fallback


async def test_an_unreadable_kept_analysis_falls_back_to_the_snapshot_view() -> None:
    ledger = FakeLedger()
    ledger.keep_analysis("NVDA")
    nvda = next(r for r in ledger.rows if r.symbol == "NVDA")
    assert nvda.snapshot_id is not None
    ledger.corrupt.add(nvda.snapshot_id)  # the backend reads None (and logs it once)
    app = _app(FakeBackend(ledger=ledger))
    async with app.run_test(size=SIZE) as pilot:
        await _open_nvda(pilot)
        assert isinstance(app.screen, SnapshotScreen)


async def test_a_failed_read_falls_back_without_a_crash() -> None:
    class Failing(FakeBackend):
        async def decision_analysis(self, snapshot_id: int) -> Analysis | None:
            raise OSError("disk I/O error")

    ledger = FakeLedger()
    ledger.keep_analysis("NVDA")
    app = _app(Failing(ledger=ledger))
    async with app.run_test(size=SIZE) as pilot:
        await _open_nvda(pilot)
        assert isinstance(app.screen, SnapshotScreen)


async def test_a_live_drilldown_still_follows_its_ticker() -> None:
    """The same screen unfrozen (from the watchlist) still takes streamed updates."""
    fb = FakeBackend(FakeStore(watchlist=["NVDA"]))
    app = _app(fb)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_ticker("NVDA")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TickerScreen)
        assert screen.decision is None
        before = screen.analysis
        assert before is not None
        assert screen.check_action("refresh", ()) is True
        moved = dataclasses.replace(before, as_of=before.as_of + dt.timedelta(seconds=5))
        fb.push_live(moved)
        await pilot.pause(0.4)
        await settle(pilot)
        assert screen.analysis is moved


def test_the_banner_says_why_an_open_or_void_decision_has_no_outcome() -> None:
    rows = {r.symbol: r for r in FakeLedger().rows}
    assert outcome_text(rows["CRM"]) == "Outcome: open · bar_missing: no daily bar for 2026-11-23"
    assert outcome_text(rows["XOM"]) == (
        "Outcome: void · event moved from 2026-10-31 to 2026-11-07"
    )
    assert outcome_text(rows["MSFT"]) == (
        "Outcome: settled · hit ✗ · close +6.80% gap +5.10% · P&L -212 $/contract (estimated exit)"
    )
