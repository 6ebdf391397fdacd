"""Logging: secrets never reach the file or stderr, correlation ids on every line, no stdout."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.correlation import (
    correlation_scope,
    current_correlation_id,
    new_correlation_id,
)
from ivcrush_tui.resilience.logs import (
    LOG_FILE_NAME,
    NOISY_LOGGERS,
    SecretRedactor,
    configure_logging,
    stderr_level,
)

TOKEN = "trdTOKEN_9f8e7d6c5b4a"  # distinctive fake Tradier token
APIKEY = "AVKEYZX81QW"  # distinctive fake Alpha Vantage key
OTHER = "UNCONFIGURED7788"  # not configured: caught by the apikey= pattern only


def _ours(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if getattr(h, "_ivcrush_handler", False)]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    noisy = {n: logging.getLogger(n).level for n in NOISY_LOGGERS}
    yield
    for handler in _ours(root):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, lvl in noisy.items():
        logging.getLogger(name).setLevel(lvl)


def _flush() -> None:
    for handler in _ours(logging.getLogger()):
        handler.flush()


def _emit_everything() -> None:
    log = logging.getLogger("ivcrush_tui.providers.test")
    log.warning("token in args: %s", TOKEN)
    log.warning("token in message %s", "x".replace("x", "") + TOKEN)
    log.warning(f"url https://www.alphavantage.co/query?function=EARNINGS&apikey={APIKEY}&x=1")
    log.warning("other url %s", f"https://h/query?symbol=A&apikey={OTHER}")
    log.warning("headers %r", {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    log.warning("bearer only: Bearer abc.DEF-123_tokenvalue")
    log.warning("json body %s", '{"api_key": "SOMEJSONKEY42"}')
    log.warning("mapping %s", {"token": TOKEN, "n": 1})
    try:
        raise ProviderError(
            ErrorCode.AUTH, f"bad key {APIKEY}", provider="alphavantage", endpoint="EARNINGS"
        )
    except ProviderError:
        log.exception("provider failed for %s", TOKEN)
    try:
        raise RuntimeError(f"GET https://x/v1/markets/quotes?access_token={OTHER}")
    except RuntimeError:
        logging.getLogger("httpx").error("request failed", exc_info=True)
    logging.getLogger("httpx").warning(
        'HTTP Request: GET https://www.alphavantage.co/query?apikey=%s "HTTP/1.1 200 OK"', APIKEY
    )


def _assert_clean(text: str) -> None:
    for secret in (TOKEN, APIKEY, OTHER, "abc.DEF-123_tokenvalue", "SOMEJSONKEY42"):
        assert secret not in text
    assert "***" in text


def test_secrets_never_reach_file_or_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = io.StringIO()
    configure_logging(verbosity=2, log_dir=tmp_path, secrets=[TOKEN, APIKEY, ""], stderr=err)
    with correlation_scope("feedbeef"):
        _emit_everything()
    _flush()
    file_text = (tmp_path / LOG_FILE_NAME).read_text(encoding="utf-8")
    stderr_text = err.getvalue()
    for text in (file_text, stderr_text):
        _assert_clean(text)
        assert "apikey=***" in text
        assert "Bearer ***" in text
        assert "Traceback" in text  # the exceptions were logged, redacted
        assert "RuntimeError: GET https://x/v1/markets/quotes?access_token=***" in text
        assert "bad key ***" in text
    lines = [ln for ln in file_text.splitlines() if " WARNING " in ln or " ERROR " in ln]
    assert len(lines) == 11
    assert all("[feedbeef]" in ln for ln in lines)
    out = capsys.readouterr()
    assert out.out == ""


def test_default_stderr_is_resolved_at_emit_time_and_stdout_stays_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(verbosity=0, log_dir=None, secrets=[TOKEN])
    logging.getLogger("ivcrush_tui.x").warning("careful with %s", TOKEN)
    logging.getLogger("ivcrush_tui.x").info("not shown at verbosity 0")
    out = capsys.readouterr()
    assert out.out == ""
    assert "careful with ***" in out.err
    assert "[-]" in out.err  # no correlation scope
    assert TOKEN not in out.err
    assert "not shown" not in out.err


def test_correlation_id_on_every_line(tmp_path: Path) -> None:
    configure_logging(verbosity=1, log_dir=tmp_path, secrets=[], stderr=io.StringIO())
    log = logging.getLogger("ivcrush_tui.engine")
    log.info("outside")
    with correlation_scope("0000abcd"):
        log.info("inside")
        with correlation_scope("1111ef00"):
            log.info("nested")
        log.info("inside again")
    _flush()
    lines = (tmp_path / LOG_FILE_NAME).read_text(encoding="utf-8").splitlines()
    assert [ln.split(" [", 1)[1].split("]", 1)[0] for ln in lines] == [
        "-",
        "0000abcd",
        "1111ef00",
        "0000abcd",
    ]
    assert lines[0].endswith("ivcrush_tui.engine: outside")
    assert lines[0][:4].isdigit()
    assert lines[0][19] == "Z"  # UTC ISO timestamp


def test_idempotent(tmp_path: Path) -> None:
    err = io.StringIO()
    configure_logging(verbosity=0, log_dir=tmp_path, secrets=[TOKEN], stderr=err)
    configure_logging(verbosity=0, log_dir=tmp_path, secrets=[TOKEN], stderr=err)
    assert len(_ours(logging.getLogger())) == 2  # one stderr + one file handler
    logging.getLogger("ivcrush_tui").warning("once")
    _flush()
    assert err.getvalue().count("once") == 1
    assert (tmp_path / LOG_FILE_NAME).read_text(encoding="utf-8").count("once") == 1


@pytest.mark.parametrize(
    ("verbosity", "shown", "hidden"),
    [(0, "WARNING", "INFO"), (1, "INFO", "DEBUG"), (2, "DEBUG", None)],
)
def test_stderr_verbosity(verbosity: int, shown: str, hidden: str | None) -> None:
    err = io.StringIO()
    configure_logging(verbosity=verbosity, log_dir=None, secrets=[], stderr=err)
    log = logging.getLogger("ivcrush_tui.v")
    log.debug("d-msg")
    log.info("i-msg")
    log.warning("w-msg")
    text = err.getvalue()
    assert f" {shown} " in text
    if hidden is not None:
        assert f"{hidden[0].lower()}-msg" not in text
    assert stderr_level(verbosity) == getattr(logging, shown)


def test_file_gets_info_even_when_stderr_is_quiet(tmp_path: Path) -> None:
    err = io.StringIO()
    configure_logging(verbosity=0, log_dir=tmp_path, secrets=[], stderr=err)
    logging.getLogger("ivcrush_tui").info("for the file only")
    _flush()
    assert "for the file only" in (tmp_path / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert err.getvalue() == ""


def test_unwritable_log_dir_degrades_to_stderr(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    err = io.StringIO()
    configure_logging(verbosity=0, log_dir=blocker / "logs", secrets=[], stderr=err)
    assert "cannot write logs to" in err.getvalue()
    assert len(_ours(logging.getLogger())) == 1


def test_bad_format_args_are_still_logged_redacted(tmp_path: Path) -> None:
    err = io.StringIO()
    configure_logging(verbosity=0, log_dir=None, secrets=[TOKEN], stderr=err)
    record = logging.LogRecord(
        "ivcrush_tui", logging.WARNING, __file__, 1, "two %s %s", (TOKEN,), None
    )  # one arg missing; handed to our handler directly (pytest's own handler would raise)
    for handler in _ours(logging.getLogger()):
        handler.handle(record)
    assert TOKEN not in err.getvalue()
    assert "two" in err.getvalue()


def test_redactor_handles_url_encoded_and_overlapping_secrets() -> None:
    redactor = SecretRedactor(["abc+def/ghi", "abc+def/ghi_longer", "ab"])
    assert redactor.redact("x abc%2Bdef%2Fghi y") == "x *** y"
    assert redactor.redact("abc+def/ghi_longer") == "***"
    assert redactor.redact("ab is too short to be a secret") == "ab is too short to be a secret"
    assert redactor.redact("?apikey=123&token=456&symbol=A") == "?apikey=***&token=***&symbol=A"


def test_correlation_ids() -> None:
    cid = new_correlation_id()
    assert len(cid) == 8
    int(cid, 16)
    assert new_correlation_id() != cid
    assert current_correlation_id() is None
    with correlation_scope() as outer:
        assert current_correlation_id() == outer
        with correlation_scope("given") as inner:
            assert inner == "given"
        assert current_correlation_id() == outer
    assert current_correlation_id() is None
    with pytest.raises(RuntimeError), correlation_scope("x"):
        raise RuntimeError
    assert current_correlation_id() is None


async def test_correlation_scope_in_async_tasks() -> None:
    import asyncio

    seen: dict[str, str | None] = {}

    async def job(name: str) -> None:
        with correlation_scope(name):
            await asyncio.sleep(0)
            seen[name] = current_correlation_id()

    await asyncio.gather(job("aaaa0000"), job("bbbb1111"))
    assert seen == {"aaaa0000": "aaaa0000", "bbbb1111": "bbbb1111"}
    assert current_correlation_id() is None


@pytest.mark.parametrize(("demo", "label"), [(True, " DEMO ["), (False, " LIVE ["), (None, " - [")])
def test_every_line_says_which_market(tmp_path: Path, demo: bool | None, label: str) -> None:
    err = io.StringIO()
    configure_logging(verbosity=1, log_dir=tmp_path, secrets=[], stderr=err, demo=demo)
    logging.getLogger("ivcrush_tui.engine").info("one")
    logging.getLogger("httpx").warning("two")  # a library's line is labelled too
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert all(label in line for line in lines)
    assert all(label in line for line in (tmp_path / LOG_FILE_NAME).read_text().splitlines())


@pytest.mark.parametrize(("verbosity", "traceback_on_screen"), [(0, False), (1, False), (2, True)])
def test_a_traceback_reaches_the_screen_only_with_vv(
    tmp_path: Path, verbosity: int, traceback_on_screen: bool
) -> None:
    err = io.StringIO()
    configure_logging(verbosity=verbosity, log_dir=tmp_path, secrets=[], stderr=err)
    try:
        raise OverflowError("int too large to convert to SQLite INTEGER")
    except OverflowError:
        logging.getLogger("ivcrush_tui.engine").exception("AAPL: unexpected failure")
    screen = err.getvalue()
    assert "AAPL: unexpected failure" in screen
    assert ("Traceback" in screen) is traceback_on_screen
    if not traceback_on_screen:
        assert "(traceback in the log file; -vv shows it here)" in screen
    logged = (tmp_path / "ivcrush.log").read_text()
    assert "Traceback" in logged  # the file always keeps it
    assert "OverflowError: int too large" in logged
