"""The analysis codec of recordings: `Analysis` <-> compact JSON, exact round trip.

Why not the JSON rows of engine/schema.py (`--json`, the ledger's payload): they are a flat,
documented view for people and scripts, and the console's drill-down reads more than they keep
(both legs' quotes, the past moves one by one, the term points, the skew fit's points and
coefficients). A replay must show what the console showed, so the codec writes the whole object.

The encoding follows the dataclasses' type hints (no per-class code to keep in step): objects by
field name, fields equal to their default left out; dates and datetimes ISO-8601; enums and
Literals by value; tuples as arrays; `Unavailable` as {"n/a": reason}. A union is told apart by
the JSON kind (null, number, string, array, object; an object with "n/a" is `Unavailable`).
Floats are written with `repr` precision (exact), NaN and infinities as the JSON extensions
Python reads back. Units are the Analysis's own (see analytics/analysis.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable
from typing import Any, Final

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.domain import Unavailable

__all__ = ["CODEC_VERSION", "CodecError", "decode_analysis", "encode_analysis"]

CODEC_VERSION: Final = 1
_NA: Final = "n/a"

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


class CodecError(ValueError):
    """A recorded value that does not decode (a corrupt or foreign recording)."""


def encode_analysis(analysis: Analysis) -> str:
    """The compact JSON text of `analysis` (no whitespace)."""
    return json.dumps(_codec(Analysis)[0](analysis), separators=(",", ":"), ensure_ascii=False)


def decode_analysis(text: str | bytes) -> Analysis:
    """The Analysis `encode_analysis` wrote; CodecError when `text` is not one."""
    try:
        data = json.loads(text)
        result = _codec(Analysis)[1](data)
    except CodecError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CodecError(f"not a recorded analysis: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, Analysis):
        raise CodecError("not a recorded analysis")
    return result


_CACHE: dict[Any, tuple[Encoder, Decoder]] = {}


def _codec(tp: Any) -> tuple[Encoder, Decoder]:
    """Encoder and decoder of type `tp` (built once per type)."""
    found = _CACHE.get(tp)
    if found is None:
        found = _build(tp)
        _CACHE[tp] = found
    return found


def _ident(x: Any) -> Any:
    return x


def _expect(kind: type | tuple[type, ...], what: str) -> Decoder:
    def check(x: Any) -> Any:
        if not isinstance(x, kind) or (isinstance(x, bool) and kind is not bool):
            raise CodecError(f"expected {what}, got {type(x).__name__}")
        return x

    return check


def _is_member(tp: Any, value: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return isinstance(value, tuple)
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, tp)


def _build(tp: Any) -> tuple[Encoder, Decoder]:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return _tuple(typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(tp))
    if tp is type(None):
        return _ident, _ident
    if tp is bool:
        return bool, _expect(bool, "a boolean")
    if tp is int:
        return int, _expect(int, "an integer")
    if tp is float:
        number = _expect((int, float), "a number")
        return float, lambda x: float(number(x))
    if tp is str:
        return str, _expect(str, "a string")
    if tp is dt.datetime:
        return lambda x: x.isoformat(), lambda x: dt.datetime.fromisoformat(_str(x))
    if tp is dt.date:
        return lambda x: x.isoformat(), lambda x: dt.date.fromisoformat(_str(x))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda x: x.value, lambda x: tp(x)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)

        def literal(x: Any) -> Any:
            if x not in allowed:
                raise CodecError(f"{x!r} is not one of {allowed}")
            return x

        return _ident, literal
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    raise TypeError(f"the analysis codec has no rule for {tp!r}")


def _str(x: Any) -> str:
    if not isinstance(x, str):
        raise CodecError(f"expected a string, got {type(x).__name__}")
    return x


def _list(x: Any) -> list[Any]:
    if not isinstance(x, list):
        raise CodecError(f"expected an array, got {type(x).__name__}")
    return x


def _tuple(args: tuple[Any, ...]) -> tuple[Encoder, Decoder]:
    if len(args) == 2 and args[1] is Ellipsis:
        enc, dec = _codec(args[0])
        return (lambda x: [enc(v) for v in x]), (lambda x: tuple(dec(v) for v in _list(x)))
    parts = [_codec(a) for a in args]

    def decode(x: Any) -> tuple[Any, ...]:
        items = _list(x)
        if len(items) != len(parts):
            raise CodecError(f"expected {len(parts)} items, got {len(items)}")
        return tuple(p[1](v) for p, v in zip(parts, items, strict=True))

    return (lambda x: [p[0](v) for p, v in zip(parts, x, strict=True)]), decode


_JSON_KIND: Final[dict[type, str]] = {
    type(None): "null", bool: "bool", int: "number", float: "number", str: "string",
    list: "array", dict: "object",
}  # fmt: skip


def _kind_of(tp: Any) -> str:
    """The JSON kind a member of a union is written as."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        return "array"
    if origin is typing.Literal or tp in (dt.date, dt.datetime):
        return "string"
    if tp in _JSON_KIND:
        return _JSON_KIND[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "string"
    return "object"


def _union(args: tuple[Any, ...]) -> tuple[Encoder, Decoder]:
    members = [(a, _codec(a)) for a in args]
    by_kind: dict[str, list[tuple[Any, tuple[Encoder, Decoder]]]] = {}
    for a, c in members:
        by_kind.setdefault(_kind_of(a), []).append((a, c))
    for kind, group in by_kind.items():
        ambiguous = kind != "object" or not any(a is Unavailable for a, _ in group)
        if len(group) > 1 and (ambiguous or len(group) > 2):
            raise TypeError(f"the analysis codec cannot tell apart {[a for a, _ in group]}")

    def pick(value: Any) -> tuple[Encoder, Decoder]:
        for a, c in members:
            if _is_member(a, value):
                return c
        raise TypeError(f"{type(value).__name__} is none of {args}")

    def decode(x: Any) -> Any:
        kind = "null" if x is None else _JSON_KIND.get(type(x), "?")
        group = by_kind.get(kind)
        if not group:
            raise CodecError(f"unexpected {kind} in a union of {args}")
        if len(group) > 1:  # a dataclass or Unavailable
            want = Unavailable if _NA in x else next(a for a, _ in group if a is not Unavailable)
            group = [g for g in group if g[0] is want]
        return group[0][1][1](x)

    return (lambda v: pick(v)[0](v)), decode


def _dataclass(cls: type) -> tuple[Encoder, Decoder]:
    if cls is Unavailable:
        return (lambda u: {_NA: u.reason}), (lambda x: Unavailable(_str(_obj(x)[_NA])))
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    missing = object()
    defaults = {
        f.name: f.default if f.default is not dataclasses.MISSING else missing for f in fields
    }
    for f in fields:
        if f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
    codecs: dict[str, tuple[Encoder, Decoder]] = {}

    def codec(name: str) -> tuple[Encoder, Decoder]:  # built on first use: types may nest
        if name not in codecs:
            codecs[name] = _codec(hints[name])
        return codecs[name]

    def encode(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields:
            v = getattr(value, f.name)
            d = defaults[f.name]
            if d is not missing and type(v) is type(d) and v == d:
                continue
            out[f.name] = codec(f.name)[0](v)
        return out

    def decode(x: Any) -> Any:
        data = _obj(x)
        unknown = set(data) - set(defaults)
        if unknown:
            raise CodecError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
        kwargs: dict[str, Any] = {}
        for f in fields:
            if f.name in data:
                kwargs[f.name] = codec(f.name)[1](data[f.name])
            elif defaults[f.name] is missing:
                raise CodecError(f"{cls.__name__}.{f.name} is missing")
        return cls(**kwargs)

    return encode, decode


def _obj(x: Any) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise CodecError(f"expected an object, got {type(x).__name__}")
    return x
