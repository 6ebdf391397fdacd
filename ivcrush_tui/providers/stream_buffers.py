"""Byte-stream helpers for line-delimited streams: complete lines out of chunks (bounded), and an
events-per-second meter over a sliding window (bounded)."""

from __future__ import annotations

import math
from collections import deque

__all__ = ["LineSplitter", "RateMeter"]


class LineSplitter:
    """Bytes -> complete lines. A line longer than `limit` is dropped (counted in `overflows`)
    up to its newline, so a server that never sends one cannot grow memory."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buf = bytearray()
        self._skipping = False
        self.overflows = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                break
            piece = chunk[start:nl]
            if self._skipping:
                self._skipping = False
            elif len(self._buf) + len(piece) > self._limit:
                self.overflows += 1
            elif self._buf:
                self._buf += piece
                lines.append(bytes(self._buf))
            else:
                lines.append(piece)
            self._buf.clear()
            start = nl + 1
        rest = chunk[start:]
        if rest and not self._skipping:
            if len(self._buf) + len(rest) > self._limit:
                self.overflows += 1
                self._buf.clear()
                self._skipping = True
            else:
                self._buf += rest
        return lines

    def pending(self) -> bool:
        """True when a partial line is buffered (a drop then cut an event in half)."""
        return bool(self._buf)


class RateMeter:
    """Events per second over a window, from per-second buckets (bounded: window/1 s entries).
    Until a whole window has passed since the first event, the rate is over the time elapsed
    (at least 1 s), so a fresh stream does not read as slow."""

    def __init__(self, window_s: float) -> None:
        self._window = window_s
        self._buckets: deque[list[int]] = deque()
        self._first: float | None = None

    def add(self, now: float) -> None:
        if self._first is None:
            self._first = now
        second = math.floor(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([second, 1])
        self._prune(now)

    def rate(self, now: float) -> float:
        self._prune(now)
        if self._first is None:
            return 0.0
        span = min(self._window, max(1.0, now - self._first))
        return sum(count for _, count in self._buckets) / span

    def _prune(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] <= now - self._window:
            self._buckets.popleft()
