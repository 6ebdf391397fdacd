"""Security over real sockets: the API keys never leak, symbols are validated before any URL is
built, the config file is private, and SQL only ever binds values.

The keys are distinctive fake ones (live_env.TOKEN / AV_KEY). The demo server is wrapped so that it
can also answer like a hostile or broken gateway: 401s and error pages that echo the request, the
Authorization header and the apikey back.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from ivcrush_tui.config import render_default_config, write_default_config
from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.engine.health import check_health
from ivcrush_tui.engine.runtime import Runtime, open_runtime
from ivcrush_tui.engine.schema import analysis_to_json
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.responses import WireRequest, WireResponse
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.resilience.logs import configure_logging
from tests.integration.live_env import (
    AS_OF,
    AV_KEY,
    CLOCK,
    REPO,
    TOKEN,
    cli,
    collect_garbage,
    market,
    server_clock,
    settings_for,
    write_config,
)

SECRETS = (TOKEN, AV_KEY)
DAY = CLOCK.now().date()
WIDE_WINDOW = 100_000
MALICIOUS = ("A&apikey=x", "../x", "AAPL?x=1", "A/B", "A B", "A%26B", "<script>", "A;DROP", "")


def leaks(text: str | bytes) -> list[str]:
    """Every form in which a secret could appear (plain, URL-encoded, bytes)."""
    found = []
    for secret in SECRETS:
        for form in {secret, quote(secret, safe=""), urlencode({"k": secret})[2:]}:
            needle: str | bytes = form.encode() if isinstance(text, bytes) else form
            if needle in text:  # type: ignore[operator]
                found.append(form)
    return found


@dataclass
class Gateway:
    """Wraps a DemoServer's engine: records every request it serves and can misbehave."""

    mode: str = "pass"  # pass | auth (401 echoing the credential) | echo (500 echoing the request)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def install(self, server: DemoServer) -> None:
        real: Callable[[WireRequest], WireResponse] = server.engine.serve

        def serve(req: WireRequest) -> WireResponse:
            self.seen.append((req.path, dict(req.params)))
            auth = req.headers.get("authorization", "")
            key = req.params.get("apikey", "")
            if self.mode == "auth":
                if req.path.startswith("/tradier"):
                    fault = {"faultstring": f"Invalid Access Token {auth}"}
                    page = json.dumps({"fault": fault}).encode()
                    return WireResponse(401, page, "application/json")
                body = {"Error Message": f"the parameter apikey={key} is invalid. We have "
                                         f"detected your API key as {key} and ..."}  # fmt: skip
                return WireResponse(200, json.dumps(body).encode(), "application/json")
            if self.mode == "echo":
                query = urlencode(req.params)
                text = f"upstream error for {req.method} {req.path}?{query} with {auth}"
                return WireResponse(500, text.encode(), "text/plain")
            return real(req)

        server.engine.serve = serve  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _finalize() -> Iterator[None]:
    yield
    collect_garbage()


@pytest.fixture
def gateway() -> Iterator[tuple[DemoServer, Gateway]]:
    faults = FaultConfig(error_rate=0.1, malformed_rate=0.05, tradier_limit_per_min=WIDE_WINDOW)
    with DemoServer(market(), faults, server_clock) as server:
        gw = Gateway()
        gw.install(server)
        yield server, gw


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[io.StringIO]:
    stderr = io.StringIO()
    configure_logging(verbosity=3, log_dir=tmp_path / "log", secrets=SECRETS, stderr=stderr)
    yield stderr
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_ivcrush_handler", False)]:
        root.removeHandler(handler)
        handler.close()


def _all_files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


async def _run_everything(rt: Runtime, outputs: list[str], round_no: int) -> None:
    """A scan, direct calls and a health check; fresh symbols each round (no cache hits)."""
    engine = Engine(rt)
    names = market().symbols[5 * round_no : 5 * round_no + 5]
    other = market().symbols[40 + round_no]
    try:
        async for a in engine.scan(list(names), rt.clock.now()):
            outputs.append(json.dumps(analysis_to_json(a), allow_nan=False))
            if a.error is not None:
                outputs.append(f"{a.error.code}: {a.error.message}")
        for call in (
            lambda: rt.tradier.clock(),
            lambda: rt.alphavantage.earnings_history(other),
            lambda: rt.alphavantage.overview(other),
        ):
            try:
                await call()
            except IvCrushError as exc:
                outputs += [str(exc), repr(exc), exc.message]
        report = await check_health(rt)
        outputs.append(json.dumps(report.to_json()))
        for guard in rt.guards.values():
            if guard.stats.last_error is not None:
                outputs.append(repr(guard.stats.last_error))
    finally:
        await engine.aclose()


