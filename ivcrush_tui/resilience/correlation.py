"""Correlation ids: one short id per logical operation (an analysis, a command), carried in a
contextvar so every log line and every typed error raised under it can name it.

Contextvars are copied into tasks created inside the scope, so concurrent work started under one
id keeps it, while sibling scopes (one per ticker) stay apart.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CURRENT: ContextVar[str | None] = ContextVar("ivcrush_correlation_id", default=None)


def new_correlation_id() -> str:
    """A fresh random id: 8 lower-case hex characters (32 bits, enough to tell runs apart)."""
    return secrets.token_hex(4)


def current_correlation_id() -> str | None:
    """The id of the enclosing `correlation_scope`, or None outside any scope."""
    return _CURRENT.get()


@contextmanager
def correlation_scope(cid: str | None = None) -> Iterator[str]:
    """Run the block under correlation id `cid` (a new one when None); yields the id.

    A plain (sync) context manager, so it works in sync code and inside coroutines alike; the
    previous id is restored on exit, also when the block raises.
    """
    value = cid or new_correlation_id()
    token = _CURRENT.set(value)
    try:
        yield value
    finally:
        _CURRENT.reset(token)
