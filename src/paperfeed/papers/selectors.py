"""Read-side queries for pages and the API: plain functions over the models.

Every list is built in a bounded number of queries whatever its length: one for the
page of papers (or listings), one for their code links, and small aggregates for the
navigation around it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from paperfeed.papers.models import Author, CodeLink, IngestRun, Listing, Paper, PaperCategory


def listed() -> QuerySet[Listing]:
    """The listings the site shows, under the configured listing policy."""
    rows = Listing.objects.all()
    if settings.PAPERFEED_LISTING_POLICY == "submitted":
        rows = rows.exclude(source=Listing.Source.ANNOUNCEMENT)
    return rows


def _shown_listing(**lookups) -> Q | None:
    """The same policy as `listed()`, as a condition on a paper's `listings` relation."""
    condition = Q(**{f"listings__{key}": value for key, value in lookups.items()})
    if settings.PAPERFEED_LISTING_POLICY == "submitted":
        condition &= ~Q(listings__source=Listing.Source.ANNOUNCEMENT)
    return condition or None


# What a card shows: lists load only these columns of each paper (no abstract, no
# version history), which halves the time to build a 200-paper day.
CARD_FIELDS = (
    "id", "arxiv_id", "title", "author_names", "primary_category", "upvotes", "num_comments",
    "stars",
)  # fmt: skip


def card_papers() -> QuerySet[Paper]:
    return Paper.objects.only(*CARD_FIELDS)


def attach_code_links(papers: list[Paper]) -> None:
    """Set `paper.card_links` (code and project links, in order) for many papers with
    one query, without building a related manager per paper as prefetching does."""
    links: dict[int, list[CodeLink]] = {paper.pk: [] for paper in papers}
    rows = CodeLink.objects.filter(paper_id__in=list(links)).only(
        "paper_id", "kind", "url", "stars"
    )
    for link in rows.order_by("id"):
        links[link.paper_id].append(link)
    for paper in papers:
        paper.card_links = links[paper.pk]


def listings_on(day: date, category: str | None = None) -> QuerySet[Listing]:
    """The daily list: most upvoted first, then in listing order."""
    rows = listed().filter(date=day)
    if category:
        rows = rows.filter(paper__category_rows__category=category)
    return (
        rows.select_related("paper", "submitter")
        .only(
            "id",
            "paper_id",
            "submitter_name",
            "submitter__username",
            *(f"paper__{name}" for name in CARD_FIELDS),
        )  # fmt: skip
        .order_by("-paper__upvotes", "id")
    )


@dataclass
class ListedPaper:
    """A paper on a multi-day list, with the listing that brought it first."""

    paper: Paper
    listing: Listing


def papers_between(start: date, end: date, category: str | None = None) -> tuple[QuerySet, int]:
    """Papers listed on any day in [start, end], once each, most upvoted first (ties: the
    order they were first listed), as rows {paper_id, first_listing}; and how many.

    Ranked on the listing table alone (grouped by paper), so the wide paper rows are
    only read for the page that is shown.
    """
    rows = listed().filter(date__range=(start, end))
    if category:
        rows = rows.filter(paper__category_rows__category=category)
    ranked = (
        rows.values("paper_id")
        .annotate(first_listing=Min("id"), votes=Max("paper__upvotes"))
        .order_by("-votes", "first_listing")
    )
    return ranked, rows.values("paper_id").distinct().count()


def page_of_papers(ranked: QuerySet, offset: int, limit: int) -> list[ListedPaper]:
    """One page of `papers_between`: papers with their code links and first listing."""
    page = list(ranked[offset : offset + limit])
    papers = papers_by_ids([row["paper_id"] for row in page])
    listings = Listing.objects.select_related("submitter").in_bulk(
        [row["first_listing"] for row in page]
    )
    by_id = {paper.pk: paper for paper in papers}
    return [
        ListedPaper(by_id[row["paper_id"]], listings.get(row["first_listing"]))
        for row in page
        if row["paper_id"] in by_id
    ]


def categories_between(start: date, end: date, limit: int = 24) -> list[tuple[str, int]]:
    """The most common categories on a list, with paper counts (for the filter chips)."""
    paper_ids = listed().filter(date__range=(start, end)).values("paper_id")
    rows = (
        PaperCategory.objects.filter(paper_id__in=paper_ids)
        .values("category")
        .annotate(n=Count("paper_id"))
        .order_by("-n", "category")[:limit]
    )
    return [(row["category"], row["n"]) for row in rows]


def latest_list_date() -> date | None:
    return listed().aggregate(latest=Max("date"))["latest"]


def neighbour_dates(start: date, end: date | None = None) -> tuple[date | None, date | None]:
    """The nearest earlier and later dates that have papers, outside [start, end]."""
    end = end or start
    earlier = listed().filter(date__lt=start).aggregate(d=Max("date"))["d"]
    later = listed().filter(date__gt=end).aggregate(d=Min("date"))["d"]
    return earlier, later


