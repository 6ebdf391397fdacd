"""The quote codec of recordings: one symbol's quotes over a stretch of time as one compact blob.

A recording of 100 names in the entry window holds millions of quotes (up to 4/s for each of
3-5 symbols per name), so quotes are stored in chunks, by column, not as JSON rows:

- times: integer milliseconds since the chunk's first quote, delta-coded (int64);
- bid, ask, last: each a presence mask and its values. Prices with at most 4 decimals (every
  listed price) are stored as integer ten-thousandths, delta-coded; a column with any other value
  keeps its IEEE float64s as they are, so the round trip is exact either way;
- volume (the day's cumulative volume, shares or contracts): presence mask, delta-coded int64.

Each int64/float64 column is byte-shuffled (all first bytes, then all second bytes, ...): small
deltas leave long runs of zero bytes, which zlib then folds away. A quiet quote costs about 1-2
bytes. Prices in dollars per share; times aware UTC, millisecond precision.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np

from ivcrush_tui.engine.recorded import RecordedQuote, from_ms, to_ms

__all__ = [
    "QUOTE_CODEC",
    "QuoteCodecError",
    "RecordedQuote",
    "decode_quotes",
    "encode_quotes",
]

QUOTE_CODEC: Final = 1
_HEADER = struct.Struct("<BI")  # codec version, number of quotes
_TICKS: Final = 10_000.0  # price units per dollar in the integer form
_MODE_TICKS: Final = 0
_MODE_FLOAT: Final = 1
_PRICES: Final = ("bid", "ask", "last")


class QuoteCodecError(ValueError):
    """A quote chunk that does not decode (a corrupt or foreign recording)."""


def _shuffle(a: np.ndarray) -> bytes:
    return a.astype("<i8", copy=False).view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(data: bytes, n: int, dtype: str) -> np.ndarray:
    if len(data) != 8 * n:
        raise QuoteCodecError("truncated column")
    return np.frombuffer(data, dtype=np.uint8).reshape(8, n).T.copy().view(dtype).reshape(n)


def _delta(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out[1:] -= a[:-1]
    return out


def _column(values: Sequence[float | None]) -> bytes:
    n = len(values)
    mask = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    present = np.fromiter((v for v in values if v is not None), dtype=np.float64)
    ticks = np.round(present * _TICKS)
    exact = bool(np.all(np.abs(ticks) < 2**52)) and bool(np.array_equal(ticks / _TICKS, present))
    if exact:
        body = _shuffle(_delta(ticks.astype(np.int64)))
        mode = _MODE_TICKS
    else:
        body = present.astype("<f8").view(np.uint8).reshape(-1, 8).T.tobytes()
        mode = _MODE_FLOAT
    packed = np.packbits(mask).tobytes()
    return struct.pack("<BI", mode, len(present)) + packed + body


def encode_quotes(quotes: Sequence[RecordedQuote], start_ms: int) -> bytes:
    """The blob of `quotes` (one symbol, in time order) whose times count from `start_ms`."""
    n = len(quotes)
    times = np.fromiter((to_ms(q.at) - start_ms for q in quotes), dtype=np.int64, count=n)
    if n and (times[0] < 0 or np.any(np.diff(times) < 0)):
        raise ValueError("quotes must be in time order, none before start_ms")
    parts = [_HEADER.pack(QUOTE_CODEC, n), _shuffle(_delta(times))]
    for name in _PRICES:
        parts.append(_column([getattr(q, name) for q in quotes]))
    vols = [q.volume for q in quotes]
    vmask = np.fromiter((v is not None for v in vols), dtype=bool, count=n)
    vals = np.fromiter((v for v in vols if v is not None), dtype=np.int64)
    parts.append(
        struct.pack("<I", len(vals)) + np.packbits(vmask).tobytes() + _shuffle(_delta(vals))
    )
    return zlib.compress(b"".join(parts), 6)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise QuoteCodecError("truncated chunk")
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def unpack(self, fmt: struct.Struct) -> tuple[int, ...]:
        return fmt.unpack(self.take(fmt.size))


_COL = struct.Struct("<BI")
_COUNT = struct.Struct("<I")


def _read_mask(r: _Reader, n: int, count: int) -> np.ndarray:
    mask = np.unpackbits(np.frombuffer(r.take((n + 7) // 8), dtype=np.uint8), count=n).astype(bool)
    if int(mask.sum()) != count:
        raise QuoteCodecError("mask and values disagree")
    return mask


def _read_prices(r: _Reader, n: int) -> list[float | None]:
    mode, count = r.unpack(_COL)
    mask = _read_mask(r, n, count)
    if mode == _MODE_TICKS:
        values = np.cumsum(_unshuffle(r.take(8 * count), count, "<i8")) / _TICKS
    elif mode == _MODE_FLOAT:
        values = _unshuffle(r.take(8 * count), count, "<f8")
    else:
        raise QuoteCodecError(f"unknown column mode {mode}")
    out: list[float | None] = [None] * n
    for i, v in zip(np.flatnonzero(mask).tolist(), values.tolist(), strict=True):
        out[i] = v
    return out


def decode_quotes(symbol: str, blob: bytes, start_ms: int) -> list[RecordedQuote]:
    """The quotes `encode_quotes` packed; QuoteCodecError when `blob` is not such a chunk."""
    try:
        raw = zlib.decompress(blob)
    except zlib.error as exc:
        raise QuoteCodecError(f"chunk does not decompress: {exc}") from exc
    r = _Reader(raw)
    version, n = r.unpack(_HEADER)
    if version != QUOTE_CODEC:
        raise QuoteCodecError(f"unknown quote codec {version}")
    times = (np.cumsum(_unshuffle(r.take(8 * n), n, "<i8")) + start_ms).tolist()
    prices = [_read_prices(r, n) for _ in _PRICES]
    (count,) = r.unpack(_COUNT)
    vmask = _read_mask(r, n, count)
    vals = np.cumsum(_unshuffle(r.take(8 * count), count, "<i8")).tolist()
    volumes: list[int | None] = [None] * n
    for i, v in zip(np.flatnonzero(vmask).tolist(), vals, strict=True):
        volumes[i] = int(v)
    if r.pos != len(raw):
        raise QuoteCodecError("trailing bytes in chunk")
    bids, asks, lasts = prices
    return [
        RecordedQuote(symbol, from_ms(int(t)), bids[i], asks[i], lasts[i], volumes[i])
        for i, t in enumerate(times)
    ]
