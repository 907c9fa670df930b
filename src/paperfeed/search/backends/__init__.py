"""Search engines behind one interface (`base.SearchBackend`), picked by the database in
use: SQLite FTS5 beside SQLite, PostgreSQL full-text search beside PostgreSQL."""

from __future__ import annotations

from django.db import connection

from paperfeed.search.backends.base import Hit, SearchBackend, SearchPage

__all__ = ["Hit", "SearchBackend", "SearchPage", "get_backend"]


def get_backend() -> SearchBackend:
    if connection.vendor == "postgresql":
        from paperfeed.search.backends.postgres import PostgresBackend

        return PostgresBackend()
    from paperfeed.search.backends.sqlite import SqliteBackend

    return SqliteBackend()
