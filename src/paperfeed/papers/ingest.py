"""Running an ingest: pick the source, feed its records to `upsert.store_batch` in
batches, log the run so that a stopped ingest resumes, and report progress and a summary.

Every `paperfeed ingest ...` command and every background fetch goes through `run`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from paperfeed.papers.http import PoliteClient, UpstreamError
from paperfeed.papers.models import IngestRun
from paperfeed.papers.records import (
    Checkpoint,
    PaperRecord,
    RecordError,
    Rejected,
    validate,
)
from paperfeed.papers.sources import arxiv_api, arxiv_listing, huggingface, oai_pmh, snapshot
from paperfeed.papers.sources.common import open_binary
from paperfeed.papers.upsert import store_batch

log = logging.getLogger(__name__)

BATCH_SIZE = 1_000
# Snapshots at least this big are parsed in a second process (it costs ~0.3 s to start).
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
SQLITE_INGEST_CACHE_KB = 256 * 1024
MAX_LOGGED_ERRORS = 200
FORMATS = ("arxiv-snapshot", "arxiv-atom", "oai-pmh", "hf-daily", "arxiv-rss")


class Progress:
    """A tqdm bar on a terminal; a plain log line every few seconds otherwise."""

    def __init__(self, label: str, total: float | None, unit: str, *, enabled: bool = True):
        self.label, self.total, self.unit = label, total, unit
        self.tty = enabled and sys.stderr.isatty()
        self.bar = (
            tqdm(total=total, unit=unit, unit_scale=True, desc=label, dynamic_ncols=True)
            if self.tty
            else None
        )
        self.position = 0.0
        self.started = self.last_log = time.monotonic()
        self.enabled = enabled

    def update(self, position: float, records: int) -> None:
        if self.bar is not None:
            self.bar.update(position - self.position)
            self.bar.set_postfix(papers=f"{records:,}", refresh=False)
        elif self.enabled and time.monotonic() - self.last_log >= 10:
            self.last_log = time.monotonic()
            rate = records / max(1e-9, self.last_log - self.started)
            eta = ""
            if self.total and position:
                remaining = (self.total - position) * (self.last_log - self.started) / position
                eta = f", {position / self.total:.0%} done, ETA {remaining:.0f}s"
            log.info("%s: %s records, %.0f/s%s", self.label, f"{records:,}", rate, eta)
        self.position = position

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class Outcome:
    run: IngestRun

    @property
    def exit_code(self) -> int:
        if self.run.status == IngestRun.Status.FAILED:
            return 2
        return 1 if self.run.rejected else 0

    def summary(self) -> str:
        run = self.run
        text = (
            f"{run.source}: {run.new:,} new, {run.updated:,} updated, {run.unchanged:,} "
            f"unchanged, {run.rejected:,} rejected, {run.listed:,} listed"
        )
        if run.status == IngestRun.Status.FAILED:
            text += f"; FAILED: {run.message}"
        return text


def run(
    source: str,
    key: str,
    items_from: Callable[[str], Iterable],
    *,
    params: dict | None = None,
    total: float | None = None,
    position: Callable[[], float] | None = None,
    resume: bool = True,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> Outcome:
    """Ingest what `items_from(cursor)` yields, resuming an unfinished run of the same key."""
    if connection.vendor == "sqlite":
        # A bigger page cache for this connection only: index pages of a large database
        # stay in memory while a bulk import inserts all over them.
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_INGEST_CACHE_KB}")
            # Fewer, larger WAL checkpoints: each one costs an fsync.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
    previous = IngestRun.objects.filter(source=source, key=key).first()
    cursor = ""
    if resume and previous and previous.status != IngestRun.Status.DONE and previous.cursor:
        cursor = previous.cursor
        log.info("%s: resuming %s from %s", source, key, cursor)
    ingest_run = IngestRun.objects.create(
        source=source,
        key=key[:500],
        params=params or {},
        cursor=cursor,
        resumed_from=previous if cursor else None,
    )
    bar = Progress(f"ingest {source}", total, "B" if position else "papers", enabled=progress)
    pending: dict[str, PaperRecord] = {}
    seen = 0

    def reject(place: str, reason: str) -> None:
        ingest_run.rejected += 1
        if len(ingest_run.errors) < MAX_LOGGED_ERRORS:
            ingest_run.errors.append({"place": place, "reason": reason})
        message = f"rejected {place}: {reason}"
        (echo or log.warning)(message)

    def flush(new_cursor: str | None = None) -> None:
        with transaction.atomic():
            result = store_batch(list(pending.values()))
            ingest_run.new += result.new
            ingest_run.updated += result.updated
            ingest_run.unchanged += result.unchanged
            ingest_run.listed += result.listed
            if new_cursor is not None:
                ingest_run.cursor = new_cursor
            ingest_run.save()
        pending.clear()
        bar.update(position() if position else seen, seen)

    try:
        for item in items_from(cursor):
            if isinstance(item, Checkpoint):
                flush(item.cursor)
            elif isinstance(item, Rejected):
                reject(item.place, item.reason)
            else:
                seen += 1
                try:
                    record = validate(item)
                except RecordError as exc:
                    reject(item.place or item.arxiv_id, str(exc))
                    continue
                if record.arxiv_id in pending:  # keep the order of two records of one paper
                    flush()
                pending[record.arxiv_id] = record
                if len(pending) >= BATCH_SIZE:
                    flush()
        flush()
        ingest_run.status = IngestRun.Status.DONE
    except UpstreamError as exc:
        flush()
        ingest_run.status = IngestRun.Status.FAILED
        ingest_run.message = str(exc)
    except BaseException as exc:
        ingest_run.status = IngestRun.Status.FAILED
        ingest_run.message = f"stopped: {type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        bar.close()
        ingest_run.finished_at = timezone.now()
        ingest_run.save()
    return Outcome(ingest_run)


# --- files -----------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    stream, raw = open_binary(path)
    with raw:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "arxiv-snapshot"
    if head.startswith(b"["):
        return "hf-daily"
    if head.startswith(b"<"):
        if b"OAI-PMH" in head:
            return "oai-pmh"
        if b"<rss" in head:
            return "arxiv-rss"
        if b"<feed" in head:
            return "arxiv-atom"
    raise RecordError(
        f"{path}: cannot tell the format (expected JSON lines, a JSON list, Atom, RSS or "
        f"OAI-PMH XML); pass --format"
    )


def _from_parser_process(path: Path, start_line: int, produced: list[int]) -> Iterator:
    """Items of a snapshot parsed and validated in a second process.

    Parsing and validation are a third of an import's CPU time; in their own process
    they overlap with the database writes here (docs/benchmarks.md has the gain).
    """
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited DB
    channel = context.Queue(maxsize=8)
    process = context.Process(
        target=snapshot.produce, args=(str(path), start_line, channel), daemon=True
    )
    process.start()
    try:
        while True:
            try:
                message = channel.get(timeout=5)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError("the parser process stopped unexpectedly") from None
                continue
            if message is None:
                return
            if message[0] == "error":
                raise RuntimeError(f"the parser process failed: {message[1]}")
            produced[0], items = message
            yield from items
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


def ingest_file(path: str | os.PathLike, fmt: str = "auto", **options) -> Outcome:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    stream, raw = open_binary(path)

    position = raw.tell
    parallel = fmt == "arxiv-snapshot" and stat.st_size >= PARALLEL_MIN_BYTES
    if parallel:
        produced = [0]
        position = lambda: produced[0]  # noqa: E731

    def items(cursor: str) -> Iterator:
        if parallel:
            yield from _from_parser_process(path, int(cursor or 0), produced)
            return
        if fmt == "arxiv-snapshot":
            yield from snapshot.read_snapshot(stream, path.name, int(cursor or 0))
            return
        body = stream.read()
        where = path.name
        try:
            if fmt == "arxiv-atom":
                yield from arxiv_api.parse_atom(body, where)
            elif fmt == "oai-pmh":
                yield from oai_pmh.parse_page(body, where)[0]
            elif fmt == "hf-daily":
                yield from huggingface.parse_daily(body, where)
            else:
                yield from arxiv_listing.parse_rss(body, where)
        except (RecordError, UpstreamError) as exc:
            yield Rejected(where, str(exc).removeprefix(f"{where}: "))

    with raw:
        return run(
            f"file:{fmt}",
            key,
            items,
            params={"path": str(path), "format": fmt},
            total=stat.st_size,
            position=position,
            **options,
        )


# --- network sources -------------------------------------------------------------------


def ingest_ids(ids: list[str], **options) -> Outcome:
    key = ",".join(sorted(set(ids)))[:500]
    return run(
        "arxiv-api",
        key,
        lambda cursor: arxiv_api.fetch_ids(ids),
        params={"ids": ids[:1000]},
        total=len(ids),
        **options,
    )


def ingest_hf(list_date: date, **options) -> Outcome:
    return run(
        "hf",
        list_date.isoformat(),
        lambda cursor: huggingface.fetch_daily(list_date),
        params={"date": list_date.isoformat()},
        **options,
    )


def ingest_oai(
    category: str, from_date: date | None, until_date: date | None, **options
) -> Outcome:
    key = f"{category}:{from_date or ''}:{until_date or ''}"

    def items(cursor: str) -> Iterator:
        return oai_pmh.harvest(
            category, from_date=from_date, until_date=until_date, resume_token=cursor or None
        )

    return run(
        "oai-pmh",
        key,
        items,
        params={"category": category, "from": str(from_date or ""), "until": str(until_date or "")},
        **options,
    )


def ingest_listing(category: str, *, enrich: bool = True, **options) -> Outcome:
    """Today's announcements of a category; then full metadata from the API for new ones."""
    announced: list[str] = []

    def items(cursor: str) -> Iterator:
        for item in arxiv_listing.fetch_listing(category):
            if isinstance(item, PaperRecord) and item.listing:
                announced.append(item.arxiv_id)
            yield item

    outcome = run(
        "arxiv-listing",
        f"{category}:{timezone.now().date()}",
        items,
        params={"category": category},
        **options,
    )
    if enrich and announced and outcome.run.status == IngestRun.Status.DONE:
        enriched = ingest_ids(announced, **options)
        log.info("enriched %s announcements: %s", category, enriched.summary())
    return outcome


def check_upstream(url: str) -> str | None:
    """None if the host answers at all; else a sentence saying why not."""
    client = PoliteClient("reachability", retries=0)
    try:
        client.client.head(url, timeout=5)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None