def paper_by_id(arxiv_id: str) -> Paper | None:
    return (
        Paper.objects.filter(arxiv_id=arxiv_id)
        .prefetch_related(
            Prefetch("code_links", queryset=CodeLink.objects.order_by("id")),
            Prefetch("listings", queryset=listed().order_by("date")),
        )
        .first()
    )


def authors_of(paper: Paper) -> list[Author]:
    """The paper's authors in order: one join (a prefetch of thousands of ids would
    exceed SQLite's expression depth on large collaborations)."""
    return list(Author.objects.filter(authorships__paper=paper).order_by("authorships__position"))


def last_fetch_problem() -> str | None:
    """What went wrong with the latest network ingest, if it failed."""
    run = IngestRun.objects.exclude(source__startswith="file:").first()
    if run and run.status == IngestRun.Status.FAILED:
        return run.message
    return None


# --- trending ---------------------------------------------------------------------------

# The score, documented in docs/ranking.md and on /about/ranking:
#   points = upvotes + COMMENT_WEIGHT * comments + log2(1 + stars)
#   score  = points / (age_hours + AGE_OFFSET_HOURS) ** GRAVITY
COMMENT_WEIGHT = 0.5
AGE_OFFSET_HOURS = 2.0
GRAVITY = 1.5
TRENDING_WINDOWS = {"week": 7, "month": 30, "all": None}
# Only this many of the most upvoted candidates are scored (a paper outside them cannot
# have a higher score unless it is much newer, and new papers are few).
TRENDING_CANDIDATES = 5000


def trending_score(upvotes: int, comments: int, stars: int | None, age_hours: float) -> float:
    points = upvotes + COMMENT_WEIGHT * comments + math.log2(1 + (stars or 0))
    return points / (max(age_hours, 0.0) + AGE_OFFSET_HOURS) ** GRAVITY


def _listed_at(day: date) -> datetime:
    """Papers count as listed at the start of their list day, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


_trending_cache: dict[tuple, tuple[float, list[tuple[int, float]]]] = {}


def trending_ids(window: str = "week") -> list[tuple[int, float]]:
    """Paper ids with their trending score, best first, for a window of list days.

    Each web process keeps the ranking for PAPERFEED_TRENDING_CACHE_SECONDS: trending
    moves over hours, and scoring thousands of candidates on every request would not.
    """
    ttl = settings.PAPERFEED_TRENDING_CACHE_SECONDS
    key = (window, settings.PAPERFEED_LISTING_POLICY)
    cached = _trending_cache.get(key)
    if ttl > 0 and cached and cached[0] > time.monotonic():
        return cached[1]
    ranking = _score_trending(window, timezone.now())
    if ttl > 0:
        _trending_cache[key] = (time.monotonic() + ttl, ranking)
    return ranking


def _score_trending(window: str, now: datetime) -> list[tuple[int, float]]:
    days = TRENDING_WINDOWS[window]
    rows = listed()
    if days is not None:
        rows = rows.filter(date__gte=timezone.localdate(now) - timedelta(days=days - 1))
    candidates = (
        Paper.objects.filter(pk__in=rows.values("paper_id"))
        .annotate(first_listed=Min("listings__date", filter=_shown_listing()))
        .order_by("-upvotes", "-num_comments", "-pk")
        .values_list("pk", "upvotes", "num_comments", "stars", "first_listed")[:TRENDING_CANDIDATES]
    )
    scored = []
    for pk, upvotes, comments, stars, first_listed in candidates:
        age = (now - _listed_at(first_listed)).total_seconds() / 3600
        scored.append((pk, trending_score(upvotes, comments, stars, age), first_listed))
    # Ties (papers nobody has touched yet) go newest first.
    scored.sort(key=lambda row: (row[1], row[2], row[0]), reverse=True)
    return [(pk, score) for pk, score, _ in scored]


def papers_by_ids(ids: list[int]) -> list[Paper]:
    """Papers in the given order (the columns cards need): one query."""
    found = card_papers().filter(pk__in=ids).in_bulk()
    return [found[pk] for pk in ids if pk in found]


# --- authors ----------------------------------------------------------------------------


def author_by_slug(slug: str) -> Author | None:
    return Author.objects.filter(slug=slug).first()


def papers_by_author(author: Author) -> QuerySet[Paper]:
    return (
        card_papers().filter(authorships__author=author).order_by("-published_at", "-pk").distinct()
    )


def coauthors(author: Author, limit: int = 12) -> list[tuple[Author, int]]:
    """The people this author most often writes with."""
    rows = (
        Author.objects.filter(authorships__paper__authorships__author=author)
        .exclude(pk=author.pk)
        .annotate(n=Count("authorships__paper", distinct=True))
        .order_by("-n", "name")[:limit]
    )
    return [(row, row.n) for row in rows]


def verified_users(author: Author) -> list:
    """Members whose claim to be this author a moderator approved."""
    from paperfeed.community.models import AuthorClaim

    claims = AuthorClaim.objects.filter(author=author, status=AuthorClaim.Status.APPROVED)
    users = {claim.user_id: claim.user for claim in claims.select_related("user")}
    return list(users.values())
