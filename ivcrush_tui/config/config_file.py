"""Reading the config file safely: only a regular file of bounded size, refused when others can
write it; a TOML syntax error as a problem with its line and column."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

from ivcrush_tui.config.problems import ConfigProblem, Problems

__all__ = [
    "MAX_CONFIG_BYTES",
    "NotAConfigFileError",
    "check_file_mode",
    "read_config_file",
    "toml_problem",
]


# A config is a few kB; the cap keeps `--config /dev/zero` or a huge file from eating memory.
MAX_CONFIG_BYTES = 1024 * 1024


class NotAConfigFileError(Exception):
    """The path exists but is not something to read as a config (its text says why)."""


def read_config_file(path: Path) -> tuple[bytes, int]:
    """The file's bytes and its mode. Only a regular file of at most MAX_CONFIG_BYTES is read: a
    FIFO would block forever and a device (/dev/zero) never ends, so both are refused unopened."""
    st = path.stat()  # FileNotFoundError / OSError propagate
    if stat.S_ISDIR(st.st_mode):
        raise NotAConfigFileError("is a folder, not a config file")
    if not stat.S_ISREG(st.st_mode):
        raise NotAConfigFileError("is not a regular file (a device, FIFO or socket)")
    if st.st_size > MAX_CONFIG_BYTES:
        raise NotAConfigFileError(
            f"is larger than {MAX_CONFIG_BYTES // 1024} kB: not a config file"
        )
    with path.open("rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)  # the file may have grown since the stat
    if len(raw) > MAX_CONFIG_BYTES:
        raise NotAConfigFileError(
            f"is larger than {MAX_CONFIG_BYTES // 1024} kB: not a config file"
        )
    return raw, st.st_mode


def check_file_mode(
    path: Path, mode: int, holds_secret: bool, problems: Problems, warnings: list[str]
) -> None:
    """Anyone who can write the config can point base_url at their own server and receive the
    token: a world-writable file is refused. One that others can read is only warned about when
    it holds a secret (a file with no secret reveals nothing)."""
    if os.name != "posix":
        return
    octal = f"{stat.S_IMODE(mode):04o}"
    if mode & stat.S_IWOTH:
        problems.add(
            "<file>",
            str(path),
            f"is writable by every user (mode {octal}): anyone could redirect base_url and"
            f" receive your token; run: chmod 600 {path}",
        )
        return
    if holds_secret and mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(
            f"{path} holds a secret and is readable by other users (mode {octal});"
            f" run: chmod 600 {path}"
        )


def toml_problem(exc: tomllib.TOMLDecodeError) -> ConfigProblem:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    where = f" at line {m.group(1)}, column {m.group(2)}" if m else ""
    detail = msg[: m.start()].strip() if m else msg
    return ConfigProblem("<file>", "", f"TOML syntax error{where}: {detail}")
