"""Checking a config document key by key against the schema: types, ranges, paths, URLs and the
keymap; unknown keys with a suggestion."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivcrush_tui.config.problems import Problems
from ivcrush_tui.config.schema import SECTIONS, TOP_LEVEL, KeySpec, key_paths
from ivcrush_tui.config.settings import Secret
from ivcrush_tui.keymap import BINDING_IDS, key_problem

__all__ = ["show", "suggest", "validate"]


def show(spec: KeySpec | None, value: object) -> str:
    if spec is None:  # an unknown key might be a mistyped secret: show only its type
        return f"<{type(value).__name__}>"
    if spec.kind == "secret":
        return "***"
    if spec.kind == "url" and isinstance(value, str):
        value = _without_userinfo(value)  # a password in a URL is a secret too
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _range_why(spec: KeySpec) -> str | None:
    lo, hi = spec.lo, spec.hi
    if lo is not None and hi is not None:
        left = f"> {lo:g}" if spec.lo_exclusive else f">= {lo:g}"
        return f"must be {left} and <= {hi:g}"
    return None


def _check_number(spec: KeySpec, value: float) -> str | None:
    lo, hi = spec.lo, spec.hi
    too_low = lo is not None and (value <= lo if spec.lo_exclusive else value < lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        why = _range_why(spec) or "out of range"
        if spec.name == "risk_free_rate" and value > 0.5:
            why += " (a fraction: 0.04 means 4 %)"
        return why
    return None


def _convert(spec: KeySpec, value: object, base_dir: Path | None) -> tuple[Any, str | None]:
    """(converted value, None) or (None, why it is invalid)."""
    kind = spec.kind
    if kind == "bool":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "must be an integer"
        return value, _check_number(spec, value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        if not math.isfinite(value):
            return None, "must be a finite number"
        return float(value), _check_number(spec, float(value))
    if not isinstance(value, str):
        return None, "must be a string"
    if kind == "secret":
        text = value.strip()
        if not text:
            return None, "must not be empty (remove the key to leave it unset)"
        if any(c.isspace() for c in text):
            return None, "must not contain whitespace"
        return Secret(text), None
    if kind == "url":
        return _check_url(spec, value)
    if kind == "path":
        if not value.strip():
            return None, "must not be empty"
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return path, None
    # str
    if not value.strip():
        return None, "must not be empty"
    if spec.choices and value not in spec.choices:
        return None, "must be one of " + ", ".join(spec.choices)
    return value, None


def _without_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{tail}"


def _check_url(spec: KeySpec, value: str) -> tuple[Any, str | None]:
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, "must be an http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None, "must be an http(s) URL"
    if "@" in parts.netloc:
        # httpx would send these as Basic auth instead of the token, and log them with the URL.
        return None, "must not contain a user name or password (credentials go in token/api_key)"
    if parts.query or parts.fragment:
        return None, "must not contain a query or fragment"
    if spec.url_suffix and not parts.path.endswith(spec.url_suffix):
        return None, f"must end with {spec.url_suffix}"
    return url, None


def _flatten_keymap(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, object]]:
    """(binding id, value) pairs; a dotted TOML key (`app.quit = "f10"`) arrives as a nested table,
    so nested tables are joined back into dotted ids."""
    out: list[tuple[str, object]] = []
    for name, value in table.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            out += _flatten_keymap(value, full + ".")
        else:
            out.append((full, value))
    return out


def _check_keymap(value: object, problems: Problems) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        problems.add("ui.keymap", show(None, value), 'must be a table of binding id = "keys"')
        return ()
    pairs: list[tuple[str, str]] = []
    for name, keys in _flatten_keymap(value):
        path = f"ui.keymap.{name}"
        if name not in BINDING_IDS:
            problems.add(
                path,
                "",
                "unknown binding id"
                + suggest(name, list(BINDING_IDS))
                + "; valid ids: "
                + ", ".join(BINDING_IDS),
            )
        elif not isinstance(keys, str) or not keys.strip():
            problems.add(path, show(None, keys), 'must be a non-empty string of keys, e.g. "f5"')
        else:
            key_list = [k.strip() for k in keys.split(",")]
            why = next(filter(None, map(key_problem, key_list)), None)
            if why:
                problems.add(path, repr(keys), why)
            else:
                pairs.append((name, ",".join(key_list)))
    return tuple(pairs)


def suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate(
    doc: Mapping[str, Any], base_dir: Path | None, problems: Problems
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Checked values of the keys present in `doc`, per section; and the top-level `demo`."""
    out: dict[str, dict[str, Any]] = {sec: {} for sec in SECTIONS}
    force_demo = False
    top_specs = {s.name: s for s in TOP_LEVEL}
    for name, value in doc.items():
        if name in SECTIONS:
            if not isinstance(value, dict):
                problems.add(name, show(None, value), "must be a table ([" + name + "])")
                continue
            _validate_section(name, value, base_dir, out[name], problems)
        elif name in top_specs:
            converted, why = _convert(top_specs[name], value, base_dir)
            if why:
                problems.add(name, show(top_specs[name], value), why)
            else:
                force_demo = bool(converted)
        else:
            what = "unknown section" if isinstance(value, dict) else "unknown key"
            options = list(SECTIONS) + list(top_specs) + list(key_paths())
            problems.add(name, show(None, value), what + suggest(name, options))
    return out, force_demo


def _validate_section(
    section: str,
    table: Mapping[str, Any],
    base_dir: Path | None,
    out: dict[str, Any],
    problems: Problems,
) -> None:
    specs = {s.name: s for s in SECTIONS[section][1]}
    for name, value in table.items():
        path = f"{section}.{name}"
        spec = specs.get(name)
        if spec is None:
            problems.add(path, show(None, value), "unknown key" + suggest(name, list(specs)))
            continue
        if spec.kind == "keymap":
            out[name] = _check_keymap(value, problems)
            continue
        converted, why = _convert(spec, value, base_dir)
        if why:
            problems.add(path, show(spec, value), why)
        else:
            out[name] = converted