async def test_keys_never_reach_logs_errors_json_or_the_database(
    gateway: tuple[DemoServer, Gateway], logs: io.StringIO, tmp_path: Path
) -> None:
    server, gw = gateway
    settings = settings_for(write_config(tmp_path, server))
    outputs: list[str] = []
    async with open_runtime(settings, CLOCK) as rt:
        assert TOKEN not in repr(rt.tradier)
        assert TOKEN not in repr(settings)
        for round_no, mode in enumerate(("pass", "auth", "echo")):
            gw.mode = mode
            if mode == "echo":
                # No random faults here: a malformed-body fault turns the echoing 500 into a 200
                # with half a body, and the echo this round exists for never reaches us (a flake).
                server.set_faults(FaultConfig(tradier_limit_per_min=WIDE_WINDOW))
            await _run_everything(rt, outputs, round_no)

    # An unexpected exception whose text carries both keys: logged with its traceback.
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom Authorization: Bearer {TOKEN} ?apikey={AV_KEY}")

    gw.mode = "pass"
    server.set_faults(FaultConfig(tradier_limit_per_min=WIDE_WINDOW))
    async with open_runtime(settings, CLOCK) as rt:  # a fresh process: breakers closed
        rt.tradier.chain = boom  # type: ignore[method-assign,assignment]
        engine = Engine(rt)
        try:
            crashed = await engine.analyze("AAPL", CLOCK.now())
        finally:
            await engine.aclose()
        outputs.append(json.dumps(analysis_to_json(crashed)))
    assert crashed.error is not None
    assert crashed.error.code == "internal", crashed.error

    # The server really saw the credentials (so the test could catch a leak)...
    assert any(p.get("apikey") == AV_KEY for _, p in gw.seen)
    # ...and they were echoed back in 401 and 500 bodies, yet appear nowhere on our side.
    joined = "\n".join(outputs)
    assert "auth" in joined
    assert "unavailable" in joined
    assert leaks(joined) == [], leaks(joined)
    log_text = logs.getvalue()
    assert "HTTP" in log_text
    assert "boom" in log_text
    assert "Traceback" in log_text
    # The echoed credentials went through our error and log paths, masked.
    assert "Invalid Access Token Bearer ***" in joined
    assert "API key as ***" in joined
    assert "upstream error for GET /alphavantage/query?" in log_text
    assert "apikey=***" in log_text
    assert leaks(log_text) == []
    files = _all_files(tmp_path)
    assert any(p.name == "ivcrush.log" for p in files)
    assert any(p.suffix == ".sqlite3" for p in files)
    for path, data in files.items():
        if path.name == "config.toml":
            continue  # the one place the user chose to keep them (mode checked below)
        assert leaks(data) == [], path


def test_the_cli_never_prints_a_key_even_when_everything_fails(
    gateway: tuple[DemoServer, Gateway], tmp_path: Path
) -> None:
    server, gw = gateway
    config = write_config(tmp_path, server)
    outputs = []
    for mode, command in (("auth", "scan"), ("echo", "analyze"), ("auth", "health")):
        gw.mode = mode
        args = [command, "--config", str(config), "--as-of", AS_OF, "--json", "-vv"]
        if command == "scan":
            args[1:1] = ["AAPL", "MSFT"]
        elif command == "analyze":
            args[1:1] = ["NVDA"]
        done = cli(*args)
        assert done.returncode == 1, (command, done.stderr[-2000:])
        outputs += [done.stdout, done.stderr]
    text = "\n".join(outputs)
    assert '"code":"auth"' in text
    assert "unavailable" in text
    assert leaks(text) == []
    for path, data in _all_files(tmp_path).items():
        if path.name != "config.toml":
            assert leaks(data) == [], path


