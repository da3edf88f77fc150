"""A real headless browser for page tests: Debian's chromium driven by Playwright, offline.

Why Playwright rather than Selenium: it drives the system chromium directly over the DevTools
protocol (no chromedriver to keep in step with chromium), and it can intercept every request
the page makes, which is how these tests prove a page never leaves 127.0.0.1.

    with serve_asgi(app) as base, Browser() as browser:
        with browser.open(f"{base}/page", ready=MAP_READY) as visit:
            visit.click_map(39.1, 117.2)            # once the map is still
            text = visit.popup_text("Case")         # once the popup is there
            visit.assert_clean()    # no console error, no request off 127.0.0.1, no 4xx

Tests wait for states, never for a time: the map pages say when their layers are drawn
(``data-ready`` on the map's container) and whether the map is still (``settled()``: no pan,
zoom, popup or cluster animation under way; see ``maps/static/wangge/density.js``). Clicks on
a map wait for it to be still: a popup that is still fading out takes a click, Playwright then
retries by scrolling the marker into view inside the map's overflow-hidden container, Leaflet
scrolls it back at once and the click lands beside the marker. Every wait has a generous
ceiling (:data:`WAIT_S`) and returns as soon as the state is reached.

Any ASGI app works (the API's too); :func:`static_app` serves fixed pages and asset files.
Chromium gets a fresh profile, no QUIC, no background, component or sync traffic, and a host
resolver that resolves nothing, so even a request that escaped interception could not leave
the machine.
"""

from __future__ import annotations

import mimetypes
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # resolve no host name at all: only IP literals (127.0.0.1) can be reached
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = frozenset({"127.0.0.1"})
#: Ceiling of every wait, in seconds: a wait ends as soon as its state is reached, so this only
#: matters when the state never comes (or the machine is very busy).
WAIT_S = 60.0
#: A map page has drawn every layer (set by wangge.track in density.js).
MAP_READY = "document.querySelector('.leaflet-container[data-ready=\"true\"]') !== null"
#: ... and nothing on it moves: no pan, zoom, popup or cluster animation under way.
MAP_SETTLED = "window.wangge && wangge.last && wangge.last.settled()"


