"""`paperfeed serve` as a real process tree: gunicorn, the background worker, migrations on
start, the demo, the first fetch from (loopback) arXiv, and the offline message."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from django.conf import settings as django_settings

from tests.upstream import fixture

pytestmark = [pytest.mark.live, pytest.mark.django_db]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_env(tmp_path):
    """Environment for a fresh instance: its own home, and its own database on PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERFEED_", "DATABASE_URL"))}
    env["PAPERFEED_HOME"] = str(tmp_path / "home")
    env["PAPERFEED_ARXIV_DELAY"] = "0"
    if django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from tests.settings import postgres_url

        name = f"live_{uuid.uuid4().hex[:10]}"
        import psycopg

        with psycopg.connect(postgres_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = postgres_url().replace("/postgres?", f"/{name}?")
    return env


class Server:
    def __init__(self, env: dict, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise AssertionError("server exited:\n" + "".join(self.output))
            self.output.append(line)
            if "serving on" in line:
                return
        raise AssertionError("server did not start:\n" + "".join(self.output))

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                rest, _ = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                rest, _ = self.process.communicate()
            self.output.append(rest)
        return "".join(self.output)


@pytest.fixture
def start(live_env):
    servers = []

    def _start(*args: str, **extra_env: str) -> Server:
        server = Server({**live_env, **extra_env}, *args)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)  # nothing of the tree may linger


def test_serve_demo_is_a_living_site(start):
    server = start("--demo")
    page = httpx.get(f"{server.url}/papers/", timeout=10)
    assert page.status_code == 200
    assert page.text.count('class="card"') == 40
    assert "demo data" in "".join(server.output)
    paper = httpx.get(f"{server.url}/papers/9912.00001", timeout=10)
    assert paper.status_code == 200 and "Abstract" in paper.text
    assert httpx.get(f"{server.url}/static/paperfeed/site.css", timeout=10).status_code == 200
    assert httpx.get(f"{server.url}/", timeout=10, follow_redirects=False).status_code == 302
    output = server.stop()
    assert server.process.returncode == 0, output
    assert "Started background worker" in output


def test_fresh_home_fetches_announcements_in_the_background(start, upstream):
    upstream.add("/rss/cs.LG", fixture("rss_cs_LG.xml"), content_type="application/rss+xml")
    upstream.add("/api/query", fixture("arxiv_api_empty.atom"), content_type="application/atom+xml")
    server = start(
        PAPERFEED_CATEGORIES="cs.LG",
        PAPERFEED_ARXIV_LISTING_URL=f"{upstream.url}/rss/",
        PAPERFEED_ARXIV_API_URL=f"{upstream.url}/api/query",
    )
    assert "fetching today's arXiv announcements for cs.LG" in "".join(server.output)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = httpx.get(f"{server.url}/papers/date/2024-12-04", timeout=10)
        if page.text.count('class="card"') == 3:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("announcements never appeared:\n" + server.stop())
    assert any(r["path"] == "/rss/cs.LG" for r in upstream.requests)


def test_fresh_home_offline_says_so(start):
    closed = free_port()
    server = start(PAPERFEED_ARXIV_LISTING_URL=f"http://127.0.0.1:{closed}/rss/")
    output = "".join(server.output)
    assert "OFFLINE: cannot reach arXiv" in output
    assert "paperfeed serve --demo" in output
    page = httpx.get(f"{server.url}/papers/", timeout=10)
    assert page.status_code == 200 and "No papers listed" in page.text
