"""Export an instance's data to one file and import it into another (`paperfeed export`,
`paperfeed import`): the way to move from SQLite to PostgreSQL, to another machine, or to
keep a backup that any version of paperfeed with the same migrations reads.

The file is JSON Lines in Django's serialisation format (one object a line, primary keys
kept), written and read by Django's serialisers and `loaddata`: papers, authors, listings,
code links, members (with their password hashes), votes, comments, collections,
authorship claims, subscriptions with saved searches, followed authors and the delivery
ledger (so that nobody gets a digest twice after a move), API and feed tokens (stored as
digests), ingest runs and, unless left out, the embeddings. Permissions and groups travel
by their natural keys, so they match whatever ids the new database gave them.

Not exported, because they are derived or passing: the search index (rebuilt after the
import), pgvector copies and the usearch file (rebuilt on first use or by `paperfeed
index`), sessions, rate-limit counters, scheduled-job records and queued tasks.

An import goes into an empty instance only (a fresh PAPERFEED_HOME or an empty
database; `paperfeed import` creates the tables), all or nothing: the whole file is
checked first, then loaded in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from django.apps import apps
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, transaction

FORMAT = "jsonl"
# In an order in which every reference points backwards (PostgreSQL checks deferred
# constraints at commit anyway; the order keeps the file readable and SQLite's check cheap).
MODELS = [
    "auth.group",
    "accounts.user",
    "papers.paper",
    "papers.author",
    "papers.paperauthor",
    "papers.papercategory",
    "papers.codelink",
    "papers.listing",
    "papers.ingestrun",
    "community.vote",
    "community.comment",
    "community.collection",
    "community.collectionitem",
    "community.authorclaim",
    "digests.subscription",
    "digests.savedsearch",
    "digests.followedauthor",
    "digests.delivery",
    "digests.sentpaper",
    "api.accesstoken",
    "feeds.feedtoken",
    "search.embeddingstate",
    "search.paperembedding",
]
EMBEDDINGS = {"search.embeddingstate", "search.paperembedding"}
MAX_REPORTED = 10


class TransferError(Exception):
    """A file that cannot be imported, or an instance it cannot go into; nothing was
    written."""


def export_to(
    stream: TextIO,
    *,
    embeddings: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write every exported row to `stream`; returns the count per model."""
    counts = {}
    for label in MODELS:
        if label in EMBEDDINGS and not embeddings:
            continue
        model = apps.get_model(label)
        rows = model._default_manager.order_by("pk")
        counts[label] = rows.count()
        if counts[label]:
            serializers.serialize(
                FORMAT,
                rows.iterator(chunk_size=2_000),
                stream=stream,
                use_natural_foreign_keys=True,  # permissions and content types only
            )
        if progress:
            progress(label, counts[label])
    return counts


def check_file(path: Path) -> dict[str, int]:
    """Read the whole file without writing anything: every line one JSON object of an
    exported model. Returns the count per model; TransferError lists what is wrong."""
    problems: list[str] = []
    counts: dict[str, int] = {}
    known = set(MODELS)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TransferError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    problems.append(f"line {number}: not JSON ({exc.msg})")
                    continue
                if not isinstance(row, dict) or not isinstance(row.get("fields"), dict):
                    problems.append(f"line {number}: not an exported object")
                    continue
                label = str(row.get("model", "")).lower()
                if label not in known:
                    problems.append(f"line {number}: {label or 'no model'} is not exported data")
                    continue
                counts[label] = counts.get(label, 0) + 1
        except UnicodeDecodeError as exc:
            problems.append(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    if problems:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        raise TransferError(
            f"{path} is not a paperfeed export; nothing was imported:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    if not counts:
        raise TransferError(f"{path} holds no data; nothing was imported")
    return counts


def occupied() -> list[str]:
    """What an instance already holds that an import would collide with."""
    found = []
    for label in MODELS:
        model = apps.get_model(label)
        if model._default_manager.exists():
            found.append(label)
    return found


def import_from(path: Path) -> dict[str, int]:
    """Load an export into this (empty) instance, all or nothing, then rebuild the search
    index. Returns the count per model."""
    counts = check_file(path)
    taken = occupied()
    if taken:
        raise TransferError(
            "this instance already holds data (" + ", ".join(taken) + "); import into an "
            "empty one: a new PAPERFEED_HOME, or an empty database"
        )
    from django.core.management.base import CommandError

    from paperfeed.search.backends import get_backend

    try:
        with transaction.atomic():
            call_command("loaddata", str(path), format=FORMAT, verbosity=0)
            get_backend().rebuild()
    except (CommandError, DeserializationError, DatabaseError, ValidationError) as exc:
        raise TransferError(f"{path} could not be loaded; nothing was imported: {exc}") from exc
    return counts
