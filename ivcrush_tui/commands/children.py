"""This process's child processes, as Linux's /proc shows them (for `ivcrush web`'s shutdown).

textual-serve considers a console finished once its output ends, which comes before the
process has closed its store; the server waits for the processes themselves. Where /proc is
missing (macOS) nothing is found and nothing is waited for.
"""

from __future__ import annotations

from pathlib import Path

_PROC = Path("/proc")


def child_pids(proc: Path = _PROC) -> set[int]:
    """The ids of this process's children (every thread's)."""
    pids: set[int] = set()
    for listing in (proc / "self" / "task").glob("*/children"):
        try:
            pids.update(int(pid) for pid in listing.read_text(encoding="ascii").split())
        except (OSError, ValueError):
            continue
    return pids


def is_running(pid: int, proc: Path = _PROC) -> bool:
    """False once `pid` has exited (gone, or a zombie waiting to be reaped)."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ")".
    fields = stat.rpartition(")")[2].split()
    return bool(fields) and fields[0] not in ("Z", "X")
