"""The quote codec of recordings: one symbol's quotes over a stretch of time as one compact blob.

A recording of 100 names in the entry window holds millions of quotes (up to 4/s for each of
3-5 symbols per name), so quotes are stored in chunks, by column, not as JSON rows:

- times: integer milliseconds since the chunk's first quote, delta-coded;
- bid, ask, last: each a presence mask and its values. Prices with at most 4 decimals (every
  listed price) are stored as integer ten-thousandths, delta-coded (ask and last as their offset
  from the bid: a steady spread costs nothing); a column with any other value keeps its IEEE
  float64s as they are, so the round trip is exact either way;
- volume (the day's cumulative volume, shares or contracts): presence mask, delta-coded int64.

Every integer series is stored as its first value and its deltas less the smallest delta,
divided by their common divisor (a cent grid, a steady 250 ms pace: most deltas become 0 or 1),
zigzag coded. Each int64/float64 column is byte-shuffled (all first bytes, then all second
bytes, ...): small deltas leave long runs of zero bytes, which zlib then folds away. A quiet
quote costs about 1-2 bytes. Prices in dollars per share; times aware UTC, millisecond precision.
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
_MODE_TICKS_VS_BID: Final = 2  # ticks, as the offset from the same row's bid (0 if no bid)
_PRICES: Final = ("bid", "ask", "last")


class QuoteCodecError(ValueError):
    """A quote chunk that does not decode (a corrupt or foreign recording)."""


def _shuffle(a: np.ndarray) -> bytes:
    """Zigzag (small negatives become small positives: high bytes 0, not 0xFF), then bytes
    grouped by significance."""
    a = a.astype("<i8", copy=False)
    zig = (a << 1) ^ (a >> 63)
    return zig.view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(data: bytes, n: int, dtype: str) -> np.ndarray:
    """The inverse of `_shuffle` ("<i8"), or of the plain byte grouping ("<f8")."""
    if len(data) != 8 * n:
        raise QuoteCodecError("truncated column")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(8, n).T.copy()
    if dtype == "<f8":
        return raw.view("<f8").reshape(n)
    zig = raw.view("<u8").reshape(n)
    out: np.ndarray = (zig >> np.uint64(1)).astype("<i8") ^ -((zig & np.uint64(1)).astype("<i8"))
    return out


_FRAME = struct.Struct("<qqq")  # first value, offset and scale of the other deltas


def _ints(a: np.ndarray) -> bytes:
    """An int64 series: its first value, then its deltas as (delta - offset) / scale, where
    offset is the smallest delta and scale the deltas' common divisor (a cent grid, a steady
    250 ms pace), zigzag-coded and byte-shuffled. Exact for any int64 series that does not
    overflow."""
    if len(a) == 0:
        return _FRAME.pack(0, 0, 1)
    d = np.diff(a.astype(np.int64))
    offset = int(d.min()) if len(d) else 0
    rest = d - offset
    scale = int(np.gcd.reduce(rest)) if len(rest) else 0
    scale = scale or 1
    return _FRAME.pack(int(a[0]), offset, scale) + _shuffle(rest // scale)


def _read_ints(r: _Reader, count: int) -> np.ndarray:
    first, offset, scale = r.unpack(_FRAME)
    if scale <= 0:
        raise QuoteCodecError("bad column scale")
    m = max(count - 1, 0)
    rest = _unshuffle(r.take(8 * m), m, "<i8")
    out = np.empty(count, dtype=np.int64)
    if count:
        out[0] = first
        out[1:] = first + np.cumsum(rest * scale + offset)
    return out


def _column(
    values: Sequence[float | None], ref: np.ndarray | None
) -> tuple[bytes, np.ndarray | None]:
    """One price column, and its ticks per row (0 where absent; None when not in ticks).

    `ref`: the bid's ticks per row: a column in ticks is then stored as its offset from the bid
    (a steady spread, or a last trade at the bid, deltas to 0)."""
    n = len(values)
    mask = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    present = np.fromiter((v for v in values if v is not None), dtype=np.float64)
    ticks = np.round(present * _TICKS)
    exact = bool(np.all(np.abs(ticks) < 2**50)) and bool(np.array_equal(ticks / _TICKS, present))
    row_ticks: np.ndarray | None = None
    if exact:
        itk = ticks.astype(np.int64)
        row_ticks = np.zeros(n, dtype=np.int64)
        row_ticks[mask] = itk
        mode = _MODE_TICKS
        if ref is not None:
            itk = itk - ref[mask]
            mode = _MODE_TICKS_VS_BID
        body = _ints(itk)
    else:
        body = present.astype("<f8").view(np.uint8).reshape(-1, 8).T.tobytes()
        mode = _MODE_FLOAT
    packed = np.packbits(mask).tobytes()
    return struct.pack("<BI", mode, len(present)) + packed + body, row_ticks


def encode_quotes(quotes: Sequence[RecordedQuote], start_ms: int) -> bytes:
    """The blob of `quotes` (one symbol, in time order) whose times count from `start_ms`."""
    n = len(quotes)
    times = np.fromiter((to_ms(q.at) - start_ms for q in quotes), dtype=np.int64, count=n)
    if n and (times[0] < 0 or np.any(np.diff(times) < 0)):
        raise ValueError("quotes must be in time order, none before start_ms")
    parts = [_HEADER.pack(QUOTE_CODEC, n), _ints(times)]
    bid, ref = _column([q.bid for q in quotes], None)
    parts.append(bid)
    for name in _PRICES[1:]:
        parts.append(_column([getattr(q, name) for q in quotes], ref)[0])
    vols = [q.volume for q in quotes]
    vmask = np.fromiter((v is not None for v in vols), dtype=bool, count=n)
    vals = np.fromiter((v for v in vols if v is not None), dtype=np.int64)
    parts.append(struct.pack("<I", len(vals)) + np.packbits(vmask).tobytes() + _ints(vals))
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


def _read_prices(
    r: _Reader, n: int, ref: np.ndarray | None
) -> tuple[list[float | None], np.ndarray | None]:
    """One price column, and its ticks per row (as `_column` returns them)."""
    mode, count = r.unpack(_COL)
    mask = _read_mask(r, n, count)
    row_ticks: np.ndarray | None = None
    if mode in (_MODE_TICKS, _MODE_TICKS_VS_BID):
        itk = _read_ints(r, count)
        if mode == _MODE_TICKS_VS_BID:
            if ref is None:
                raise QuoteCodecError("a column against the bid, with no bid in ticks")
            itk = itk + ref[mask]
        row_ticks = np.zeros(n, dtype=np.int64)
        row_ticks[mask] = itk
        values = itk / _TICKS
    elif mode == _MODE_FLOAT:
        values = _unshuffle(r.take(8 * count), count, "<f8")
    else:
        raise QuoteCodecError(f"unknown column mode {mode}")
    out: list[float | None] = [None] * n
    for i, v in zip(np.flatnonzero(mask).tolist(), values.tolist(), strict=True):
        out[i] = v
    return out, row_ticks


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
    times = (_read_ints(r, n) + start_ms).tolist()
    bids, ref = _read_prices(r, n, None)
    asks, _ = _read_prices(r, n, ref)
    lasts, _ = _read_prices(r, n, ref)
    (count,) = r.unpack(_COUNT)
    vmask = _read_mask(r, n, count)
    vals = _read_ints(r, count).tolist()
    volumes: list[int | None] = [None] * n
    for i, v in zip(np.flatnonzero(vmask).tolist(), vals, strict=True):
        volumes[i] = int(v)
    if r.pos != len(raw):
        raise QuoteCodecError("trailing bytes in chunk")
    return [
        RecordedQuote(symbol, from_ms(int(t)), bids[i], asks[i], lasts[i], volumes[i])
        for i, t in enumerate(times)
    ]
