"""The textual-serve server behind `ivcrush web`, with the checks a server without login needs.

textual-serve serves one page (`/`) whose xterm.js terminal opens a websocket (`/ws`); for each
websocket it starts the app command in a subprocess under Textual's web driver and relays the
terminal bytes. This subclass changes four things and keeps the rest:

- the websocket must come from the page itself: a browser sends its page's origin with every
  websocket handshake, and any web site the user visits could otherwise open `ws://127.0.0.1:…/ws`
  and type into the console (cross-site websocket hijacking);
- on a loopback bind the `Host` must be a loopback name, which stops DNS rebinding (a site whose
  name resolves to 127.0.0.1 would otherwise be same-origin with the console);
- the page builds the websocket address from the address the browser used, so an SSH forward to
  another local port (`ssh -L 9000:127.0.0.1:8000`) and a wildcard bind work;
- stopping the server stops the consoles: aiohttp would otherwise wait up to a minute for open
  websockets before it exits;
- logging goes through ivcrush's handlers (no rich tracebacks with local variables on the screen),
  and startup prints one line, without the app command.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

from ivcrush_tui.commands.children import child_pids, is_running
from ivcrush_tui.loopback import is_loopback

log = logging.getLogger(__name__)

# A Host header as a browser sends it: a name or IPv4 address, or a bracketed IPv6 address, and an
# optional port. Anything else is refused before it is written into the page.
_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
# How long a stop waits for the open consoles to exit (one quits in a second or two; longer on a
# busy machine).
SHUTDOWN_TIMEOUT_S = 8.0


def host_name(host_header: str) -> str:
    """The host part of a Host header or URL netloc, lower-case, without brackets and port."""
    return urlsplit(f"//{host_header}").hostname or ""


def url_host(host: str) -> str:
    """`host` as it goes into a URL: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class ConsoleServer(Server):
    """textual-serve's Server for the ivcrush console (see the module docstring)."""

    def __init__(self, command: str, *, host: str, port: int) -> None:
        # title: shown while the page connects; the default would be the command line.
        super().__init__(command, host=host, port=port, title="ivcrush")
        self.public_url = f"http://{url_host(host)}:{port}"
        self._sessions: set[asyncio.Task[Any]] = set()

    def initialize_logging(self) -> None:
        """Logging is already set up by the CLI (stderr and the log file, secrets redacted)."""

    async def on_startup(self, app: web.Application) -> None:
        shown = "127.0.0.1" if self.host in _WILDCARDS else self.host
        print(
            f"ivcrush web: the console is at http://{url_host(shown)}:{self.port}/ (Ctrl+C stops)",
            flush=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Cancel each open session (textual-serve then tells its console to quit and closes the
        websocket), then wait for the console processes to exit: each flushes its writes and
        closes its store first. Bounded by SHUTDOWN_TIMEOUT_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_TIMEOUT_S
        consoles = child_pids()
        sessions = list(self._sessions)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions, timeout=SHUTDOWN_TIMEOUT_S)
        while loop.time() < deadline:  # polled: an exit elsewhere sets no event here
            if not any(is_running(pid) for pid in consoles):
                break
            await asyncio.sleep(0.05)

    def _allowed_host(self, request: web.Request) -> bool:
        header = request.host
        if not _HOST_HEADER.match(header):
            return False
        if is_loopback(self.host):
            return is_loopback(host_name(header))
        return True

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        if not self._allowed_host(request):
            log.warning("web: refused a page request for host %r", request.host[:100])
            raise web.HTTPForbidden(text="ivcrush web: unexpected Host header")
        base = f"{request.scheme}://{request.host}"
        socket_scheme = "wss" if request.scheme == "https" else "ws"
        font_size = request.query.get("fontsize", "16")  # textual-serve's page option
        return {
            "font_size": min(max(int(font_size), 6), 48) if font_size.isdigit() else 16,
            "app_websocket_url": f"{socket_scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin", "")
        same_origin = urlsplit(origin).netloc.lower() == request.host.lower()
        if not (same_origin and self._allowed_host(request)):
            log.warning("web: refused a websocket from origin %r", origin[:100])
            raise web.HTTPForbidden(text="ivcrush web: cross-origin websocket refused")
        task = asyncio.current_task()
        assert task is not None  # a request handler always runs in a task
        self._sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._sessions.discard(task)
