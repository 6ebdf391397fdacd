"""Requests end and bodies are bounded, against a real misbehaving loopback server (issue 16):
a trickling body hits the whole-request deadline, a 1 GB body is abandoned at the cap with memory
bounded, and a redirect is a configuration error naming its (redacted) Location, never followed
or retried."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ivcrush_tui.config import load_settings
from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.providers.http import DEFAULT_MAX_BODY_BYTES, make_http_client, send
from tests.integration.hostile_server import HostileServer
from tests.integration.live_env import CLOCK

REPO = Path(__file__).resolve().parents[2]


async def _send(url: str, timeout_s: float = 10.0, **kw: int) -> ProviderError:
    async with make_http_client(timeout_s=timeout_s) as http:
        with pytest.raises(ProviderError) as info:
            await send(http, "GET", url, provider="tradier", endpoint="clock", **kw)  # type: ignore[arg-type]
    return info.value


async def test_a_trickling_body_ends_at_the_whole_request_deadline() -> None:
    # One byte every 0.2 s never trips a per-read timeout of 1 s: only the overall deadline ends it.
    with HostileServer() as srv:
        t0 = time.monotonic()
        err = await _send(srv.base_url + "/trickle", timeout_s=1.0)
        elapsed = time.monotonic() - t0
    assert err.code is ErrorCode.TIMEOUT
    assert "no complete answer within 1 s" in err.message
    assert 0.9 <= elapsed < 3.0


async def test_a_body_over_the_cap_is_bad_payload_read_no_further() -> None:
    with HostileServer() as srv:
        t0 = time.monotonic()
        err = await _send(srv.base_url + "/huge?mb=64")
        elapsed = time.monotonic() - t0
    assert err.code is ErrorCode.BAD_PAYLOAD
    assert f"body over {DEFAULT_MAX_BODY_BYTES // 2**20} MiB" in err.message
    assert elapsed < 5.0  # stopped at 4 MiB, not after 64


async def test_a_body_under_the_cap_is_read_whole() -> None:
    with HostileServer() as srv:
        async with make_http_client(timeout_s=10.0) as http:
            response = await send(
                http, "GET", srv.base_url + "/huge?mb=3", provider="tradier", endpoint="chains"
            )
    assert response.status_code == 200
    assert len(response.content) == 3 * 1024 * 1024  # three 1 MiB blocks, whole
    assert response.content.startswith(b"[0,0,")
    assert response.content.endswith(b",0")


def test_a_one_gigabyte_body_keeps_peak_rss_under_300_mb(tmp_path: Path) -> None:
    """In a fresh process (the test runner's own pages would blur ru_maxrss): the chain cap
    (16 MiB) against a 1 GiB chunked body."""
    script = tmp_path / "one_gb.py"
    script.write_text(
        "import asyncio, json, resource, sys\n"
        "from ivcrush_tui.domain import ProviderError\n"
        "from ivcrush_tui.providers.http import CHAIN_MAX_BODY_BYTES, make_http_client, send\n"
        "async def main():\n"
        "    async with make_http_client(timeout_s=30) as http:\n"
        "        try:\n"
        "            await send(http, 'GET', sys.argv[1], provider='tradier', endpoint='chains',\n"
        "                       max_body_bytes=CHAIN_MAX_BODY_BYTES)\n"
        "        except ProviderError as exc:\n"
        "            return str(exc.code)\n"
        "    return 'read'\n"
        "code = asyncio.run(main())\n"
        "print(json.dumps({'code': code,"
        " 'maxrss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    with HostileServer() as srv:
        done = subprocess.run(
            [sys.executable, str(script), srv.base_url + "/huge?mb=1024"],
            capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["code"] == "bad_payload"
    assert result["maxrss_mb"] < 300, result  # it was 2.39 GB before the cap


async def test_a_redirect_is_a_config_error_naming_the_redacted_location() -> None:
    with HostileServer() as srv:
        err = await _send(srv.base_url + "/redirect")
    assert err.code is ErrorCode.CONFIG
    assert not err.transient  # never retried
    assert "HTTP 302 redirect to http://elsewhere.invalid/v1/markets/clock" in err.message
    assert "SECRETtok123" not in err.message
    assert "access_token=***" in err.message
    assert "check base_url" in err.message


def test_health_against_a_trickling_market_ends_within_10_s(tmp_path: Path) -> None:
    """The cron probe: one attempt per provider and a deadline, whatever the server does (it took
    43 s with four tries against a stalled market, and for ever against a trickle)."""
    with HostileServer() as srv:
        cfg = tmp_path / "live.toml"
        cfg.write_text(
            f'[tradier]\nbase_url = "{srv.base_url}/trickle/v1"\ntimeout_s = 30\n'
            f'[alphavantage]\nbase_url = "{srv.base_url}/trickle/query"\n'
            f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\nlog_dir = "{tmp_path / "log"}"\n'
        )
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "TRADIER_TOKEN": "TRDRtok-trickle-1",
            "ALPHAVANTAGE_API_KEY": "AVkey-trickle-1",
        }
        t0 = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ivcrush_tui", "--config", str(cfg), "health", "--json"],
            capture_output=True, text=True, timeout=60, cwd=REPO, env=env, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
    assert elapsed < 10.0, done.stderr
    assert done.returncode == 1
    report = json.loads(done.stdout)
    tradier = next(c for c in report["components"] if c["name"] == "tradier")
    assert tradier["status"] == "down"
    assert "timeout" in tradier["detail"]
    assert "Traceback" not in done.stderr


async def test_attempts_that_got_no_answer_at_all_give_the_quota_back(tmp_path: Path) -> None:
    """A stalled Alpha Vantage (it reads the request and never answers) spent a daily unit per
    attempt, 5 in one backfill; now such attempts are refunded (the rule: METHODS-NOTES)."""
    with HostileServer() as srv:
        cfg = tmp_path / "live.toml"
        cfg.write_text(
            f'[tradier]\nbase_url = "{srv.base_url}/silent/v1"\n'
            f'[alphavantage]\nbase_url = "{srv.base_url}/silent/query"\ntimeout_s = 0.5\n'
            f"max_per_second = 100\n"
            f"[resilience]\nretry_attempts = 3\nbackoff_base_s = 0.01\nbackoff_max_s = 0.02\n"
            f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\nlog_dir = "{tmp_path / "log"}"\n'
        )
        env = {"TRADIER_TOKEN": "TRDRtok-silent-1", "ALPHAVANTAGE_API_KEY": "AVkey-silent-1"}
        settings = load_settings(cfg, env)
        async with open_runtime(settings, CLOCK) as rt:
            before = await rt.av_limiter.remaining()
            with pytest.raises(ProviderError) as info:
                await rt.alphavantage.earnings_history("AAPL")
            after = await rt.av_limiter.remaining()
            attempts = rt.av_guard.stats.attempts
    assert info.value.code is ErrorCode.TIMEOUT
    assert "no answer at all" in info.value.message
    assert attempts == 3
    assert after == before  # three attempts, no unit spent
