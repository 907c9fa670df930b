"""Building personalised digests: 10,000 subscribers over a synthetic corpus.

    python bench/digests.py [--subscribers 10000] [--papers 20000] [--sample 200]

In a fresh SQLite instance:
1. the synthetic corpus (bench/corpus.py) goes in through `store_batch` (author,
   category and search indexes built the normal way); the last 7 * PER_DAY papers are
   listed over the past week with skewed upvotes, as announcements would be;
2. synthetic subscribers: 60% without an account (1-3 categories), 40% members with 0-3
   saved searches (one or two words of the corpus vocabulary, from a pool of 300) and
   0-5 followed authors (mostly authors of recent papers); 80% daily, 20% weekly;
3. timed: planning every digest (`delivery.plan`: choosing each one's papers and
   writing the ledger, Delivery and SentPaper rows) and rendering every message to the
   bytes that go to the mail server (`DigestMail`, as the sender does), no SMTP;
4. baseline, in the same run: digests built one at a time, each from scratch (its own
   queries and its own rendering, what the moderators' preview does), on `--sample`
   subscribers, extrapolated to all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))
PER_DAY = 300
POOL_QUERIES = 300


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django() -> None:
    os.environ["PAPERFEED_HOME"] = tempfile.mkdtemp(prefix="paperfeed-bench-digests-")
    os.environ["PAPERFEED_SEMANTIC"] = "off"
    os.environ["PAPERFEED_BASE_URL"] = "https://papers.example.org"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_corpus(n: int, seed: int) -> dict:
    from corpus import generate
    from django.db import transaction
    from django.utils import timezone

    from paperfeed.papers.models import Listing, Paper
    from paperfeed.papers.records import validate
    from paperfeed.papers.sources.snapshot import parse_line
    from paperfeed.papers.upsert import store_batch

    started = time.perf_counter()
    batch = []
    for number, item in enumerate(generate(n, seed)):
        batch.append(validate(parse_line(json.dumps(item), str(number))))
        if len(batch) == 1_000:
            store_batch(batch)
            batch = []
    store_batch(batch)
    ingest_s = time.perf_counter() - started

    rng = random.Random(seed)
    today = timezone.localdate()
    recent = list(Paper.objects.order_by("-pk").values_list("pk", flat=True)[: 7 * PER_DAY])
    with transaction.atomic():
        listings = []
        for position, pk in enumerate(recent):
            day = today - timedelta(days=position // PER_DAY)
            listings.append(Listing(paper_id=pk, date=day, source="announcement"))
        Listing.objects.bulk_create(listings, batch_size=2000)
        for listing in listings:
            votes = int(rng.paretovariate(1.2)) - 1
            Paper.objects.filter(pk=listing.paper_id).update(
                upvotes=votes,
                published_at=timezone.make_aware(datetime.combine(listing.date, dtime(0))),
            )
    return {"papers": n, "listed": len(recent), "ingest_s": round(ingest_s, 1)}


def make_subscribers(count: int, seed: int) -> dict:
    from corpus import CATEGORIES, vocabulary
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from paperfeed.digests.models import FollowedAuthor, SavedSearch, Subscription
    from paperfeed.papers.models import Author, Listing, PaperAuthor

    rng = random.Random(seed)
    categories = [name for name, _ in CATEGORIES]
    words = [word for word, _ in vocabulary(seed)[30:1500]]
    queries = list(
        dict.fromkeys(
            " ".join(rng.sample(words, rng.choice([1, 1, 2]))) for _ in range(POOL_QUERIES)
        )
    )
    recent_authors = list(
        PaperAuthor.objects.filter(paper_id__in=Listing.objects.values("paper_id"))
        .values_list("author_id", flat=True)
        .distinct()
    )
    all_authors = list(Author.objects.values_list("pk", flat=True))
    zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo"]
    confirmed = timezone.now() - timedelta(days=10)
    User = get_user_model()
    with transaction.atomic():
        members = User.objects.bulk_create(
            [User(username=f"m{n}", email=f"m{n}@example.org") for n in range(count * 4 // 10)]
        )
        subscriptions = []
        for n in range(count):
            user = members[n] if n < len(members) else None
            subscriptions.append(
                Subscription(
                    email=user.email if user else f"s{n}@example.org",
                    user=user,
                    frequency="weekly" if rng.random() < 0.2 else "daily",
                    weekday=rng.randrange(7),
                    hour=rng.randrange(24),
                    time_zone=rng.choice(zones),
                    trending_count=rng.choice([3, 5, 5, 10]),
                    categories=rng.sample(categories, rng.randint(1, 3))
                    if user is None
                    else rng.sample(categories, rng.randint(0, 2)),
                    confirmed_at=confirmed,
                )
            )
        Subscription.objects.bulk_create(subscriptions, batch_size=2000)
        searches, follows = [], []
        for user in members:
            for query in rng.sample(queries, rng.randint(0, 3)):
                searches.append(SavedSearch(user=user, query=query))
            for _ in range(rng.randint(0, 5)):
                pool = recent_authors if rng.random() < 0.7 else all_authors
                follows.append(FollowedAuthor(user=user, author_id=rng.choice(pool)))
        SavedSearch.objects.bulk_create(searches, batch_size=2000, ignore_conflicts=True)
        FollowedAuthor.objects.bulk_create(follows, batch_size=2000, ignore_conflicts=True)
    return {
        "subscribers": count,
        "members": len(members),
        "saved_searches": SavedSearch.objects.count(),
        "distinct_queries": SavedSearch.objects.values("query").distinct().count(),
        "followed_authors": FollowedAuthor.objects.count(),
    }


def render_all() -> tuple[int, int]:
    """Every planned digest rendered to the bytes the sender hands the mail server."""
    from paperfeed.digests.content import sections_from_json
    from paperfeed.digests.mail import DigestMail
    from paperfeed.digests.models import Delivery

    mail = DigestMail()
    count = size = 0
    pending = Delivery.objects.filter(state="pending").select_related("subscription__user")
    ids = list(pending.values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(ids), 500):
        batch = list(pending.filter(pk__in=ids[start : start + 500]).order_by("pk"))
        mail.prepare(pk for d in batch for s in d.content["sections"] for pk, _ in s["items"])
        for delivery in batch:
            message = mail.message(
                delivery.subscription,
                sections_from_json(delivery.content["sections"]),
                delivery.content["label"],
                delivery.message_id,
            )
            size += len(message.message().as_bytes(linesep="\r\n"))
            count += 1
    return count, size


def baseline(sample: int, seed: int) -> float:
    """Seconds per digest, built one at a time from scratch (as the preview builds one)."""
    from paperfeed.digests import delivery
    from paperfeed.digests.models import Subscription

    rng = random.Random(seed)
    ids = rng.sample(list(Subscription.objects.values_list("pk", flat=True)), sample)
    started = time.perf_counter()
    for pk in ids:
        subscription = Subscription.objects.select_related("user").get(pk=pk)
        _, digest = delivery.preview(subscription)
        assert digest.html
    return (time.perf_counter() - started) / sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=200, help="digests for the baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    setup_django()
    from django.db.models import Count

    from paperfeed.digests import delivery
    from paperfeed.digests.models import Delivery, SentPaper

    out: dict = {}
    out.update(load_corpus(args.papers, args.seed))
    out.update(make_subscribers(args.subscribers, args.seed))

    per_digest = baseline(args.sample, args.seed)
    out["baseline_ms_per_digest"] = round(1000 * per_digest, 1)
    out["baseline_s_for_all"] = round(per_digest * args.subscribers, 1)

    started = time.perf_counter()
    report = delivery.plan(any_hour=True)
    out["plan_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rendered, size = render_all()
    out["render_s"] = round(time.perf_counter() - started, 1)
    out["total_s"] = round(out["plan_s"] + out["render_s"], 1)
    out["speedup"] = round(out["baseline_s_for_all"] / out["total_s"], 1)
    out["planned"], out["empty"], out["rendered"] = report.planned, report.empty, rendered
    out["papers_per_digest"] = round(SentPaper.objects.count() / max(rendered, 1), 1)
    out["kb_per_message"] = round(size / max(rendered, 1) / 1024, 1)
    out["states"] = dict(Delivery.objects.values_list("state").annotate(n=Count("id")))
    out["peak_rss_mb"] = round(rss_mb())

    print(json.dumps(out, indent=2))
    print(
        f"\n{rendered:,} digests planned and rendered in {out['total_s']} s "
        f"(plan {out['plan_s']} s, render {out['render_s']} s); one at a time: "
        f"{out['baseline_ms_per_digest']} ms each, {out['baseline_s_for_all']} s for "
        f"{args.subscribers:,} ({out['speedup']}x)"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
