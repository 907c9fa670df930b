"""Where an ingest's time goes, without a profiler's overhead, and what-if patches.

    python bench/ingest_breakdown.py [--papers 20000] [--engine sqlite|postgres]
                                     [--whatif slug-cache,raw-index,...]

Runs `ingest.ingest_file(CORPUS, "arxiv-snapshot")` in this process on a fresh instance,
twice (import, then the all-unchanged re-import), with wall-clock timers around the stages
(parse, validate, store_batch and its parts, bulk_create per model) and around every SQL
statement (Django's execute_wrapper, by verb and table). Timers are inclusive: a stage's
time contains the SQL it runs.

--whatif applies in-process monkeypatches (here only, nothing in src/ changes) that try
the suggestions of the ingest report, to measure what each would buy:
- slug-cache: memoise records.author_slug (names repeat; it is called twice per authorship);
- raw-index: insert PaperAuthor and PaperCategory rows as plain tuples (insert_rows:
  executemany on SQLite, multi-row VALUES on PostgreSQL) instead of bulk_create of
  model instances;
- skip-unchanged: before store_batch, fetch (arxiv_id, content_hash) only and drop records
  whose own hash equals the stored one (they cannot change anything), so unchanged papers
  are never loaded as model instances;
- raw-paper: insert new Paper rows as tuples adapted by the backend's own adapters (JSON,
  datetimes) with insert_rows, then read their ids back with one SELECT;
- fast-clean: records.clean_text with cheaper steps and the same result;
- link-prefilter: links.extract_links runs only on texts containing "://" or a code host;
- fast-dates: the snapshot's RFC 2822 version dates parsed by splitting the string.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
TABLE = re.compile(r'^\s*(\w+)\s+(?:INTO|FROM)?\s*"?(\w+)"?', re.IGNORECASE)


def timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - started
            CALLS[name] += 1

    return wrapper


def sql_timer(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        verb = sql.lstrip().split(None, 1)[0].upper()
        match = re.search(r'(?:INTO|FROM|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
        key = f"sql {verb} {match.group(1) if match else '?'}" + (" (many)" if many else "")
        TIMES[key] += time.perf_counter() - started
        CALLS[key] += 1


def install_timers() -> None:
    from django.db.models import query

    from paperfeed.papers import ingest, records, upsert
    from paperfeed.papers.sources import snapshot

    snapshot.parse_line = timed("parse_line (snapshot.py)", snapshot.parse_line)
    ingest.validate = timed("validate (records.py)", ingest.validate)
    store = timed("store_batch (upsert.py)", upsert.store_batch)
    ingest.store_batch = upsert.store_batch = store
    for name in ("_index_authors", "_index_categories", "_index_links", "_merge", "content_hash"):
        setattr(upsert, name, timed(f"  {name} (upsert.py)", getattr(upsert, name)))
    upsert.author_slug = timed("    author_slug (records.py)", upsert.author_slug)
    upsert.extract_links = timed("    extract_links (links.py)", upsert.extract_links)
    records.clean_text = timed("  clean_text (records.py)", records.clean_text)

    original = query.QuerySet.bulk_create

    def bulk_create(self, objs, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, objs, *args, **kwargs)
        finally:
            key = f"  bulk_create {self.model.__name__}"
            TIMES[key] += time.perf_counter() - started
            CALLS[key] += 1

    query.QuerySet.bulk_create = bulk_create


def insert_rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    """INSERT rows of adapted values: executemany on SQLite (a C loop over one prepared
    statement); multi-row VALUES statements on PostgreSQL, where executemany costs a
    statement execution per row."""
    from django.db import connection

    if not rows:
        return
    ops = connection.ops
    head = f"INSERT INTO {ops.quote_name(table)} ({', '.join(ops.quote_name(c) for c in columns)})"
    marks = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(f"{head} VALUES {marks}", rows)
            return
        per = max(1, 60_000 // len(columns))
        for lo in range(0, len(rows), per):
            chunk = rows[lo : lo + per]
            params = [value for row in chunk for value in row]
            cursor.execute(f"{head} VALUES {', '.join([marks] * len(chunk))}", params)


def whatif_slug_cache() -> None:
    from paperfeed.papers import records, upsert

    cached = functools.lru_cache(maxsize=1 << 18)(records.author_slug)
    upsert.author_slug = timed("    author_slug (records.py, cached)", cached)


def whatif_raw_index() -> None:
    """_index_authors/_index_categories inserting tuples (same rows, same order)."""
    from paperfeed.papers import upsert
    from paperfeed.papers.models import Author, PaperAuthor, PaperCategory

    def insert(model, columns: list[str], rows: list[tuple]) -> None:
        insert_rows(model._meta.db_table, columns, rows)

    def index_authors(papers, replace):
        if not papers:
            return
        if replace:
            PaperAuthor.objects.filter(paper__in=replace).delete()
        slug = upsert.author_slug
        names: dict[str, str] = {}
        slugs_of: list[list[str]] = []
        for paper in papers:
            slugs = [slug(name) for name in paper.author_names]
            slugs_of.append(slugs)
            for s, name in zip(slugs, paper.author_names, strict=True):
                names.setdefault(s, name)
        ids = dict(Author.objects.filter(slug__in=list(names)).values_list("slug", "id"))
        missing = [Author(slug=s, name=n) for s, n in names.items() if s not in ids]
        if missing:
            Author.objects.bulk_create(missing, ignore_conflicts=True)
            ids.update(
                Author.objects.filter(slug__in=[a.slug for a in missing]).values_list("slug", "id")
            )
        rows = []
        for paper, slugs in zip(papers, slugs_of, strict=True):
            seen = set()
            for position, s in enumerate(slugs):
                author_id = ids[s]
                if author_id in seen:
                    continue
                seen.add(author_id)
                rows.append((paper.pk, author_id, position))
        insert(PaperAuthor, ["paper_id", "author_id", "position"], rows)

    def index_categories(papers, replace):
        if replace:
            PaperCategory.objects.filter(paper__in=replace).delete()
        rows = [
            (paper.pk, category, i == 0)
            for paper in papers
            for i, category in enumerate(paper.categories)
        ]
        insert(PaperCategory, ["paper_id", "category", "is_primary"], rows)

    upsert._index_authors = timed("  _index_authors (upsert.py, raw)", index_authors)
    upsert._index_categories = timed("  _index_categories (upsert.py, raw)", index_categories)


def whatif_skip_unchanged() -> None:
    """Drop records whose own content hash is the stored one before the full merge."""
    from paperfeed.papers import ingest, upsert
    from paperfeed.papers.models import Paper

    store = ingest.store_batch

    def store_batch(batch):
        if not batch:
            return store(batch)
        stored = dict(
            Paper.objects.filter(arxiv_id__in=[r.arxiv_id for r in batch]).values_list(
                "arxiv_id", "content_hash"
            )
        )
        rest, skipped = [], 0
        for record in batch:
            digest = stored.get(record.arxiv_id)
            if (
                digest is not None
                and record.listing is None
                and not record.links
                and upsert.content_hash(upsert._merge(upsert.EMPTY, record)) == digest
            ):
                skipped += 1
            else:
                rest.append(record)
        result = store(rest)
        result.unchanged += skipped
        return result

    ingest.store_batch = timed("store_batch + skip-unchanged prefilter", store_batch)


def whatif_raw_paper() -> None:
    """New Paper rows inserted as adapted tuples (insert_rows), then one SELECT for the ids."""
    from django.db import connection, models
    from django.db.models import query

    from paperfeed.papers.models import Paper

    fields = [f for f in Paper._meta.concrete_fields if not f.primary_key]
    ops = connection.ops
    adapters = []
    for f in fields:
        if isinstance(f, models.JSONField):
            adapters.append(functools.partial(ops.adapt_json_value, encoder=f.encoder))
        elif isinstance(f, models.DateTimeField):
            adapters.append(ops.adapt_datetimefield_value)
        else:
            adapters.append(None)
    columns = [f.column for f in fields]
    attnames = [f.attname for f in fields]
    original = query.QuerySet.bulk_create

    def bulk_create(self, objs, *args, **kwargs):
        if self.model is not Paper or args or kwargs or not objs:
            return original(self, objs, *args, **kwargs)
        rows = []
        for obj in objs:
            values = obj.__dict__
            rows.append(
                tuple(
                    a(values[n]) if a is not None and values[n] is not None else values[n]
                    for a, n in zip(adapters, attnames, strict=True)
                )
            )
        insert_rows(Paper._meta.db_table, columns, rows)
        ids = dict(
            Paper.objects.filter(arxiv_id__in=[o.arxiv_id for o in objs]).values_list(
                "arxiv_id", "id"
            )
        )
        for obj in objs:
            obj.pk = ids[obj.arxiv_id]
            obj._state.adding = False
            obj._state.db = self.db
        return objs

    query.QuerySet.bulk_create = bulk_create


def whatif_fast_clean() -> None:
    """clean_text with the same result and cheaper steps: NFC only for non-ASCII text, the
    control-character regex only for text that is not printable, str.split() to collapse
    whitespace (str.isspace and the regex's \\s are the same set)."""
    import unicodedata

    from paperfeed.papers import records

    slow = records.clean_text
    control = records.CONTROL_CHARS

    def clean_text(value, *, limit, what, collapse=True):
        if not isinstance(value, str) or len(value) > limit * 4:
            return slow(value, limit=limit, what=what, collapse=collapse)  # None or an error
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
        if not value.isprintable():
            value = control.sub("", value)
        value = " ".join(value.split()) if collapse else value.strip()
        if len(value) > limit:
            return slow(value, limit=limit, what=what, collapse=collapse)  # the error
        return value

    records.clean_text = timed("  clean_text (records.py, fast)", clean_text)


def whatif_link_prefilter() -> None:
    """Run the link regexes only on texts that can hold a URL at all."""
    from paperfeed.papers import upsert

    slow = upsert.extract_links
    cues = ("://", "github.com", "gitlab.com", "bitbucket.org", "huggingface.co")

    def extract_links(*texts):
        for text in texts:
            if text:
                low = text.lower()
                if any(cue in low for cue in cues):
                    return slow(*texts)
        return []

    upsert.extract_links = extract_links


def whatif_fast_dates() -> None:
    """The snapshot's fixed RFC 2822 dates ("Mon, 2 Apr 2007 19:18:42 GMT") parsed by
    splitting, instead of a failed fromisoformat() and email.utils for every version."""
    from datetime import UTC, datetime

    from paperfeed.papers.sources import snapshot

    slow = snapshot.parse_datetime
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    months = {m: i for i, m in enumerate(names, 1)}

    def parse_datetime(value):
        parts = value.split() if isinstance(value, str) else ()
        if len(parts) == 6 and parts[5] == "GMT" and parts[2] in months:
            clock = parts[4].split(":")
            if len(clock) == 3 and parts[1].isdigit() and parts[3].isdigit():
                try:
                    return datetime(
                        int(parts[3]), months[parts[2]], int(parts[1]),
                        int(clock[0]), int(clock[1]), int(clock[2]), tzinfo=UTC,
                    )  # fmt: skip
                except ValueError:
                    pass
        return slow(value)

    snapshot.parse_datetime = parse_datetime


WHATIFS = {
    "slug-cache": whatif_slug_cache,
    "raw-index": whatif_raw_index,
    "skip-unchanged": whatif_skip_unchanged,
    "raw-paper": whatif_raw_paper,
    "fast-clean": whatif_fast_clean,
    "link-prefilter": whatif_link_prefilter,
    "fast-dates": whatif_fast_dates,
}


def report(title: str, seconds: float, papers: int) -> str:
    lines = [f"### {title}: {seconds:.2f}s, {papers / seconds:,.0f} papers/s", ""]
    lines.append("| stage (inclusive) | seconds | % of wall | calls |")
    lines.append("|---|---:|---:|---:|")
    sql_total = sum(v for k, v in TIMES.items() if k.startswith("sql "))
    for key, value in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        if key.startswith("sql ") and value < 0.02 * sql_total:
            continue
        lines.append(f"| {key} | {value:.2f} | {100 * value / seconds:.0f}% | {CALLS[key]:,} |")
    lines.append(
        f"| **all SQL execution** | {sql_total:.2f} | {100 * sql_total / seconds:.0f}% | |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--whatif", default="", help=f"comma-separated: {', '.join(WHATIFS)}")
    parser.add_argument(
        "--no-timers", action="store_true", help="no stage timers: only the totals (less overhead)"
    )
    args = parser.parse_args(argv)
    whatifs = [w for w in args.whatif.split(",") if w]
    if unknown := [w for w in whatifs if w not in WHATIFS]:
        parser.error(f"unknown --whatif {unknown}")

    from ingest import corpus_file

    path = corpus_file(args.papers, args.seed)
    root = Path(tempfile.mkdtemp(prefix="paperfeed-breakdown-"))
    os.environ["PAPERFEED_HOME"] = str(root / "home")
    os.environ.pop("DATABASE_URL", None)
    server = None
    if args.engine == "postgres":
        import pgserver

        server = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
        server.psql("CREATE DATABASE breakdown;")
        os.environ["DATABASE_URL"] = server.get_uri(database="breakdown")

    from paperfeed.cli import migrate, setup_django

    setup_django()
    migrate()
    from django.db import connection

    from paperfeed.papers import ingest

    if not args.no_timers:
        install_timers()
    for name in whatifs:
        WHATIFS[name]()
    print(
        f"## Ingest breakdown: {args.papers:,} papers, {args.engine}, "
        f"what-if: {', '.join(whatifs) or 'none'}\n"
    )
    try:
        for title in ("import", "re-import (all unchanged)"):
            TIMES.clear()
            CALLS.clear()
            with connection.execute_wrapper(sql_timer) if not args.no_timers else nullcontext():
                started = time.perf_counter()
                outcome = ingest.ingest_file(path, "arxiv-snapshot", progress=False)
                seconds = time.perf_counter() - started
            if args.no_timers:
                print(f"### {title}: {seconds:.2f}s, {args.papers / seconds:,.0f} papers/s")
            else:
                print(report(title, seconds, args.papers))
            print(outcome.summary(), "\n")
    finally:
        connection.close()
        if server is not None:
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
