"""A headless `ivcrush` command in a fresh process, timed from process start: wall time, the first
stdout line, and the process's own peak RSS (benchmarks only)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class CliRun:
    wall_s: float
    first_line_s: float | None
    lines: int
    maxrss_mb: float
    rc: int


# Runs `python -m ivcrush_tui`, then reports the process's own peak RSS. VmHWM (per address space,
# reset by exec) is used, not ru_maxrss: the latter also counts the benchmark process's pages the
# child shared between fork and exec, which made it grow with the benchmark's own size.
_RUN_WITH_PEAK = """\
import atexit, runpy, sys

def _peak():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    print(f"VMHWM_KB {kb}", file=sys.stderr, flush=True)

atexit.register(_peak)
sys.argv = ["ivcrush", *sys.argv[1:]]
runpy.run_module("ivcrush_tui", run_name="__main__", alter_sys=True)
"""


def cli(args: Sequence[str], env: dict[str, str]) -> CliRun:
    """Run `ivcrush ARGS` in a fresh process; time the first stdout line from process start and
    read the process's peak RSS (VmHWM, Linux)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _RUN_WITH_PEAK, *args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        first = None
        lines = 0
        for _ in iter(proc.stdout.readline, b""):
            if first is None:
                first = time.perf_counter() - t0
            lines += 1
        rc = proc.wait()
        wall = time.perf_counter() - t0
        err.seek(0)
        peak_kb = next(
            (float(x.split()[1]) for x in err.read().splitlines() if x.startswith("VMHWM_KB")),
            float("nan"),
        )
    return CliRun(wall, first, lines, peak_kb / 1024.0, rc)
