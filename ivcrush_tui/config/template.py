"""The commented default config file: rendered from the schema, written private and atomic by
`ivcrush config init`.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import tomli_w

from ivcrush_tui.config.alert_rules import ALERTS_TEMPLATE
from ivcrush_tui.config.schema import DEFAULTS, SECTIONS, TOP_LEVEL, KeySpec
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.files import private_dir, replace_atomically, write_fd

# -- the commented default file ------------------------------------------------------------------

_HEADER = """\
# ivcrush configuration (TOML). Every key is optional: a missing key takes the default shown.
# Written by `ivcrush config init`; config.example.toml in the repository is the same file.
# Where it is read from: --config PATH, else $IVCRUSH_CONFIG, else the platform config folder
# (e.g. ~/.config/ivcrush/config.toml on Linux).
# Secrets: prefer the environment variables TRADIER_TOKEN and ALPHAVANTAGE_API_KEY; they override
# this file. If you put them here, keep the file private (mode 0600).
# With neither a Tradier token nor an Alpha Vantage key, ivcrush runs on its built-in demo market.
# Relative paths are relative to this file's folder; ~ is expanded.
"""


def _value_line(name: str, value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    return tomli_w.dumps({name: value}).strip()


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, 96)]


def _spec_lines(spec: KeySpec, default: Any) -> list[str]:
    lines = _comment(spec.comment)
    if default is None or spec.kind in ("path", "secret"):
        lines.append(f"# {spec.name} = {spec.example}")
    else:
        lines.append(_value_line(spec.name, default))
    return lines


def render_default_config() -> str:
    """The commented default config file (platform independent text)."""
    lines = _HEADER.splitlines()
    lines.append("")
    for spec in TOP_LEVEL:
        lines += _spec_lines(spec, False)
    for section, (_, specs) in SECTIONS.items():
        defaults = DEFAULTS[section]
        lines += ["", f"[{section}]"]
        for spec in specs:
            if spec.kind == "keymap":
                continue  # a sub-table: written after the section's plain keys
            lines += _spec_lines(spec, defaults.get(spec.name))
        for spec in specs:
            if spec.kind == "keymap":
                lines += ["", f"[{section}.{spec.name}]", *_comment(spec.comment)]
                lines += ['# "app.quit" = "ctrl+q"', '# "app.rescan" = "r,f5"']
    return "\n".join(lines) + "\n" + ALERTS_TEMPLATE


def write_default_config(path: Path, *, force: bool = False) -> Path:
    """Write the commented default config to `path` with mode 0600; returns the path.

    Refuses to replace an existing file unless `force` (IvCrushError CONFIG). With `force` the old
    file is replaced atomically (a crash leaves the old or the new file, never half of one).
    """
    path = Path(path).expanduser()
    text = render_default_config().encode()
    try:
        private_dir(path.parent)
        if not force:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                raise IvCrushError(
                    ErrorCode.CONFIG,
                    f"{path} already exists; not overwriting it (use --force to replace it)",
                ) from None
            write_fd(fd, text, cleanup=lambda: path.unlink(missing_ok=True))
            return path
        replace_atomically(path, text)
    except OSError as exc:
        raise IvCrushError(
            ErrorCode.CONFIG, f"cannot write the config file {path}: {exc.strerror or exc}"
        ) from exc
    return path
