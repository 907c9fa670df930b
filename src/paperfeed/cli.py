"""The `paperfeed` command: serve the site, run the worker, ingest papers, print stats.

The command line and the web site are one program: every subcommand sets Django up with
the same settings and calls the same functions the site uses.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date
from pathlib import Path

log = logging.getLogger("paperfeed")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    # The rate-limit counters live in a cache table of the same database (settings.CACHES).
    call_command("createcachetable", verbosity=verbosity)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-12-04") from exc


# --- serve and worker --------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.db import connections

    from paperfeed.papers.models import IngestRun, Paper

    migrate()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"paperfeed: data in {settings.HOME}, database {engine}")
    if args.demo:
        from paperfeed.papers.demo import fill_demo

        print(f"paperfeed: demo data: {fill_demo()}")
    elif not Paper.objects.exists() and not IngestRun.objects.exists() and not args.no_fetch:
        from paperfeed.papers.ingest import check_upstream
        from paperfeed.papers.tasks import fetch_announcements

        problem = check_upstream(settings.PAPERFEED_ARXIV_LISTING_URL)
        if problem:
            print(
                "paperfeed: OFFLINE: cannot reach arXiv "
                f"({settings.PAPERFEED_ARXIV_LISTING_URL}: {problem}).\n"
                "  The site starts empty. Try `paperfeed serve --demo`, or load papers with "
                "`paperfeed ingest file PATH`."
            )
        else:
            fetch_announcements.enqueue(settings.PAPERFEED_CATEGORIES)
            print(
                "paperfeed: fresh instance: fetching today's arXiv announcements for "
                f"{', '.join(settings.PAPERFEED_CATEGORIES)} in the background"
            )
    connections.close_all()  # never share a database connection across fork()
    from paperfeed.server import run_server

    return run_server(
        args.host,
        args.port,
        workers=args.workers,
        threads=args.threads,
        with_worker=not args.no_worker,
    )


def cmd_worker(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command

    if not args.no_migrate:
        migrate()
    if not args.no_scheduler:
        from paperfeed.scheduler.loop import start_in_thread

        # Every worker runs the scheduler; the ScheduledRun ledger keeps each job to one
        # run per slot however many workers there are (docs/digests.md#the-scheduler).
        start_in_thread(settings.PAPERFEED_SCHEDULER_INTERVAL)
    call_command(
        "db_worker",
        "--queue-name",
        "*",
        "--interval",
        str(args.interval),
        "--no-startup-delay",
        *(["--max-tasks", str(args.max_tasks)] if args.max_tasks else []),
    )
    return 0


# --- digests -----------------------------------------------------------------------------


def cmd_digest(args: argparse.Namespace) -> int:
    from django.db.models import Count

    from paperfeed.digests import delivery
    from paperfeed.digests.models import Delivery

    migrate()
    if args.action == "status":
        counts = {state: 0 for state in Delivery.State.values}
        for state, n in Delivery.objects.values_list("state").annotate(n=Count("id")):
            counts[state] = n
        for state, n in counts.items():
            print(f"{state:>8}: {n:,}")
        unconfirmed = Delivery.objects.filter(state="sent", accepted_at__isnull=True).count()
        print(f"sent without the server's answer: {unconfirmed:,}")
        return 0
    report = delivery.send_digests(frequency=args.period, any_hour=args.now, dry_run=args.dry_run)
    for line in report.lines:
        print(line)
    print(("dry run: " if args.dry_run else "") + report.summary())
    return 1 if report.failed else 0


# --- ingest ------------------------------------------------------------------------------


def _finish(outcomes) -> int:
    code = 0
    for outcome in outcomes:
        print(outcome.summary())
        code = max(code, outcome.exit_code)
    return code


def cmd_ingest(args: argparse.Namespace) -> int:
    from paperfeed.papers import ingest
    from paperfeed.papers.records import RecordError

    migrate()
    options = {"resume": not args.restart, "echo": lambda line: print(line, file=sys.stderr)}
    try:
        if args.source == "file":
            return _finish(
                [ingest.ingest_file(path, args.format, **options) for path in args.paths]
            )
        if args.source == "ids":
            return _finish([ingest.ingest_ids(args.ids, **options)])
        if args.source == "hf":
            return _finish([ingest.ingest_hf(args.date, **options)])
        if args.source == "arxiv":
            from django.conf import settings

            categories = args.category or settings.PAPERFEED_CATEGORIES
            if args.from_date or args.until_date or args.oai:
                return _finish(
                    [
                        ingest.ingest_oai(c, args.from_date, args.until_date, **options)
                        for c in categories
                    ]
                )
            return _finish(
                [ingest.ingest_listing(c, enrich=not args.no_enrich, **options) for c in categories]
            )
    except (FileNotFoundError, RecordError, ValueError) as exc:
        print(f"paperfeed: error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.source)


def cmd_stats(args: argparse.Namespace) -> int:
    from paperfeed.papers.stats import instance_stats

    migrate()
    stats = instance_stats()
    if args.json:
        print(json.dumps(stats, indent=2, sort_keys=True))
    else:
        for key in ("papers", "authors", "listings", "list_days", "code_links", "withdrawn"):
            print(f"{key:>12}: {stats[key]:,}")
        for category, count in list(stats["categories"].items())[:20]:
            print(f"{category:>12}: {count:,}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from paperfeed.search.services import search

    migrate()
    result = search(
        " ".join(args.query),
        categories=args.category,
        sort=args.sort,
        limit=args.limit,
        date_from=args.from_date,
        date_to=args.until_date,
        mode=args.mode,
    )
    papers = [result.redirect_to] if result.redirect_to else result.papers
    if args.json:
        rows = [
            {
                "id": paper.arxiv_id,
                "title": paper.title,
                "score": round(result.scores.get(paper.pk, 1.0), 6),
                "authors": paper.author_names,
                "published": paper.published_at.isoformat() if paper.published_at else None,
                "categories": paper.categories,
            }
            for paper in papers
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for notice in result.query.notices:
            print(f"note: {notice}", file=sys.stderr)
        for paper in papers:
            print(f"{paper.arxiv_id:>18}  {paper.title}")
        if not papers:
            print("no papers match", file=sys.stderr)
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from paperfeed.search.backends import get_backend

    migrate()
    backend = get_backend()
    bar = tqdm(unit="papers", desc=f"index {backend.name}", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    done = backend.rebuild(progress)
    bar.close()
    print(f"indexed {done:,} papers ({backend.name})")
    if args.lexical_only:
        return 0
    from paperfeed.search import semantic

    if not semantic.available():
        print("semantic search is off: no embeddings computed (see the log line above)")
        return 0
    bar = tqdm(unit="papers", desc="embeddings", disable=None)
    embedded = semantic.embed_all(rebuild=args.rebuild, progress=progress)
    bar.close()
    print(f"embedded {embedded:,} papers")
    from paperfeed.search.embeddings import get_embedder
    from paperfeed.search.vectors import UsearchIndex, get_index

    vector_index = get_index(get_embedder().name)
    if isinstance(vector_index, UsearchIndex):
        print(f"vector index saved to {vector_index.save()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from paperfeed.papers.demo import fill_demo

    migrate()
    print(fill_demo(days=args.days, per_day=args.per_day))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from paperfeed.transfer import export_to

    migrate()
    if args.output == "-":
        counts = export_to(sys.stdout, embeddings=not args.no_embeddings)
    else:
        path = Path(args.output)
        partial = path.with_name(path.name + ".partial")
        with partial.open("w", encoding="utf-8") as stream:
            counts = export_to(stream, embeddings=not args.no_embeddings)
        partial.replace(path)  # a file at `output` is always a whole export
    summary = ", ".join(f"{label} {n:,}" for label, n in counts.items() if n)
    print(f"exported {sum(counts.values()):,} rows: {summary}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from paperfeed.transfer import TransferError, import_from

    migrate()
    try:
        counts = import_from(Path(args.file))
    except TransferError as exc:
        print(f"paperfeed import: {exc}", file=sys.stderr)
        return 1
    summary = ", ".join(f"{label} {n:,}" for label, n in counts.items())
    print(f"imported {sum(counts.values()):,} rows: {summary}")
    if "search.paperembedding" in counts:
        print("run `paperfeed index` to build the vector index file now (else on first search)")
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["paperfeed manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperfeed", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the site and its background worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="fill an empty instance with demo data")
    serve.add_argument("--workers", type=int, default=2, help="web worker processes")
    serve.add_argument("--threads", type=int, default=4, help="threads per web worker")
    serve.add_argument("--no-worker", action="store_true", help="run no background worker here")
    serve.add_argument("--no-fetch", action="store_true", help="no first fetch from arXiv")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run background jobs (for scaled-out setups)")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between queue polls")
    worker.add_argument("--max-tasks", type=int, default=0)
    worker.add_argument("--no-migrate", action="store_true")
    worker.add_argument(
        "--no-scheduler", action="store_true", help="run queued jobs only, schedule none"
    )
    worker.set_defaults(func=cmd_worker)

    digest = sub.add_parser("digest", help="send the e-mail digests that are due, or count them")
    dsub = digest.add_subparsers(dest="action", required=True)
    send = dsub.add_parser(
        "send", help="plan and send every digest that is due (what the scheduler runs)"
    )
    send.add_argument("--period", choices=["daily", "weekly"], help="only this kind of digest")
    send.add_argument(
        "--now",
        action="store_true",
        help="send each subscriber's digest of the current period now, whatever their hour",
    )
    send.add_argument(
        "--dry-run", action="store_true", help="list who would get what; send and record nothing"
    )
    dsub.add_parser("status", help="deliveries by state")
    digest.set_defaults(func=cmd_digest)

    ingest = sub.add_parser("ingest", help="bring papers in from arXiv, Hugging Face or files")
    isub = ingest.add_subparsers(dest="source", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--restart", action="store_true", help="do not resume an unfinished run")
    arxiv = isub.add_parser(
        "arxiv",
        parents=[common],
        help="today's announcements, or an OAI-PMH harvest with --from/--until",
    )
    arxiv.add_argument("--category", action="append", help="e.g. cs.LG (repeatable)")
    arxiv.add_argument("--from", dest="from_date", type=_date)
    arxiv.add_argument("--until", dest="until_date", type=_date)
    arxiv.add_argument("--oai", action="store_true", help="harvest with OAI-PMH even without dates")
    arxiv.add_argument(
        "--no-enrich",
        action="store_true",
        help="skip the arXiv API call for comments and exact dates of new papers",
    )
    ids = isub.add_parser("ids", parents=[common], help="papers by arXiv id or URL (arXiv API)")
    ids.add_argument("ids", nargs="+", metavar="ID_OR_URL")
    hf = isub.add_parser("hf", parents=[common], help="Hugging Face daily papers of a date")
    hf.add_argument("--date", type=_date, required=True)
    files = isub.add_parser(
        "file", parents=[common], help="a snapshot, Atom, OAI-PMH or HF JSON file"
    )
    files.add_argument("paths", nargs="+", metavar="PATH")
    files.add_argument(
        "--format",
        default="auto",
        choices=["auto", "arxiv-snapshot", "arxiv-atom", "oai-pmh", "hf-daily", "arxiv-rss"],
    )
    ingest.set_defaults(func=cmd_ingest)

    stats = sub.add_parser("stats", help="counts of papers, authors, listings, code links")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)

    search = sub.add_parser("search", help="search papers from the command line")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument(
        "--json", action="store_true", help="a JSON list of {id, title, score, ...}"
    )
    search.add_argument("--category", action="append")
    search.add_argument("--sort", choices=["relevance", "date", "votes"], default="relevance")
    search.add_argument("--from", dest="from_date", type=_date)
    search.add_argument("--until", dest="until_date", type=_date)
    search.add_argument("--mode", choices=["hybrid", "lexical", "semantic"], default="hybrid")
    search.set_defaults(func=cmd_search)

    index = sub.add_parser("index", help="rebuild the search index from the stored papers")
    index.add_argument(
        "--rebuild",
        action="store_true",
        help="recompute every embedding, not only the missing ones",
    )
    index.add_argument("--lexical-only", action="store_true", help="skip embeddings")
    index.set_defaults(func=cmd_index)

    demo = sub.add_parser("demo", help="fill an empty instance with generated demo data")
    demo.add_argument("--days", type=int, default=7)
    demo.add_argument("--per-day", type=int, default=40)
    demo.set_defaults(func=cmd_demo)

    export = sub.add_parser("export", help="write all of this instance's data to one file")
    export.add_argument("output", nargs="?", default="-", help="a file (default: stdout)")
    export.add_argument(
        "--no-embeddings", action="store_true", help="leave the embeddings out (recomputed later)"
    )
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="load an export into this empty instance")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    manage = sub.add_parser("manage", help="run a Django management command (createsuperuser, ...)")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_django()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("paperfeed: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `paperfeed search ... | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