async def test_malicious_symbols_never_reach_the_server(
    gateway: tuple[DemoServer, Gateway], tmp_path: Path
) -> None:
    server, gw = gateway
    server.set_faults(FaultConfig(tradier_limit_per_min=WIDE_WINDOW))
    settings = settings_for(write_config(tmp_path, server))
    async with open_runtime(settings, CLOCK) as rt:
        engine = Engine(rt)
        try:
            await engine.ensure_earnings_calendar(CLOCK.now())
            gw.seen.clear()
            server.reset_counters()
            for bad in MALICIOUS:
                a = await engine.analyze(bad, CLOCK.now())
                assert a.error is not None
                assert a.error.code in ("invalid_symbol", "not_found")
                batch = await rt.tradier.stock_quotes([bad])
                assert batch.quotes == {}
                calls = (
                    lambda b=bad: rt.tradier.expirations(b),
                    lambda b=bad: rt.tradier.daily_history(b, DAY, DAY),
                    lambda b=bad: rt.alphavantage.earnings_history(b),
                    lambda b=bad: rt.alphavantage.overview(b),
                )  # fmt: skip
                for call in calls:
                    with pytest.raises(ProviderError) as info:
                        await call()
                    assert info.value.code is ErrorCode.INVALID_SYMBOL
        finally:
            await engine.aclose()
    assert gw.seen == []  # not one request was sent for any of them
    assert sum(server.request_counts.values()) == 0

    # The CLI refuses them before opening anything (exit 2, the reason on stderr).
    config = write_config(tmp_path, server)
    done = cli("scan", "AAPL", "A&apikey=x", "--config", str(config), "--as-of", AS_OF)
    assert done.returncode == 2
    assert "ticker 'A&APIKEY=X' is not valid" in done.stderr
    assert sum(server.request_counts.values()) == 0


