"""The command delivery: run `[alerts] command` (an argv list, never through a shell) with one
alert as JSON on its standard input, and kill it at its timeout.

The command runs in a session (process group) of its own, so the kill at the timeout also ends
what it started (`sh -c 'sleep 99'`, a notifier's helper). Its output is discarded except the end
of its standard error, which is logged when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

STDERR_TAIL: Final = 300  # characters of a failed command's stderr kept for the log


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """How one run ended: `returncode` (None when it never started or was killed), whether it
    was killed at its timeout, and a short reason when it failed."""

    returncode: int | None
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the command's process group (POSIX), else the process itself."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()


async def run_command(argv: Sequence[str], stdin: bytes, timeout_s: float) -> CommandOutcome:
    """Run `argv` with `stdin` as its standard input; wait at most `timeout_s` seconds, then kill
    it (and its process group). Never raises for the command's own failure (not found, non-zero
    exit, hang): the outcome says what happened. Cancelling the caller kills it too."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return CommandOutcome(None, error=f"cannot run {argv[0]!r}: {exc.strerror or exc}")
    try:
        _, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        return CommandOutcome(None, timed_out=True, error=f"killed after {timeout_s:g} s")
    except BaseException:
        _kill(proc)
        with contextlib.suppress(BaseException):
            await asyncio.shield(proc.wait())
        raise
    code = proc.returncode
    if code == 0:
        return CommandOutcome(0)
    tail = err.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
    return CommandOutcome(code, error=f"exit status {code}" + (f": {tail}" if tail else ""))
