"""The always-visible status bar: market clock and session, entry-window countdown, DEMO/LIVE
(REPLAY and the recorded day in a replay, whose clock is the recording's), the market stream
(`LIVE` with its events/s, or `POLL`), provider badges coloured by breaker state, Alpha Vantage
quota left and the last scan.

It reads the app's backend about once a second (`status()` is synchronous and cheap) and never the
wall clock. Low-priority parts are dropped when the terminal is narrow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ivcrush_tui.app.backend import Backend, StatusSnapshot
from ivcrush_tui.app.formatting import BREAKER_GLYPH, BREAKER_ROLE, fmt_clock_et, fmt_duration
from ivcrush_tui.calendar import MarketState, TradingCalendar

_SESSION_TEXT = {
    MarketState.PREMARKET: "pre-market",
    MarketState.REGULAR: "open",
    MarketState.AFTER_HOURS: "after hours",
    MarketState.CLOSED: "closed",
}
_SHORT_NAMES = {"tradier": "TR", "alphavantage": "AV"}


class StatusSource(Protocol):
    """What the bar needs from the app (IvCrushApp implements it)."""

    backend: Backend

    @property
    def scan_progress(self) -> tuple[int, int] | None: ...

    @property
    def backend_ready(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Part:
    text: Text
    priority: int  # higher is dropped first


def _seg(text: str, color: str | None = None, *, bold: bool = False, reverse: bool = False) -> Text:
    style = Style(color=color, bold=bold, reverse=reverse)
    return Text(text, style=style)


def status_line(
    now: dt.datetime,
    cal: TradingCalendar,
    snap: StatusSnapshot,
    scan_progress: tuple[int, int] | None,
    variables: Mapping[str, str],
    width: int,
) -> Text:
    """The bar's content for `width` cells (pure: everything it shows is a parameter)."""
    parts: list[_Part] = []
    state = cal.market_state(now)
    parts.append(_Part(_seg(f"{fmt_clock_et(now, seconds=True)} ET", bold=True), 0))
    parts.append(
        _Part(
            _seg(
                _SESSION_TEXT[state],
                variables.get("gain") if state is MarketState.REGULAR else None,
            ),
            2,
        )
    )
    mins = cal.minutes_to_entry_window(now)
    if mins <= 0:
        _, end = cal.next_entry_window(now)
        left = fmt_duration((end - now).total_seconds())
        parts.append(_Part(_seg(f"ENTRY WINDOW {left} left", variables.get("gain"), bold=True), 0))
    else:
        parts.append(_Part(_seg(f"entry in {fmt_duration(mins * 60)}"), 1))
    if snap.replay:
        mode = f" {snap.replay}{' DEMO' if snap.demo else ''} "
        parts.append(_Part(_seg(mode, variables.get("accent"), bold=True, reverse=True), 0))
    elif snap.demo:
        parts.append(_Part(_seg(" DEMO ", variables.get("warning"), bold=True, reverse=True), 0))
    else:
        parts.append(_Part(_seg(" LIVE ", variables.get("gain"), bold=True, reverse=True), 0))
    if snap.stream_mode == "LIVE":
        rate = f" {snap.events_per_s:.0f}/s" if snap.events_per_s >= 1 else ""
        parts.append(_Part(_seg(f"LIVE{rate}", variables.get("gain"), bold=True), 0))
    elif snap.stream_mode is not None:
        parts.append(_Part(_seg("POLL", variables.get("warning"), bold=True), 0))
    badges = Text()
    short = Text()
    for i, b in enumerate(snap.badges):
        glyph = BREAKER_GLYPH.get(b.breaker, "?")
        role = (
            BREAKER_ROLE.get(b.breaker, "warning") if b.ok or b.breaker != "closed" else "warning"
        )
        color = variables.get(role)
        gap = " " if i else ""
        badges.append(gap)
        badges.append(f"{glyph} {b.name}", style=Style(color=color))
        short.append(gap)
        short.append(
            f"{glyph}{_SHORT_NAMES.get(b.name, b.name[:2].upper())}", style=Style(color=color)
        )
    if snap.badges:
        parts.append(_Part(badges, 3))
    if snap.av_quota_left is not None:
        total = f"/{snap.av_quota_total}" if snap.av_quota_total is not None else ""
        low = snap.av_quota_left <= 2
        parts.append(
            _Part(
                _seg(f"AV {snap.av_quota_left}{total}", variables.get("loss") if low else None), 4
            )
        )
    if scan_progress is not None:
        done, total_n = scan_progress
        parts.append(_Part(_seg(f"scanning {done}/{total_n}", variables.get("accent")), 1))
    elif snap.last_scan_at is not None:
        parts.append(_Part(_seg(f"scan {fmt_clock_et(snap.last_scan_at)}"), 5))
    else:
        parts.append(_Part(_seg("no scan yet", variables.get("stale")), 5))

    sep = Text(" │ ", style=Style(dim=True))

    def join(ps: list[_Part], compact_badges: bool) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, p in enumerate(ps):
            if i:
                out.append_text(sep)
            out.append_text(short if compact_badges and p.text is badges else p.text)
        return out

    kept = list(parts)
    line = join(kept, False)
    if line.cell_len > width:
        line = join(kept, True)
    while line.cell_len > width and any(p.priority > 0 for p in kept):
        victim = max(kept, key=lambda p: p.priority)
        kept.remove(victim)
        line = join(kept, True)
    return line


class StatusBar(Static):
    """One line at the bottom of every screen, above the footer."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(1.0, self.refresh_status)
        self.app.theme_changed_signal.subscribe(self, lambda _t: self.refresh_status())
        scan_signal = getattr(self.app, "scan_signal", None)
        if scan_signal is not None:
            scan_signal.subscribe(self, lambda _s: self.refresh_status())

    def on_resize(self) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        source: StatusSource | None = self.app if hasattr(self.app, "backend") else None  # type: ignore[assignment]
        if source is None:
            return
        try:
            backend = source.backend
            if not source.backend_ready:
                clock = fmt_clock_et(backend.now(), seconds=True)
                self.update(Text(f"{clock} ET │ starting…", style="bold"))
                return
            line = status_line(
                backend.now(),
                backend.calendar,
                backend.status(),
                source.scan_progress,
                self.app.theme_variables,
                max(10, self.size.width - 2),
            )
        except Exception as exc:  # the bar must never take the app down
            line = Text(f"status unavailable: {type(exc).__name__}", style="bold")
        self.update(line)
