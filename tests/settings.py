"""Settings for the test suite: the real settings, on SQLite or (PAPERFEED_TEST_DB=postgres)
on a real PostgreSQL 16 server started through the `pgserver` package."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("PAPERFEED_HOME", tempfile.mkdtemp(prefix="paperfeed-test-home-"))
# The int8 model graph is made once (2-3 s) and shared by every test and live instance,
# from one run to the next (the file is named by its source and ONNX Runtime version).
os.environ.setdefault(
    "PAPERFEED_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "paperfeed-test-models")
)

from paperfeed.settings import *  # noqa: E402,F403

ENGINE = os.environ.get("PAPERFEED_TEST_DB", "sqlite")
# A fresh data folder per run (deleted at exit) unless PAPERFEED_TEST_PGDATA keeps one.
PGDATA = os.environ.get("PAPERFEED_TEST_PGDATA")


def postgres_url() -> str:
    """URI of the test PostgreSQL server, started on first use and stopped at exit."""
    import pgserver

    global PGDATA
    if PGDATA is None:
        PGDATA = tempfile.mkdtemp(prefix="paperfeed-test-pg-")
        os.environ["PAPERFEED_TEST_PGDATA"] = PGDATA
        server = pgserver.get_server(PGDATA, cleanup_mode="delete")
    else:
        server = pgserver.get_server(Path(PGDATA), cleanup_mode="stop")
    server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
    return server.get_uri()


if ENGINE == "sqlite":
    # A file, not Django's default in-memory test database, so that tests can write from
    # several threads at once as the real server does (WAL, busy timeout).
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / "test.sqlite3")}  # noqa: F405
elif ENGINE == "postgres":
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(postgres_url())}
else:
    raise RuntimeError(f"PAPERFEED_TEST_DB must be sqlite or postgres, not {ENGINE!r}")

# pgserver logs from an atexit hook, after pytest has closed the captured streams.
LOGGING["loggers"]["pgserver"] = {"level": "WARNING"}  # noqa: F405

# Jobs run at once, in the test process (the live-server tests run the real worker).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
PAPERFEED_ARXIV_DELAY = 0.0
PAPERFEED_HTTP_RETRIES = 3
PAPERFEED_HTTP_TIMEOUT = 5.0
PAPERFEED_TRENDING_CACHE_SECONDS = 0  # every request scores afresh (tests move the clock)
