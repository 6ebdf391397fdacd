"""Cache keys are scoped to the provider's base URL and a hash of the account (issue 12)."""

from __future__ import annotations

from ivcrush_tui.providers.cache_scope import ACCOUNT_HASH_CHARS, ScopedCache, cache_scope

SECRET = "tok_SCOPE_5Kq8Zr"


class DictCache:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    async def get(self, namespace: str, key: str) -> str | None:
        return self.data.get((namespace, key))

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        self.data[(namespace, key)] = value


def test_the_scope_names_the_url_and_hides_the_credential() -> None:
    scope = cache_scope("https://api.tradier.com/v1/", SECRET)
    url, account = scope.split("#")
    assert url == "https://api.tradier.com/v1"  # a trailing slash is the same server
    assert len(account) == ACCOUNT_HASH_CHARS
    assert SECRET not in scope
    assert cache_scope("https://api.tradier.com/v1", SECRET) == scope
    assert cache_scope("https://sandbox.tradier.com/v1", SECRET) != scope
    assert cache_scope("https://api.tradier.com/v1", SECRET + "x") != scope


async def test_scoped_caches_over_one_cache_do_not_see_each_other() -> None:
    inner = DictCache()
    a = ScopedCache(inner, cache_scope("http://127.0.0.1:1/v1", SECRET))
    b = ScopedCache(inner, cache_scope("http://127.0.0.1:2/v1", SECRET))
    await a.put("tradier.quotes", "symbols=AAPL", "from a", 60.0)
    assert await a.get("tradier.quotes", "symbols=AAPL") == "from a"
    assert await b.get("tradier.quotes", "symbols=AAPL") is None
    assert list(inner.data) == [("tradier.quotes", f"{a.scope} symbols=AAPL")]
