"""A config's problems: each one found (key, value shown safely, why), and the error that lists
them all at once."""

from __future__ import annotations

from dataclasses import dataclass

from ivcrush_tui.domain import ErrorCode, IvCrushError

__all__ = ["ConfigError", "ConfigProblem", "Problems"]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    key_path: str  # e.g. "engine.concurrency"; "<file>" for file-level problems
    value: str  # repr of the offending value, secrets shown as ***
    why: str

    def __str__(self) -> str:
        got = f" (got {self.value})" if self.value else ""
        return f"{self.key_path}: {self.why}{got}"


class ConfigError(IvCrushError):
    """Every problem found in the configuration (code CONFIG)."""

    def __init__(self, problems: tuple[ConfigProblem, ...], *, source: str) -> None:
        self.problems = problems
        n = len(problems)
        head = f"invalid configuration in {source}: {n} problem{'s' if n != 1 else ''}"
        super().__init__(ErrorCode.CONFIG, "\n  - ".join([head, *map(str, problems)]))


class Problems:
    """The problems found so far (every one is reported at once)."""

    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, key_path: str, value: str, why: str) -> None:
        self.items.append(ConfigProblem(key_path, value, why))
