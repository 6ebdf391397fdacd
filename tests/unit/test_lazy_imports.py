"""Start-up cost: what a fresh process imports before it needs it.

Every CLI command and the console are fresh processes, so a heavy import at module level is paid
before the first request or the first frame (the holidays calendar alone is ~0.2 s; scipy, no
longer a dependency, was ~0.6 s). These tests run a fresh
interpreter and look at `sys.modules`; they assert what is (not) imported, never a duration.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w

from ivcrush_tui.calendar import NY
from ivcrush_tui.config import load_settings
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import FIRST_REQUEST_DELAY_S, open_runtime
from ivcrush_tui.engine.warm_up import ANALYTICS_LAZY_MODULES, NUMPY_LAZY_SUBMODULES

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-23T15:30-05:00"

# Prints, as JSON, which of the modules named on the command line are loaded after running `code`.
_PROBE = """\
import json, sys
names = sys.argv[1:]
{code}
print(json.dumps(sorted(n for n in names if n in sys.modules)))
"""


def _loaded_after(code: str, names: list[str], env: dict[str, str] | None = None) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code), *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def _isolated_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    }
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(home / var.lower())
    env["HOME"] = str(home)
    return env


def test_the_probe_sees_an_imported_module() -> None:
    # The checks below assert absences: make sure the probe can report a presence at all.
    assert _loaded_after("import holidays.financial", ["holidays.financial", "textual"]) == [
        "holidays.financial"
    ]


def test_engine_analysis_types_and_cli_entry_import_no_holidays() -> None:
    code = (
        "import ivcrush_tui.analytics.analysis, ivcrush_tui.engine.service, "
        "ivcrush_tui.engine.schema, ivcrush_tui.engine.runtime, ivcrush_tui.calendar, "
        "ivcrush_tui.cli, ivcrush_tui.commands.dispatch, ivcrush_tui.commands.headless"
    )
    heavy = ["scipy", *ANALYTICS_LAZY_MODULES, "holidays", "textual"]
    assert _loaded_after(code, heavy) == []


def test_the_engine_and_the_cli_commands_import_no_numpy_before_the_first_request() -> None:
    # The analysis (numpy, the analytics) is imported by the warm-up thread while the first
    # requests travel, and where a result is built: not with the engine or the commands.
    code = (
        "import ivcrush_tui.engine.service, ivcrush_tui.engine.runtime, "
        "ivcrush_tui.commands.headless, ivcrush_tui.analytics.schedule"
    )
    heavy = ["numpy", "ivcrush_tui.analytics.analysis", "ivcrush_tui.engine.ledger"]
    assert _loaded_after(code, heavy) == []


def test_the_scan_path_imports_no_streaming_alerts_recording_or_ui() -> None:
    # `ivcrush scan --json` neither streams, nor delivers alerts, nor records, nor paints: the
    # modules of those features (issue 14) stay out of its start-up (a fresh process pays each
    # import before its first request).
    code = (
        "import ivcrush_tui.cli, ivcrush_tui.commands.dispatch, ivcrush_tui.commands.headless, "
        "ivcrush_tui.config, ivcrush_tui.engine.runtime, ivcrush_tui.engine.service, "
        "ivcrush_tui.engine.warm_up"
    )
    feature_modules = [
        "ivcrush_tui.providers.tradier_events",
        "ivcrush_tui.providers.tradier_stream",
        "ivcrush_tui.engine.live_quotes",
        "ivcrush_tui.engine.live_book",
        "ivcrush_tui.engine.recorder",
        "ivcrush_tui.engine.replay",
        "ivcrush_tui.alerts.center",
        "ivcrush_tui.alerts.command",
        "textual",
        "rich",
    ]
    assert _loaded_after(code, feature_modules) == []


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_nothing_heavy(flag: str) -> None:
    code = (
        "import contextlib, io\n"
        "from ivcrush_tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main([{flag!r}]) == 0\n"
    )
    heavy = ["numpy", "scipy", "httpx", "rich", "textual", "holidays", "aiosqlite"]
    assert _loaded_after(code, heavy) == []


def test_analyze_json_imports_no_rich_and_the_holidays_package_once(tmp_path: Path) -> None:
    # The --json path prints with the json module: rich (a human table) is never imported, while
    # the analysis itself is (so the run really went through one), and nothing imports scipy (the
    # normal CDF is math.erfc; see analytics/bsm.py). The first run computes the holiday year with
    # the holidays package and keeps it beside the database; the next run reads it from there.
    cfg = tmp_path / "demo.toml"
    cfg.write_text(
        tomli_w.dumps(
            {"storage": {"path": str(tmp_path / "db.sqlite3"), "log_dir": str(tmp_path / "log")}}
        ),
        encoding="utf-8",
    )
    args = ["--demo", "--config", str(cfg), "analyze", "AAPL", "--json", "--as-of", AS_OF]
    code = (
        "import contextlib, io\n"
        "from ivcrush_tui.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main({args!r})\n"
        "assert code == 0, code\n"
        "assert json.loads(out.getvalue())['status'] == 'ok', out.getvalue()\n"
    )
    names = ["holidays", "rich", "scipy", "textual", *ANALYTICS_LAZY_MODULES]
    first = _loaded_after(code, names, _isolated_env(tmp_path))
    assert first == sorted(["holidays", *ANALYTICS_LAZY_MODULES])
    second = _loaded_after(code, names, _isolated_env(tmp_path))
    assert second == sorted(ANALYTICS_LAZY_MODULES)


def test_checking_ui_theme_imports_no_textual(tmp_path: Path) -> None:
    # Every command loads the configuration, and an unknown ui.theme is a configuration error:
    # the check lists theme files and Textual's theme names without importing Textual.
    cfg = tmp_path / "ui.toml"
    cfg.write_text(tomli_w.dumps({"ui": {"theme": "nord"}}), encoding="utf-8")
    code = (
        "from ivcrush_tui.config import load_settings\n"
        f"assert load_settings(__import__('pathlib').Path({str(cfg)!r}), {{}}).ui.theme == 'nord'\n"
    )
    assert _loaded_after(code, ["textual", "rich"], _isolated_env(tmp_path)) == []


def test_warm_up_loads_the_lazy_modules_and_the_calendar_year_in_a_thread() -> None:
    code = (
        "import datetime as dt\n"
        "from ivcrush_tui.engine.warm_up import warm_up_analytics\n"
        "now = dt.datetime(2026, 11, 23, 20, 30, tzinfo=dt.UTC)\n"
        "thread = warm_up_analytics(now)\n"
        "assert thread is not None and thread.daemon\n"
        "thread.join(60)\n"
        "assert warm_up_analytics(now) is None  # everything loaded: no second thread\n"
    )
    # numpy's lazily imported submodules too: the first analysis uses them (runtime.py).
    names = [*ANALYTICS_LAZY_MODULES, *NUMPY_LAZY_SUBMODULES, "holidays.financial"]
    assert _loaded_after(code, names) == sorted(names)


def test_the_http_stack_is_preloaded_in_a_thread() -> None:
    # open_runtime starts it before the store opens: httpcore (and h11) are then imported while
    # SQLite works, not between the store being open and the first request.
    code = (
        "from ivcrush_tui.engine.warm_up import preload_http_stack\n"
        "thread = preload_http_stack()\n"
        "assert thread is not None and thread.daemon\n"
        "thread.join(60)\n"
        "assert preload_http_stack() is None  # loaded: no second thread\n"
    )
    names = ["httpcore", "h11"]
    assert _loaded_after(code, names) == sorted(names)


def _count_default_contexts(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """The TLS contexts `ssl.create_default_context` makes from now on (httpx's, with the CA
    bundle), listed as they are made."""
    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        ctx = real(*args, **kwargs)
        made.append(ctx)
        return ctx

    monkeypatch.setattr(ssl, "create_default_context", counting)
    return made


async def _open_and_close_live_runtime(tmp_path: Path, tradier_url: str, av_url: str) -> None:
    cfg = tmp_path / "live.toml"
    doc = {
        "tradier": {"token": "t-token", "base_url": tradier_url},
        "alphavantage": {"api_key": "a-key", "base_url": av_url},
        "storage": {"path": str(tmp_path / "db.sqlite3"), "log_dir": str(tmp_path / "log")},
    }
    cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
    settings = load_settings(cfg, {})
    assert not settings.demo
    clock = FixedClock(dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY))
    async with open_runtime(settings, clock):
        pass


async def test_both_provider_clients_share_one_tls_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Building a TLS context costs 20-60 ms of CPU at start-up: live mode builds one, not one per
    # provider client.
    made = _count_default_contexts(monkeypatch)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    await _open_and_close_live_runtime(
        tmp_path, "https://tradier.invalid/v1", "https://av.invalid/query"
    )
    assert len(made) == 1


def test_the_cli_builds_the_tls_context_in_a_thread_for_live_mode_only(tmp_path: Path) -> None:
    from ivcrush_tui.commands.headless import _tls_in_background

    cfg = tmp_path / "live.toml"
    doc = {"tradier": {"token": "t-token"}, "alphavantage": {"api_key": "a-key"}}
    cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
    live = load_settings(cfg, {})
    ctx = _tls_in_background(live)()
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
    demo = load_settings(cfg, {}, force_demo=True)
    assert _tls_in_background(demo)() is None
    # Live against loopback servers over http (`ivcrush demo-server`): no https, no bundle.
    doc["tradier"]["base_url"] = "http://127.0.0.1:8765/tradier/v1"
    doc["alphavantage"]["base_url"] = "http://127.0.0.1:8765/alphavantage/query"
    cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
    loopback = load_settings(cfg, {})
    assert not loopback.demo
    assert not loopback.uses_tls
    assert _tls_in_background(loopback)() is None
    # One https provider is enough to need it.
    doc["alphavantage"]["base_url"] = "https://www.alphavantage.co/query"
    cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
    assert load_settings(cfg, {}).uses_tls


async def test_providers_over_plain_http_read_no_ca_bundle_and_trust_no_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loopback servers over http: the CA bundle (20-60 ms of CPU) is not read. The context the
    # pools get still verifies, with no CA trusted: an https connection would fail closed.
    made = _count_default_contexts(monkeypatch)
    given: list[object] = []
    real_transport = httpx.AsyncHTTPTransport

    def transport(**kwargs: Any) -> httpx.AsyncHTTPTransport:
        given.append(kwargs.get("verify"))
        return real_transport(**kwargs)

    monkeypatch.setattr(httpx, "AsyncHTTPTransport", transport)
    await _open_and_close_live_runtime(
        tmp_path, "http://127.0.0.1:9/tradier/v1", "http://127.0.0.1:9/av/query"
    )
    assert made == []
    assert len(given) == 2
    assert given[0] is given[1]  # one context, shared
    ctx = given[0]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0


async def test_on_first_request_is_called_once_shortly_after_the_first_request(
    tmp_path: Path,
) -> None:
    from ivcrush_tui.engine.health import check_health

    cfg = tmp_path / "demo.toml"
    doc = {"storage": {"path": str(tmp_path / "db.sqlite3"), "log_dir": str(tmp_path / "log")}}
    cfg.write_text(tomli_w.dumps(doc), encoding="utf-8")
    settings = load_settings(cfg, {}, force_demo=True)
    clock = FixedClock(dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY))
    calls: list[int] = []
    async with open_runtime(settings, clock, on_first_request=lambda: calls.append(1)) as rt:
        assert calls == []  # opening the runtime sends nothing
        await check_health(rt)
        await check_health(rt)
        await asyncio.sleep(FIRST_REQUEST_DELAY_S * 3)  # the first requests went out first
        assert calls == [1]
        await check_health(rt)
    assert calls == [1]
    # A runtime closed before the delay has passed never calls it (a command that ended early
    # must not start importing at its exit).
    async with open_runtime(settings, clock, on_first_request=lambda: calls.append(2)) as rt:
        await check_health(rt)
    await asyncio.sleep(FIRST_REQUEST_DELAY_S * 3)
    assert calls == [1]
