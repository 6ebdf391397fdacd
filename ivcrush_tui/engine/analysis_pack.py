"""How a recorded analysis's JSON is stored: compressed, against the symbol's previous one.

Between two analyses of a name in the entry window the structure hardly changes (the same
events, past moves, strikes, reasons) while most numbers move a little (spot, quotes, IVs, the
fits). So the JSON text (engine/analysis_codec.py) is packed in one of three ways, told apart by
the first byte:

- STANDALONE: zlib of the text (the first row of a chain; every KEYFRAME_EVERY rows);
- DICTIONARY: zlib with the previous text as preset dictionary (repeated text costs nothing);
- FLOATS: the previous text's shape (the same objects, keys and array lengths) with its values
  changed: the floats as their IEEE-754 bits XOR the previous ones, byte-shuffled, and the other
  values that changed (the time, a reason's text) as a small JSON patch, all zlib'ed. A float
  that did not move costs nothing; one that moved a little keeps its sign, exponent and leading
  mantissa bits, so it costs about five bytes instead of the ~9 of its compressed digits.

Every mode is lossless: `unpack(pack(t, b), b) == t` for the codec's compact JSON.
"""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

__all__ = ["PackError", "check", "join_parts", "pack", "split_parts", "unpack"]

STANDALONE: Final = 0
DICTIONARY: Final = 1
FLOATS: Final = 2
LEVEL: Final = 6


class PackError(ValueError):
    """Packed bytes that do not unpack (damaged, or their base is not the right one)."""


