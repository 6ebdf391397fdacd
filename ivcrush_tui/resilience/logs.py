"""Logging: a rotating file plus stderr (never stdout, which belongs to --json output), every line
tagged with the correlation id, and every configured secret masked before anything is written.

Redaction runs as a handler filter, so it also covers records from other libraries (httpx logs
request URLs, which carry the Alpha Vantage apikey) that propagate to the root logger.
"""

from __future__ import annotations

import base64
import io
import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, quote_plus

from ivcrush_tui.files import private_dir, private_file
from ivcrush_tui.resilience.correlation import current_correlation_id

LOG_FILE_NAME = "ivcrush.log"
MAX_BYTES = 5 * 1024 * 1024  # per file
BACKUP_COUNT = 3
MASK = "***"
# %(mode)s is LIVE or DEMO: a line from a demo run can never be read as a real one (one log file
# serves both modes).
FORMAT = "%(asctime)s %(levelname)-7s %(mode)s [%(correlation_id)s] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # UTC
MIN_SECRET_LEN = 4  # shorter "secrets" would mask ordinary words and cannot be real credentials
# Chatty libraries kept at INFO unless verbosity >= 3.
NOISY_LOGGERS = ("httpcore", "hpack", "aiosqlite")

_MARK = "_ivcrush_handler"  # attribute marking the handlers we installed (for idempotency)

# `log.warning(..., extra=FILE_FIRST)`: a failure the command already reports on its own output
# (a ticker's error row with its correlation id, a breaker opening behind those rows). It is
# written to the log file at its level, so `grep <id>` finds it, but stderr shows it only with
# -v: a plain run would otherwise print each failure twice, and `scan --json | head -1` noise.
FILE_FIRST_ATTR = "ivcrush_file_first"
FILE_FIRST: dict[str, object] = {FILE_FIRST_ATTR: True}

# key=value in URLs and form bodies, and "key": "value" in JSON or dict reprs.
_QUERY_SECRET = re.compile(r"(?i)\b(api[_-]?key|access_token|token|password)=([^&\s'\"<>]+)")
_MAPPING_SECRET = re.compile(
    r"(?i)([\"'](?:api[_-]?key|access_token|token|password|authorization)[\"']\s*:\s*[\"'])"
    r"([^\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can appear in text: as is, URL-encoded (quote and quote_plus) and
    base64-encoded (standard and URL-safe, with and without padding)."""
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for b64 in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = b64.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return {f for f in forms if f}


class SecretRedactor:
    """Masks configured secrets (in every `secret_forms`) and apikey= / token= / Bearer
    patterns."""

    def __init__(self, secrets: Iterable[str]) -> None:
        literals: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LEN:
                literals |= secret_forms(secret)
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(literals, key=len, reverse=True)
        self._literals = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by MASK."""
        if self._literals is not None:
            text = self._literals.sub(MASK, text)
        text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
        text = _MAPPING_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


class RedactingFilter(logging.Filter):
    """Renders the final message (args included) and the exception text, then redacts both.

    The record keeps only the redacted text (args are dropped), so no later formatter can
    re-render a secret from the raw args."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad format args: still log (redacted) rather than lose the record
            message = f"{record.msg!r} (args: {record.args!r})"
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


class CorrelationFilter(logging.Filter):
    """Adds `record.correlation_id` (the current id, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            record.correlation_id = current_correlation_id() or "-"
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Log files are created 0600 (each rotation opens a new one): error texts carry tickers,
    provider answers and the data folder, which are nobody else's business."""

    def _open(self) -> io.TextIOWrapper:
        private_file(Path(self.baseFilename))
        return super()._open()


class ModeFilter(logging.Filter):
    """Adds `record.mode`: the market this process runs on (LIVE or DEMO; "-" when unknown)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self._mode = mode

    def filter(self, record: logging.LogRecord) -> bool:
        record.mode = self._mode
        return True


class _StderrHandler(logging.Handler):
    """Writes to `stream`, or to whatever `sys.stderr` is at emit time (so a UI that captures
    stderr while it owns the terminal also captures our log lines)."""

    def __init__(self, stream: TextIO | None, level: int) -> None:
        super().__init__(level)
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        if stream is None:  # no stderr at all (detached process)
            return
        try:
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


class _SkipFileFirst(logging.Filter):
    """Drops the records marked FILE_FIRST (the stderr handler at the default verbosity)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, FILE_FIRST_ATTR, False)


class _BriefFormatter(logging.Formatter):
    """The stderr format below -vv: a failure's traceback stays in the log file; the screen gets
    one line that says where it is (a user reads the message, not the stack)."""

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return super().format(record)
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record) + " (traceback in the log file; -vv shows it here)"
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def stderr_level(verbosity: int) -> int:
    """0 -> WARNING, 1 -> INFO, 2 or more -> DEBUG (negative -> ERROR)."""
    if verbosity < 0:
        return logging.ERROR
    return (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG


def configure_logging(
    *,
    verbosity: int,
    log_dir: Path | None,
    secrets: Iterable[str],
    stderr: TextIO | None = None,
    demo: bool | None = None,
) -> None:
    """Install the ivcrush handlers on the root logger (replacing any installed before).

    File: `log_dir/ivcrush.log`, rotated at 5 MB, 3 backups, INFO (DEBUG at verbosity >= 2).
    Stderr: by `verbosity` (see stderr_level). Nothing is ever written to stdout. When the log
    directory cannot be created the file is skipped and a warning is logged to stderr.
    `demo` labels every line DEMO or LIVE (None: "-", for callers that do not know the mode)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()

    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    redacting = RedactingFilter(SecretRedactor(secrets))
    correlation = CorrelationFilter()
    mode = ModeFilter("-" if demo is None else "DEMO" if demo else "LIVE")

    brief = _BriefFormatter(FORMAT, DATE_FORMAT)
    brief.converter = time.gmtime

    def install(handler: logging.Handler, fmt: logging.Formatter = formatter) -> None:
        handler.setFormatter(fmt)
        handler.addFilter(correlation)
        handler.addFilter(mode)
        handler.addFilter(redacting)
        setattr(handler, _MARK, True)
        root.addHandler(handler)

    console_level = stderr_level(verbosity)
    install(_StderrHandler(stderr, console_level), formatter if verbosity >= 2 else brief)
    if verbosity < 1:
        root.handlers[-1].addFilter(_SkipFileFirst())
    levels = [console_level]

    problem: str | None = None
    if log_dir is not None:
        file_level = logging.DEBUG if verbosity >= 2 else logging.INFO
        try:
            private_dir(log_dir)
            install(
                _PrivateRotatingFileHandler(
                    log_dir / LOG_FILE_NAME,
                    maxBytes=MAX_BYTES,
                    backupCount=BACKUP_COUNT,
                    encoding="utf-8",
                    delay=True,
                )
            )
            root.handlers[-1].setLevel(file_level)
            levels.append(file_level)
        except OSError as exc:
            problem = f"cannot write logs to {log_dir}: {exc}"

    root.setLevel(min(levels))
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbosity >= 3 else logging.INFO)
    if problem is not None:
        logging.getLogger(__name__).warning("%s", problem)
