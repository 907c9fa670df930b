"""Fast multi-row INSERTs for the ingest hot path.

Django's bulk_create builds a model instance and prepares every value through the field
machinery; at thousands of papers a second that is most of the import time (see
docs/benchmarks.md). Here rows are plain tuples, adapted only where the backend needs it
(JSON and datetimes, through the backend's own adapters), and sent as multi-row VALUES,
which SQLite and PostgreSQL both accept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, models

MAX_ROWS_PER_STATEMENT = 1_000


def _max_params() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        try:
            return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except AttributeError:  # Python < 3.11
            return 999
    return 65_535


def _sqlite_utc_datetime(value: datetime) -> str:
    """What Django's SQLite adapter stores for an aware datetime (naive UTC text),
    without its per-value timezone machinery; naive values are taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def _adapter(field: models.Field) -> Callable | None:
    ops = connection.ops
    if isinstance(field, models.JSONField):
        return lambda value: ops.adapt_json_value(value, field.encoder)
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite" and settings.USE_TZ:
            return _sqlite_utc_datetime
        return ops.adapt_datetimefield_value
    return None


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """INSERT plain tuples into `model`'s table; `columns` are field names (attnames)."""
    if not rows:
        return
    meta = model._meta
    by_attname = {field.attname: field for field in meta.concrete_fields}
    fields = [by_attname[name] for name in columns]
    adapters = [(i, a) for i, f in enumerate(fields) if (a := _adapter(f))]
    if adapters:
        adapted = []
        for row in rows:
            row = list(row)
            for i, adapt in adapters:
                if row[i] is not None:
                    row[i] = adapt(row[i])
            adapted.append(row)
        rows = adapted
    quote = connection.ops.quote_name
    head = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, _max_params() // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [value for row in chunk for value in row]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)


def select_in(
    model: type[models.Model], key: str, values: Sequence, columns: Sequence[str]
) -> list[tuple]:
    """Rows (as tuples of `columns`) whose `key` is one of `values`: a plain
    `SELECT ... WHERE key IN (...)`, without the ORM's per-value lookup preparation."""
    if not values:
        return []
    meta = model._meta
    by_attname = {field.attname: field for field in meta.concrete_fields}
    quote = connection.ops.quote_name
    select = ", ".join(quote(by_attname[c].column) for c in columns)
    head = f"SELECT {select} FROM {quote(meta.db_table)} WHERE {quote(by_attname[key].column)} IN "
    per_statement = max(1, _max_params() - 1)
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), per_statement):
            chunk = list(values[start : start + per_statement])
            cursor.execute(head + "(" + ", ".join(["%s"] * len(chunk)) + ")", chunk)
            rows.extend(cursor.fetchall())
    return rows
