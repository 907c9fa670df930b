"""`paperfeed serve` as a real process tree for tests: a fresh home (and, on PostgreSQL, a
fresh database) per instance, its output read as it comes, and the CLI against the same data.

Usage::

    def test_something(start):                  # pytest fixture defined below
        server = start("--demo")                # returns once it prints "serving on"
        httpx.get(f"{server.url}/papers/")
        mark = server.mark()
        server.manage("sendtestemail", "ada@example.org")
        server.wait_for(r"Subject: Test email", since=mark)
        output = server.stop()                  # everything it printed

For an instance shared by a module or session, build the environment with
`live_environment(home)` and stop the `Server` yourself (see tests/browser/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

# The live instance runs this checkout's code, whatever version is installed.
SRC = Path(__file__).resolve().parent.parent / "src"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_environment(home: Path) -> dict[str, str]:
    """Environment for a fresh instance in `home`: the real settings (not the test
    settings pytest-django exported), and its own database on PostgreSQL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAPERFEED_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env["PAPERFEED_HOME"] = str(home)
    env["PAPERFEED_MODEL_CACHE"] = str(django_settings.PAPERFEED_MODEL_CACHE)
    env["PAPERFEED_ARXIV_DELAY"] = "0"
    if django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        from tests.settings import postgres_url

        name = f"live_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = postgres_url().replace("/postgres?", f"/{name}?")
    return env


def run_cli(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`paperfeed ARGS` in a process of its own with this environment (an instance's home
    and database, as live_environment makes)."""
    done = subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"paperfeed {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done


@pytest.fixture
def live_env(tmp_path) -> dict[str, str]:
    """Environment for a fresh instance: its own home, and its own database on PostgreSQL."""
    return live_environment(tmp_path / "home")


class Server:
    """A running `paperfeed serve`. A thread reads its output all the time (a chatty
    server would otherwise fill the pipe and hang); `output` is the list of lines so far."""

    def __init__(self, env: dict[str, str], *args: str, timeout: float = 60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Links the instance writes (mails, canonical URLs) point at the instance itself.
        self.env = {"PAPERFEED_BASE_URL": self.url, **env}
        self.output: list[str] = []
        self._changed = threading.Condition()
        self._eof = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", "serve", "--port", str(self.port), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.wait_for("serving on", timeout=timeout)
        except AssertionError:
            self.stop()
            raise

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.output.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self.output)

    def mark(self) -> int:
        """A position in the output, for `wait_for(..., since=mark)`."""
        with self._changed:
            return len(self.output)

    def wait_for(self, pattern: str | re.Pattern, timeout: float = 10, since: int = 0) -> re.Match:
        """The first match of `pattern` (a regular expression, searched across lines) in the
        output from line `since` on; waits for it up to `timeout` seconds."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if match := regex.search("".join(self.output[since:])):
                    return match
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    break
                self._changed.wait(left)
            output = "".join(self.output)
        why = "server exited" if self._eof else f"no {regex.pattern!r} within {timeout} s"
        raise AssertionError(f"{why}:\n{output}")

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """`paperfeed ARGS` against this instance's home and database."""
        return run_cli(self.env, *args, check=check, timeout=timeout)

    def manage(self, *args: str) -> str:
        """`paperfeed manage ARGS` (a Django management command) against this instance;
        its standard output. E.g. `manage("shell", "-c", code)`."""
        return self.cli("manage", *args).stdout

    def stop(self) -> str:
        """Stop the server (SIGTERM, as Ctrl+C would) and return everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # nothing of the tree may linger
        self._reader.join(timeout=10)
        return self.text


@pytest.fixture
def start(live_env):
    """Start `paperfeed serve ARGS` with extra environment variables; stopped at teardown."""
    servers: list[Server] = []

    def _start(*args: str, **extra_env: str) -> Server:
        server = Server({**live_env, **extra_env}, *args)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()
