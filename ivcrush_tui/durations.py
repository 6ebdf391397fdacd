"""Durations as the console and the CLI print them (no Textual, no Rich: every layer uses it)."""

from __future__ import annotations


def compact_duration(seconds: float) -> str:
    """A duration compactly: 45s, 12m, 3h05m, 2d04h (negative counts as 0)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"
