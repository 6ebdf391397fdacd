"""A failed earnings-calendar request never reads as "no upcoming earnings" (issue 12, part 3).

Tradier is the demo market on a loopback server; Alpha Vantage is a scripted loopback server that
answers every request with one failure (a message body, a status, a reset, a page, a redirect, a
cut or corrupt calendar) or with an honest header-only calendar. No test double of ivcrush code:
the real CLI, engine, clients, guard, breaker and store run.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ivcrush_tui.analytics.analysis import Status
from ivcrush_tui.engine.health import check_health, refusal
from ivcrush_tui.engine.health_model import HealthStatus
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.providers.demo.av_wire import (
    AV_TEXT_BAD_KEY,
    AV_TEXT_BURST,
    av_daily_limit_text,
    av_earnings_calendar_csv,
)
from tests.integration.cli_support import home, jsonl, run
from tests.integration.live_env import (
    AS_OF,
    AV_KEY,
    CLOCK,
    collect_garbage,
    market,
    scan,
    serving,
    settings_for,
    write_config,
)

__all__ = ["home"]  # the fixture, used by name

HEADER = "symbol,name,reportDate,fiscalDateEnding,estimate,currency,timeOfTheDay"
LEGACY_VOLUME = (
    "Thank you for using Alpha Vantage! Please visit https://www.alphavantage.co/premium/ if you "
    "would like to have a higher API call volume."
)
TICKERS = ("AAPL", "MSFT", "JPM")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the scripted Alpha Vantage answers to every request (reset: drop the connection)."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    reset: bool = False


def _message(key: str, text: str) -> Answer:
    return Answer(body=json.dumps({key: text}))


def _cut_calendar() -> str:
    """The demo's real calendar cut in the middle of a row, as a dropped connection leaves it."""
    full = av_earnings_calendar_csv(market(), "3month", None)
    half = full[: len(full) // 2]
    return half if half[-1] not in "\r\n" else half[:-3]


FAILURES: dict[str, tuple[Answer, str]] = {
    "bad key": (_message("Error Message", AV_TEXT_BAD_KEY), "auth"),
    "quota": (_message("Information", av_daily_limit_text(25)), "quota_exhausted"),
    "burst": (_message("Information", AV_TEXT_BURST), "rate_limited"),
    "legacy throttle": (_message("Note", LEGACY_VOLUME), "rate_limited"),
    "503": (Answer(503, "<html><body>503 Service Unavailable</body></html>", "text/html"),
            "unavailable"),
    "reset": (Answer(reset=True), "unavailable"),
    "html page": (Answer(200, "<html><body>Bad gateway</body></html>", "text/html"),
                  "bad_payload"),
    # A redirect is a configuration error naming the Location, never followed (issue 16).
    "redirect": (Answer(302, "", "text/plain", (("Location", "https://example.invalid/"),)),
                 "config"),
    "cut calendar": (Answer(content_type="text/csv"), "bad_payload"),  # body: see `failure`
    "corrupt calendar": (Answer(body=HEADER + "\r\n" + "E,r,r,o,r, ,M\r\n" * 40,
                                content_type="text/csv"), "bad_payload"),
}  # fmt: skip


def failure(case: str) -> tuple[Answer, str]:
    """FAILURES[case]; the cut calendar is built here, not at collection (it needs the market)."""
    answer, code = FAILURES[case]
    if case == "cut calendar":
        answer = Answer(body=_cut_calendar(), content_type=answer.content_type)
    return answer, code


class _Handler(BaseHTTPRequestHandler):
    server: _ScriptedServer

    def do_GET(self) -> None:
        answer = self.server.answer
        self.server.requests += 1
        if answer.reset:  # an RST, no response at all
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        body = answer.body.encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class _ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/query"


@contextlib.contextmanager
def scripted_av(answer: Answer) -> Iterator[_ScriptedServer]:
    srv = _ScriptedServer(answer)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _config(folder: Path, av: _ScriptedServer, tradier_server: object) -> Path:
    # One attempt per request: the failure is the point, not the retry waits (12 s legacy).
    return write_config(
        folder,
        tradier_server,  # type: ignore[arg-type]
        alphavantage={"base_url": av.url},
        resilience={"retry_attempts": 1},
    )


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failed_calendar_makes_tickers_errors_with_its_code_and_exit_1(
    case: str, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    answer, code = failure(case)
    with serving() as tradier, scripted_av(answer) as av:
        cfg = str(_config(home, av, tradier))
        status, out, err = run(
            capsys, "--config", cfg, "scan", *TICKERS, "--json", "--as-of", AS_OF
        )
        requests = av.requests
    rows = jsonl(out)
    assert status == 1
    assert sorted(r["ticker"] for r in rows) == sorted(TICKERS)
    assert all(r["status"] == "error" for r in rows), [r["status"] for r in rows]
    assert {r["error"]["code"] for r in rows} == {code}
    assert all("EARNINGS_CALENDAR" in r["error"]["message"] for r in rows)
    assert all("(calendar request " in r["error"]["message"] for r in rows)  # its log lines
    assert requests == 1  # one calendar request for the scan, not one per ticker
    assert AV_KEY not in out + err
    collect_garbage()


@pytest.mark.parametrize("case", ["bad key", "503", "cut calendar"])
def test_scan_without_tickers_fails_loudly_when_the_calendar_failed(
    case: str, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    # The documented cron job: `scan --json` with no tickers. It printed "0 names with entry on
    # ..." and exited 0.
    answer, code = failure(case)
    with serving() as tradier, scripted_av(answer) as av:
        cfg = str(_config(home, av, tradier))
        status, out, err = run(capsys, "--config", cfg, "scan", "--json", "--as-of", AS_OF)
    assert status == 1
    assert out == ""
    assert "0 names" not in err
    assert f"cannot list the names with entry on 2026-11-23: {code}:" in err
    assert "alphavantage EARNINGS_CALENDAR" in err
    assert AV_KEY not in err
    collect_garbage()


def test_an_honestly_empty_calendar_still_says_no_event(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    # A header-only answer is a calendar that lists nobody: "no event" is then the truth.
    empty = Answer(body=HEADER + "\r\n", content_type="text/csv")
    with serving() as tradier, scripted_av(empty) as av:
        cfg = str(_config(home, av, tradier))
        status, out, _ = run(
            capsys, "--config", cfg, "scan", *TICKERS, "--json", "--as-of=" + AS_OF
        )
        code_all, _, err = run(capsys, "--config", cfg, "scan", "--json", "--as-of", AS_OF)
    assert status == 0
    assert {r["status"] for r in jsonl(out)} == {"no_event"}
    assert code_all == 0
    assert "0 names with entry on 2026-11-23" in err
    collect_garbage()


@pytest.mark.parametrize(
    ("case", "expected"), [("bad key", HealthStatus.DOWN), ("quota", HealthStatus.DEGRADED)]
)
async def test_alpha_vantage_is_not_healthy_after_a_refusal(
    case: str, expected: HealthStatus, tmp_path: Path
) -> None:
    answer, code = failure(case)
    with serving() as tradier, scripted_av(answer) as av:
        settings = settings_for(_config(tmp_path, av, tradier))
        async with open_runtime(settings, CLOCK) as rt:
            results = await scan(rt, ["AAPL"])
            assert [a.status for a in results] == [Status.ERROR]
            assert rt.av_guard.breaker.state.value == "closed"  # a typed answer: it is up
            refused = refusal(rt.av_guard)  # what the status bar's badge reads
            assert refused is not None
            assert refused.code == code
            report = await check_health(rt)
    av_health = report.component("alphavantage")
    assert av_health is not None
    assert av_health.status is expected
    assert not report.healthy
    collect_garbage()


async def test_a_corrupt_calendar_counts_against_the_breaker_and_health(tmp_path: Path) -> None:
    answer, _ = failure("corrupt calendar")
    with serving() as tradier, scripted_av(answer) as av:
        settings = settings_for(_config(tmp_path, av, tradier))
        async with open_runtime(settings, CLOCK) as rt:
            await scan(rt, ["AAPL"])
            stats = rt.av_guard.stats
            assert stats.attempt_failures == 1
            assert stats.last_error is not None
            assert stats.last_error.code == "bad_payload"
            assert rt.av_guard.breaker.consecutive_failures == 1
            report = await check_health(rt)
    av_health = report.component("alphavantage")
    assert av_health is not None
    assert av_health.status is HealthStatus.DEGRADED
    assert av_health.detail.startswith("last call failed (bad_payload)")
    collect_garbage()


async def test_the_console_shows_errors_and_a_not_ok_alpha_vantage_badge_after_a_bad_key(
    tmp_path: Path,
) -> None:
    # The console showed every row as no event / SKIP and a healthy Alpha Vantage badge.
    from ivcrush_tui.app.engine_backend import EngineBackend

    answer, _ = failure("bad key")
    with serving() as tradier, scripted_av(answer) as av:
        backend = EngineBackend(settings_for(_config(tmp_path, av, tradier)), CLOCK)
        await backend.start()
        try:
            rows = [a async for a in backend.scan(list(TICKERS))]
            badges = {b.name: b for b in backend.status().badges}
        finally:
            await backend.stop()
    assert {a.status for a in rows} == {Status.ERROR}
    assert {a.error.code for a in rows if a.error} == {"auth"}
    assert badges["alphavantage"].breaker == "closed"
    assert not badges["alphavantage"].ok
    assert badges["tradier"].ok
    collect_garbage()