class _Slot:
    """Where a leaf (a number, string, boolean or null) was in the shape."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Slot)

    def __hash__(self) -> int:
        return 0


_SLOT: Final = _Slot()
_PATCH_LEN = struct.Struct("<I")


def _split(value: Any, leaves: list[Any]) -> Any:
    """The shape of `value` (its containers and keys) with each leaf appended to `leaves`."""
    if isinstance(value, list):
        return [_split(v, leaves) for v in value]
    if isinstance(value, dict):
        return {k: _split(v, leaves) for k, v in value.items()}
    leaves.append(value)
    return _SLOT


def _join(shape: Any, leaves: list[Any], at: list[int]) -> Any:
    if shape is _SLOT:
        i = at[0]
        at[0] += 1
        return leaves[i]
    if isinstance(shape, list):
        return [_join(v, leaves, at) for v in shape]
    if isinstance(shape, dict):
        return {k: _join(v, leaves, at) for k, v in shape.items()}
    return shape


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _parts(text: bytes) -> tuple[Any, list[Any], np.ndarray]:
    """Shape, leaves, and the positions of the float leaves."""
    leaves: list[Any] = []
    shape = _split(json.loads(text), leaves)
    where = np.array([i for i, v in enumerate(leaves) if type(v) is float], dtype=np.int64)
    return shape, leaves, where


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _floats_body(text: bytes, base: bytes) -> bytes | None:
    """The FLOATS body of `text` against `base`, or None when their shapes differ."""
    shape, leaves, _ = _parts(text)
    base_shape, base_leaves, where = _parts(base)
    if len(leaves) != len(base_leaves) or shape != base_shape:
        return None
    new = np.zeros(len(where), dtype="<f8")
    patch: list[list[Any]] = []
    float_at = set(where.tolist())
    for j, i in enumerate(where.tolist()):
        if type(leaves[i]) is float:
            new[j] = leaves[i]
        else:  # no longer a float: XOR with itself (0 bits) and patched below
            new[j] = base_leaves[i]
            patch.append([i, leaves[i]])
    for i, (a, b) in enumerate(zip(leaves, base_leaves, strict=True)):
        if i not in float_at and not _same(a, b):
            patch.append([i, a])
    old = np.array([base_leaves[i] for i in where.tolist()], dtype="<f8")
    xor = new.view("<u8") ^ old.view("<u8")
    encoded_patch = _dumps(patch)
    return _PATCH_LEN.pack(len(encoded_patch)) + encoded_patch + _shuffle(xor)


def _shuffle(bits: np.ndarray) -> bytes:
    return bits.view(np.uint8).reshape(-1, 8).T.tobytes()


def pack(text: bytes, base: bytes | None) -> bytes:
    """`text` (the codec's compact JSON) packed, against `base` (the previous text) if given."""
    if base is None:
        return bytes([STANDALONE]) + zlib.compress(text, LEVEL)
    body = _floats_body(text, base)
    if body is not None:
        packed = bytes([FLOATS]) + zlib.compress(body, LEVEL)
        # Checked as `unpack` rebuilds it: byte for byte, or not used (dict equality ignores
        # key order; 1 == True).
        with contextlib.suppress(PackError):
            if unpack(packed, base) == text:
                return packed
    comp = zlib.compressobj(LEVEL, zdict=base)
    return bytes([DICTIONARY]) + comp.compress(text) + comp.flush()


def unpack(data: bytes, base: bytes | None) -> bytes:
    """The text `pack` packed; PackError when `data` is damaged or needs another base."""
    if not data:
        raise PackError("empty row")
    mode, body = data[0], data[1:]
    try:
        if mode == STANDALONE:
            return zlib.decompress(body)
        if base is None:
            raise PackError("a chained row has no base")
        if mode == DICTIONARY:
            d = zlib.decompressobj(zdict=base)
            text = d.decompress(body) + d.flush()
            if not d.eof:
                raise PackError("incomplete row")
            return text
        if mode == FLOATS:
            shape, leaves, where = _parts(base)
            raw = zlib.decompress(body)
            (size,) = _PATCH_LEN.unpack(raw[: _PATCH_LEN.size])
            patch = json.loads(raw[_PATCH_LEN.size : _PATCH_LEN.size + size])
            bits = raw[_PATCH_LEN.size + size :]
            n = len(where)
            if len(bits) != 8 * n or not isinstance(patch, list):
                raise PackError("the row does not fit its base")
            old = np.array([leaves[i] for i in where.tolist()], dtype="<f8")
            xor = np.frombuffer(bits, dtype=np.uint8).reshape(8, n).T.copy().view("<u8")
            new = (xor.reshape(n) ^ old.view("<u8")).view("<f8")
            for i, v in zip(where.tolist(), new.tolist(), strict=True):
                leaves[i] = v
            for i, v in patch:
                leaves[i] = v
            return _dumps(_join(shape, leaves, [0]))
    except zlib.error as exc:
        raise PackError(f"row does not decompress ({exc})") from exc
    except (ValueError, UnicodeDecodeError, TypeError, IndexError, struct.error) as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(f"base is not JSON ({exc})") from exc
    raise PackError(f"unknown packing {mode}")


def check(data: bytes) -> None:
    """What can be checked of packed bytes without their base (fast: no JSON): the form is
    known, and a standalone or float row decompresses whole (zlib's checksum). PackError if not."""
    if not data or data[0] not in (STANDALONE, DICTIONARY, FLOATS):
        raise PackError("unknown packing")
    if data[0] != DICTIONARY:
        try:
            zlib.decompress(data[1:])
        except zlib.error as exc:
            raise PackError(f"row does not decompress ({exc})") from exc


_PART = struct.Struct("<qI")  # an analysis's time (ms since the epoch) and packed length


def join_parts(parts: Sequence[tuple[int, bytes]]) -> bytes:
    """One row of several packed analyses: their count, then (time in ms, length, bytes) each."""
    out = [_PATCH_LEN.pack(len(parts))]
    for at_ms, data in parts:
        out.append(_PART.pack(at_ms, len(data)))
        out.append(data)
    return b"".join(out)


def split_parts(row: bytes) -> list[tuple[int, bytes]]:
    """The (time in ms, packed bytes) of each analysis of a row; PackError when it is cut."""
    try:
        (count,) = _PATCH_LEN.unpack_from(row, 0)
        pos = _PATCH_LEN.size
        parts: list[tuple[int, bytes]] = []
        for _ in range(count):
            at_ms, size = _PART.unpack_from(row, pos)
            pos += _PART.size
            if pos + size > len(row):
                raise PackError("row is cut")
            parts.append((at_ms, row[pos : pos + size]))
            pos += size
    except struct.error as exc:
        raise PackError("row is cut") from exc
    if pos != len(row) or not parts:
        raise PackError("row has trailing bytes" if parts else "empty row")
    return parts
