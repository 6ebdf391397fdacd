"""A real headless browser for the `ivcrush web` test: Debian's Chromium driven by Playwright.

Playwright's wheel ships its own driver; the browser is the operating system's
(`/usr/bin/chromium`, installed by `make test` through scripts/ensure-chromium.sh), so nothing
downloads a browser build.

Reading the terminal's text. textual-serve draws the console with xterm.js on a WebGL or canvas
renderer, so the page has no text nodes to read, and its Terminal object is private to the
bundle. xterm.js has a supported option for exactly this, `screenReaderMode`: it keeps an
accessibility tree (`.xterm-accessibility-tree`) with one element per screen row holding that
row's text, updated as the screen changes. The test turns the option on in the copy of
textual.js that this browser receives (a route rewrites the `new Terminal({` options); the
server's file is untouched. If a textual-serve release renames that call the rewrite finds nothing
and the test says so, rather than waiting for text that never comes.

The page also asks Google Fonts for a stylesheet; every request that is not for the server under
test is aborted, so the test needs no network and never leaves loopback.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# The flags that work on these machines: no GPU, no sandbox as root, and none of the background
# connections (updates, sync, QUIC) that the closed network would refuse at every start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_TERMINAL_OPTIONS = re.compile(r"new (\w+)\.Terminal\(\{")

# The rows of the accessibility tree, as text (a row's non-breaking spaces as plain ones).
_ROWS_JS = """() => {
  const tree = document.querySelector('.xterm-accessibility-tree');
  if (!tree) return null;
  return Array.from(tree.children, (row) => (row.textContent || '').replace(/\\u00a0/g, ' '));
}"""


def chromium_path() -> Path | None:
    """Debian's Chromium, or None when it is not installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def with_screen_reader_mode(script: str) -> str:
    """textual.js with xterm.js's screenReaderMode on; ValueError if the call is not found."""
    patched, count = _TERMINAL_OPTIONS.subn(r"new \1.Terminal({screenReaderMode:!0,", script)
    if count != 1:
        raise ValueError(f"expected one `new Terminal({{` in textual.js, found {count}")
    return patched


@contextmanager
def chromium(executable: Path) -> Iterator[Browser]:
    """A headless Chromium, closed on exit. Playwright gives each launch a new empty profile in a
    temporary folder of its own (and removes it), so no `--user-data-dir` is passed."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            browser.close()


def open_console(browser: Browser, url: str, *, timeout_ms: int) -> Page:
    """A page on `url` (the `ivcrush web` root) whose terminal keeps an accessibility tree."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(timeout_ms)
    problems: list[str] = []

    def route(route: Route) -> None:
        request_url = route.request.url
        if not request_url.startswith(url):
            route.abort()
        elif request_url.endswith("/static/js/textual.js"):
            response = route.fetch()
            try:
                body = with_screen_reader_mode(response.text())
            except ValueError as exc:
                problems.append(str(exc))
                body = response.text()
            route.fulfill(response=response, body=body)
        else:
            route.continue_()

    page.route("**/*", route)
    page.goto(url)
    if problems:
        raise AssertionError(problems[0])
    return page


def screen_rows(page: Page) -> list[str]:
    """The terminal's rows as text (empty before the terminal exists)."""
    rows = page.evaluate(_ROWS_JS)
    return [str(row) for row in rows] if isinstance(rows, list) else []


def wait_for_screen(
    page: Page, check: Callable[[list[str]], bool], what: str, *, timeout_s: float
) -> list[str]:
    """Poll the terminal's rows until `check` accepts them; AssertionError (with the last screen)
    after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    rows = screen_rows(page)
    while not check(rows):
        if time.monotonic() > deadline:
            screen = "\n".join(row.rstrip() for row in rows)
            raise AssertionError(f"no {what} after {timeout_s:.0f} s; the screen was:\n{screen}")
        page.wait_for_timeout(100)
        rows = screen_rows(page)
    return rows
