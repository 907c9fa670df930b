"""A real loopback HTTP server that plays recorded upstream services in tests.

Usage::

    from tests.upstream import Upstream, fixture

    def test_something(upstream):            # pytest fixture defined below
        upstream.add("/api/query", fixture("arxiv_api_three.atom"),
                     content_type="application/atom+xml")
        upstream.add("/oai2", "busy", status=503, headers={"Retry-After": "1"},
                     content_type="text/plain", times=1)   # first call only
        upstream.add("/oai2", fixture("oai_page1.xml"))      # every later call
        ... point the client at upstream.url ...
        assert len(upstream.requests) == 2

Routing rules (see ``Upstream.add``):

* ``path`` is compared exactly with the request path (query string excluded).
* ``query`` (optional) must be a subset of the request's query parameters
  (first value of each, compared as strings). For ``POST`` requests with an
  ``application/x-www-form-urlencoded`` body (OAI-PMH allows this), the form
  fields are merged into the parameters used for matching.
* Among matching routes, the one with the most ``query`` keys wins; among
  equally specific ones, the earliest added that still has uses left wins.
  ``times=N`` makes a route usable N times, after which it falls through to
  the next matching route; ``times=None`` means unlimited.
* Unmatched requests get ``404`` with a ``text/plain`` body.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> bytes:
    """Return the bytes of ``tests/fixtures/<name>``."""
    return (FIXTURES_DIR / name).read_bytes()


@dataclass
class _Route:
    path: str
    body: bytes
    status: int
    headers: dict[str, str]
    content_type: str | None
    query: dict[str, str]
    delay: float
    truncate: bool
    remaining: int | None  # None = unlimited
    order: int
    hits: int = 0

    def matches(self, path: str, params: dict[str, str]) -> bool:
        if self.path != path:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        return all(params.get(k) == v for k, v in self.query.items())


class _Headers(dict):
    """Request headers with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for k, v in items:
            super().__setitem__(k.lower(), v)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def _first_values(qs: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(qs, keep_blank_values=True).items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet

    def _handle(self) -> None:
        upstream = self.server.upstream
        received = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        query = _first_values(split.query)

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        form: dict[str, str] = {}
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body and ctype == "application/x-www-form-urlencoded":
            form = _first_values(body.decode("utf-8", "replace"))

        route = upstream._record_and_pick(
            {
                "method": self.command,
                "path": path,
                "query": query,
                "headers": _Headers(self.headers.items()),
                "time": received,
                "body": body,
                "form": form,
            },
            {**query, **form},
        )

        if route is None:
            msg = f"no route for {self.command} {self.path}\n".encode()
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(msg)
            return

        # Interruptible sleep, so stop() does not hang on a slow route.
        if route.delay > 0 and upstream._stopping.wait(route.delay):
            self.close_connection = True
            return

        payload = route.body
        self.send_response(route.status)
        names = {k.lower() for k in route.headers}
        if route.content_type and "content-type" not in names:
            self.send_header("Content-Type", route.content_type)
        for k, v in route.headers.items():
            if k.lower() != "content-length":
                self.send_header(k, v)

        if route.truncate:
            declared = max(len(payload), 2)
            sent = payload[: len(payload) // 2]
            self.send_header("Content-Length", str(declared))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(sent)
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
            return

        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client hung up (timeouts in tests, truncated bodies): not an error.
        pass


class Upstream:
    """Loopback HTTP server with scripted routes. Not started on construction."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._order = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Upstream:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="upstream-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("Upstream is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting ---------------------------------------------------------
    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        headers: dict | None = None,
        content_type: str | None = "application/xml",
        query: dict | None = None,
        delay: float = 0.0,
        truncate: bool = False,
        times: int | None = None,
    ) -> None:
        """Add a route. ``headers`` override ``content_type`` if they set Content-Type."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._routes.append(
                _Route(
                    path=path,
                    body=bytes(body),
                    status=int(status),
                    headers={str(k): str(v) for k, v in (headers or {}).items()},
                    content_type=content_type,
                    query={str(k): str(v) for k, v in (query or {}).items()},
                    delay=float(delay),
                    truncate=bool(truncate),
                    remaining=times,
                    order=self._order,
                )
            )
            self._order += 1

    def clear(self) -> None:
        """Forget all routes and recorded requests."""
        with self._lock:
            self._routes.clear()
            self.requests.clear()

    def requests_for(self, path: str) -> list[dict[str, Any]]:
        """Recorded requests whose path equals ``path``."""
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def _record_and_pick(self, request: dict[str, Any], params: dict[str, str]) -> _Route | None:
        with self._lock:
            self.requests.append(request)
            candidates = [r for r in self._routes if r.matches(request["path"], params)]
            if not candidates:
                return None
            route = min(candidates, key=lambda r: (-len(r.query), r.order))
            route.hits += 1
            if route.remaining is not None:
                route.remaining -= 1
            return route


@pytest.fixture
def upstream():
    """A started :class:`Upstream`, stopped after the test."""
    server = Upstream().start()
    try:
        yield server
    finally:
        server.stop()
