"""The process exit codes of `ivcrush`, in one place for the CLI, the commands and the console."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILURES: Final = 1  # some tickers failed, or health degraded
EXIT_USAGE: Final = 2  # bad usage or configuration
EXIT_INTERRUPTED: Final = 130  # Ctrl-C (128 + SIGINT)
EXIT_BROKEN_PIPE: Final = 141  # stdout closed by the reader (128 + SIGPIPE, as a Unix tool)
EXIT_TERMINATED: Final = 143  # SIGTERM (128 + 15), after the same clean shutdown as Ctrl-C