def test_the_default_config_file_is_private(tmp_path: Path) -> None:
    path = write_default_config(tmp_path / "sub" / "config.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    replaced = write_default_config(path, force=True)
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0  # a folder we created: 0700
    # The CLI's `config init` writes the same private file (whatever the umask).
    target = tmp_path / "cli" / "config.toml"
    old = os.umask(0o022)
    try:
        done = cli("config", "init", "--config", str(target))
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == render_default_config()
    assert "TRADIER_TOKEN" in target.read_text()  # it tells users to prefer the environment


# -- SQL only with bound parameters --------------------------------------------------------------

SQL_CALLS = {
    "execute",
    "executemany",
    "executescript",
    "execute_fetchall",
    "fetchall",
    "fetchone",
    "fetchval",
    "insert",
}


class _Static:
    """Which expressions are static SQL text (literals, and names bound only to literals)."""

    def __init__(self, module: ast.Module) -> None:
        self.module_names = self._fixpoint(
            [n for n in module.body if isinstance(n, ast.Assign | ast.AnnAssign)], set()
        )
        self.module_data = {
            t.id
            for n in module.body
            if isinstance(n, ast.Assign | ast.AnnAssign)
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
            if isinstance(t, ast.Name)
        }

    def _fixpoint(self, assigns: Sequence[ast.stmt], known: set[str]) -> set[str]:
        names = set(known)
        while True:
            before = len(names)
            bad: set[str] = set()
            good: set[str] = set()
            for node in assigns:
                for target, value in _pairs(node):
                    (good if self.is_static(value, names) else bad).add(target)
            names |= good - bad
            if len(names) == before:
                return names - bad

    def is_static(self, node: ast.expr | None, names: set[str]) -> bool:
        if node is None:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | int | float) or node.value is None
        if isinstance(node, ast.JoinedStr):
            return all(
                isinstance(v, ast.Constant)
                or (isinstance(v, ast.FormattedValue) and self.is_static(v.value, names))
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.is_static(node.left, names) and self.is_static(node.right, names)
        if isinstance(node, ast.IfExp):
            return self.is_static(node.body, names) and self.is_static(node.orelse, names)
        if isinstance(node, ast.Name):
            return node.id in names
        return False

    def function_names(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        """Module statics, plus locals bound only to static text, plus loop variables over
        module-level data (the migrations' statement lists)."""
        assigns = [n for n in ast.walk(fn) if isinstance(n, ast.Assign | ast.AnnAssign)]
        names = self._fixpoint(assigns, self.module_names)
        loops = [n for n in ast.walk(fn) if isinstance(n, ast.For | ast.AsyncFor)]
        data = set(self.module_data)
        for _ in range(3):
            for loop in loops:
                root = loop.iter
                while isinstance(root, ast.Attribute):
                    root = root.value
                if (
                    isinstance(root, ast.Name)
                    and root.id in data
                    and isinstance(loop.target, ast.Name)
                ):
                    data.add(loop.target.id)
                    names.add(loop.target.id)
        return names


def _pairs(node: ast.stmt) -> list[tuple[str, ast.expr | None]]:
    """(name, value) bound by an assignment, unpacking `a, b = (x, y) if c else (z, w)`."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    value = node.value  # type: ignore[attr-defined]
    out: list[tuple[str, ast.expr | None]] = []
    for target in targets:
        if isinstance(target, ast.Name):
            out.append((target.id, value))
        elif isinstance(target, ast.Tuple):
            for i, elt in enumerate(target.elts):
                if isinstance(elt, ast.Name):
                    out.append((elt.id, _element(value, i)))
    return out


def _element(value: ast.expr | None, i: int) -> ast.expr | None:
    if isinstance(value, ast.Tuple) and i < len(value.elts):
        return value.elts[i]
    if isinstance(value, ast.IfExp):
        body, orelse = _element(value.body, i), _element(value.orelse, i)
        if body is None or orelse is None:
            return None
        return ast.IfExp(test=value.test, body=body, orelse=orelse)
    return None


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(
    node: ast.AST, params: frozenset[str] = frozenset(), wrapper: bool = False
) -> Iterator[tuple[Function, frozenset[str], bool]]:
    """Every function with the parameters in scope (its own and its enclosing functions') and
    whether it is (inside) a wrapper named like an SQL call."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            a = child.args
            own = frozenset(x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs))
            scope, is_wrapper = params | own, wrapper or child.name in SQL_CALLS
            yield child, scope, is_wrapper
            yield from _functions(child, scope, is_wrapper)
        else:
            yield from _functions(child, params, wrapper)


def sql_violations(source: str, filename: str) -> list[str]:
    """Calls of execute()/fetch*() whose SQL text is not static: the place values could be
    formatted into SQL instead of bound."""
    module = ast.parse(source, filename)
    static = _Static(module)
    problems = []
    for fn, params, wrapper in _functions(module):
        names = static.function_names(fn)
        for call in ast.walk(fn):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            if call.func.attr not in SQL_CALLS or not call.args:
                continue
            sql = call.args[0]
            # A wrapper passing its own `sql` parameter through is checked at its call sites.
            if isinstance(sql, ast.Name) and sql.id in params and wrapper:
                continue
            if not static.is_static(sql, names):
                problems.append(f"{filename}:{call.lineno} {ast.unparse(sql)[:80]}")
    return problems


def test_store_sql_only_binds_values() -> None:
    files = sorted((REPO / "ivcrush_tui" / "store").rglob("*.py"))  # repositories/ too
    assert len(files) >= 4
    checked = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        assert sql_violations(source, path.name) == []
        checked += source.count("execute(") + source.count("fetchall(")
    assert checked >= 20  # the check really looked at the store's statements


@pytest.mark.parametrize(
    "snippet",
    [
        "async def f(db, s):\n    await db.execute(f\"SELECT * FROM t WHERE s = '{s}'\")\n",
        "async def f(db, s):\n    await db.fetchall(\"SELECT * FROM t WHERE s = '%s'\" % s)\n",
        'async def f(db, s):\n    await db.fetchone("SELECT * FROM t WHERE s = {}".format(s))\n',
        'async def f(db, s):\n    await db.execute("DELETE FROM t WHERE s = " + s)\n',
        'async def f(db, s):\n    q = "SELECT " + s\n    await db.fetchval(q)\n',
    ],
)
def test_the_sql_check_catches_formatted_values(snippet: str) -> None:
    assert len(sql_violations(snippet, "snippet.py")) == 1
