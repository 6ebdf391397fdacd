"""Daily OHLCV paths of the demo world: one path per name over every session of the world.

A path is drawn once from the name's own Generator over a fixed span of sessions, so the bar of
a day never depends on the day it is asked about. Log returns are split into an overnight gap
and an intraday part, with an earnings jump on every release's reaction session (most of it in
the opening gap). Prices are dollars per share rounded to cents; volumes are shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DailyPath", "build_path"]

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_KAPPA = 0.004  # daily pull of the log price towards the reference level
_CHUNK = 256  # closed-form blocks: phi^-256 stays near e^1, far from any precision loss


@dataclass(frozen=True, slots=True, eq=False)
class DailyPath:
    """OHLCV per world session (index i is the world's i-th session); cents and shares."""

    open: _FloatArray
    high: _FloatArray
    low: _FloatArray
    close: _FloatArray
    volume: _IntArray
    jumps: _FloatArray  # earnings log jump per session (0.0 on ordinary sessions)


def _mean_reverting(y0: float, shocks: _FloatArray, phi: float) -> _FloatArray:
    """y_t = phi * y_{t-1} + u_t, solved in closed form block by block (no Python loop per day)."""
    y = np.empty_like(shocks)
    prev = y0
    for s in range(0, len(shocks), _CHUNK):
        u = shocks[s : s + _CHUNK]
        powers = phi ** np.arange(1, len(u) + 1, dtype=np.float64)
        seg = powers * (prev + np.cumsum(u / powers))
        y[s : s + len(u)] = seg
        prev = float(seg[-1])
    return y


def build_path(
    g: np.random.Generator,
    price: float,
    base_vol: float,
    typical_move: float,
    avg_volume: int,
    n: int,
    reactions: Sequence[int],
) -> DailyPath:
    """A path of `n` sessions around reference level `price` (dollars) with diffusive vol
    `base_vol` (per year), an earnings jump of about `typical_move` (fraction) on each session
    index in `reactions`, and volumes around `avg_volume` (shares per day)."""
    sd = base_vol / math.sqrt(252.0)
    gap = g.normal(0.0, sd * math.sqrt(0.25), n)
    intra = g.normal(0.0, sd * math.sqrt(0.75), n)
    wick_hi = np.abs(g.normal(0.0, sd * 0.45, n))
    wick_lo = np.abs(g.normal(0.0, sd * 0.45, n))
    vol_noise = np.exp(g.normal(0.0, 0.3, n))
    y0 = float(g.normal(0.0, 0.12))
    jumps = np.zeros(n)
    for i in reactions:
        size = typical_move * math.exp(g.normal(-0.08, 0.4))
        sign = 1.0 if g.uniform() < 0.55 else -1.0
        jump = math.log1p(sign * min(size, 0.45))
        share = g.uniform(0.75, 1.0)  # the open moves most of the jump
        gap[i] += jump * share
        intra[i] += jump * (1.0 - share)
        wick_hi[i] *= 2.5
        wick_lo[i] *= 2.5
        vol_noise[i] *= g.uniform(3.0, 6.0)
        if i + 1 < n:
            vol_noise[i + 1] *= 1.8
        jumps[i] = jump
    # Mild mean reversion of the log price towards the reference level keeps years of random
    # walk at a realistic price; its daily pull is tiny next to any jump. The open is the
    # previous close plus the pull, the drift and the gap.
    phi = 1.0 - _KAPPA
    target = math.log(price)
    drift = -0.5 * sd * sd
    y = _mean_reverting(y0, drift + gap + intra, phi)
    y_prev = np.concatenate([[y0], y[:-1]])
    o_arr = np.exp(target + phi * y_prev + drift + gap)
    c_arr = np.exp(target + y)
    ro, rc = np.round(o_arr, 2), np.round(c_arr, 2)
    hi = np.maximum(np.round(np.maximum(o_arr, c_arr) * np.exp(wick_hi), 2), np.maximum(ro, rc))
    lo = np.minimum(np.round(np.minimum(o_arr, c_arr) * np.exp(-wick_lo), 2), np.minimum(ro, rc))
    vols = np.floor(avg_volume * vol_noise).astype(np.int64)
    f64 = np.float64
    return DailyPath(ro.astype(f64), hi.astype(f64), lo.astype(f64), rc.astype(f64), vols, jumps)
