"""Cache keys carry where a response came from: the provider's base URL and the account.

Why: the cache is shared by everything that opens the same database, and a key made of the request
alone let one server's (or one account's) answers be served for another's — the demo market's for
the real one's (issue 12). Both provider clients wrap their cache here, so no call site can forget.
The account is a short salted hash of the credential: the secret itself never enters a key.
"""

from __future__ import annotations

import hashlib
from typing import Final

from ivcrush_tui.providers.base import ResponseCache

ACCOUNT_HASH_CHARS: Final = 12  # 48 bits: tells accounts apart, says nothing about the secret
_SALT: Final = b"ivcrush cache account\x00"


def cache_scope(base_url: str, credential: str) -> str:
    """`<base URL>#<account hash>`: the prefix of every key a client stores."""
    account = hashlib.sha256(_SALT + credential.encode("utf-8")).hexdigest()[:ACCOUNT_HASH_CHARS]
    return f"{base_url.strip().rstrip('/')}#{account}"


class ScopedCache:
    """A ResponseCache whose keys are `<scope> <key>` in the cache below."""

    __slots__ = ("_inner", "_scope")

    def __init__(self, inner: ResponseCache, scope: str) -> None:
        self._inner = inner
        self._scope = scope

    @property
    def scope(self) -> str:
        return self._scope

    def _key(self, key: str) -> str:
        return f"{self._scope} {key}"

    async def get(self, namespace: str, key: str) -> str | None:
        return await self._inner.get(namespace, self._key(key))

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        await self._inner.put(namespace, self._key(key), value, ttl_s)

    def __repr__(self) -> str:
        return f"ScopedCache(scope={self._scope!r})"


def scoped_cache(
    cache: ResponseCache | None, base_url: str, credential: str
) -> ResponseCache | None:
    """`cache` with every key scoped to `base_url` and the account of `credential`."""
    return None if cache is None else ScopedCache(cache, cache_scope(base_url, credential))