def chromium_missing() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@dataclass
class PageVisit:
    """A page opened in the browser, with everything it reported while loading and running."""

    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]

    def assert_clean(self) -> None:
        """No request off 127.0.0.1, no failed or 4xx/5xx response, no console or page error."""
        assert not self.blocked, f"requests off 127.0.0.1: {self.blocked}"
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.page_errors, f"uncaught errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait_until(self, expression: str, *, timeout_s: float = WAIT_S) -> None:
        """Wait until the JavaScript expression is true in the page; say what the page said
        if it never is."""
        try:
            self.page.wait_for_function(expression, timeout=timeout_s * 1000)
        except Exception as exc:
            raise AssertionError(
                f"{self.page.url} never reached {expression}: {exc}; errors {self.page_errors}, "
                f"console {self.console}, blocked {self.blocked}, failed {self.failed}"
            ) from None

    def wait_for(
        self, condition: Callable[[], object], what: str, *, timeout_s: float = WAIT_S
    ) -> None:
        """Wait until ``condition()`` on what the page reported (requests, messages) holds."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.page.url}: never {what} within {timeout_s:g} s")
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events

    def wait_settled(self) -> None:
        """Wait until the map is drawn and still (see the module's docstring)."""
        self.wait_until(MAP_SETTLED)

    def click_map(self, lat: float, lon: float) -> None:
        """A real mouse click at a place on the map, once the map is still."""
        self.wait_settled()
        x, y = self.evaluate(
            """([lat, lon]) => {
                const map = wangge.last.map;
                const p = map.latLngToContainerPoint([lat, lon]);
                const box = map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [lat, lon],
        )
        self.page.mouse.click(x, y)

    def click(self, locator: Any) -> None:
        """Click an element of the map (a marker) once the map is still."""
        self.wait_settled()
        locator.click()

    def click_marker(self, marker: str) -> None:
        """A real mouse click on the Leaflet marker that the JavaScript expression ``marker``
        gives, in the middle of its icon, once the map is still."""
        self.wait_settled()
        x, y = self.evaluate(
            f"""() => {{
                const r = ({marker}).getElement().getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }}"""
        )
        self.page.mouse.click(x, y)

    def popup_text(self, has_text: str = "") -> str:
        """The text of the open popup that has ``has_text``, once it is shown."""
        popup = self.page.locator(".leaflet-popup-content", has_text=has_text)
        popup.wait_for(timeout=WAIT_S * 1000)
        return str(popup.inner_text())

    def close_popup(self) -> None:
        """Close the open popup with its close button; wait until it has left the page.

        (Escape closes a popup only while the map has the keyboard focus, which a click on a
        marker does not give it.)
        """
        self.click(self.page.locator(".leaflet-popup-close-button"))
        self.wait_until("document.querySelector('.leaflet-popup') === null")

    def close(self) -> None:
        if not self.page.is_closed():
            self.page.context.close()

    def __enter__(self) -> PageVisit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path


class Browser:
    """Headless chromium; :meth:`open` visits a page on 127.0.0.1 in a fresh browser context.

    Playwright starts chromium with a new temporary profile (user-data-dir) and deletes it
    on exit; each visit gets its own context (no shared cache, cookies or storage).
    """

    def __init__(self, viewport: tuple[int, int] = (1280, 860)) -> None:
        self.viewport = viewport
        self._visit: PageVisit | None = None

    def __enter__(self) -> Browser:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
            )
        except BaseException:
            self._playwright.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def open(self, url: str, *, ready: str | None = None, timeout_s: float = WAIT_S) -> PageVisit:
        """Open ``url``; wait for the load event, then for the JavaScript expression ``ready``
        (for a map page :data:`MAP_READY`). ``timeout_s`` is the ceiling of each wait.

        The previous visit's page is closed first (a background tab gets no animation frames).
        """
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            raise ValueError(f"only pages on 127.0.0.1 may be opened, not {url}")
        if self._visit is not None:
            self._visit.close()
        context = self._browser.new_context(
            viewport={"width": self.viewport[0], "height": self.viewport[1]},
            service_workers="block",
        )
        context.set_default_timeout(timeout_s * 1000)  # every Playwright wait's ceiling
        page = context.new_page()
        visit = self._visit = PageVisit(page)

        def guard(route: Any, request: Any) -> None:
            """Let requests to 127.0.0.1 through; record and abort anything else."""
            if urlsplit(request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                visit.blocked.append(request.url)
                route.abort("blockedbyclient")

        context.route("**/*", guard)
        page.on("console", lambda m: visit.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
        page.on("request", lambda r: visit.requested.append(r.url))
        page.on(
            "requestfailed",
            lambda r: (
                visit.failed.append(f"{r.url} ({r.failure})")
                if urlsplit(r.url).hostname in LOCAL_HOSTS
                else None
            ),
        )
        page.on(
            "response",
            lambda r: visit.failed.append(f"{r.url} ({r.status})") if r.status >= 400 else None,
        )
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        if ready:
            visit.wait_until(ready, timeout_s=timeout_s)
        return visit


@contextmanager
def busy_cpu(processes: int = 2) -> Iterator[None]:
    """Keep ``processes`` CPU-bound processes running meanwhile, as on a busy machine.

    They are this interpreter spinning; each is ended by its own handle on the way out.
    """
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


# -- serving pages on 127.0.0.1 -------------------------------------------------------------


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1 and a free port; yield its URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def static_app(
    pages: Mapping[str, str | bytes],
    files: Mapping[str, Path] | None = None,
    *,
    files_base: str = "/static/maps",
) -> Any:
    """A Starlette app serving ``pages`` and ``files`` (sub-path -> file) under ``files_base``.

    Keys of ``pages`` are Starlette path patterns (``/tiles/{z}/{x}/{y}.png`` serves one body
    for every tile); ``.html`` paths are sent as UTF-8 HTML, others by their extension.
    Anything else is a 404, which :meth:`PageVisit.assert_clean` reports.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    files = dict(files or {})

    def serve_page(pattern: str, body: str | bytes) -> Route:
        kind = mimetypes.guess_type(pattern)[0] or "application/octet-stream"
        if pattern.endswith(".html"):
            kind = "text/html; charset=utf-8"

        def page(request: Request) -> Response:
            return Response(body, media_type=kind)

        return Route(pattern, page)

    def asset(request: Request) -> Response:
        path = files.get(request.path_params["path"])
        if path is None:
            return Response("not found", status_code=404)
        return FileResponse(path)

    routes = [serve_page(pattern, body) for pattern, body in pages.items()]
    routes.append(Route(files_base.rstrip("/") + "/{path:path}", asset))
    return Starlette(routes=routes)
