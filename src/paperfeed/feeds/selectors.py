"""What each feed holds, as plain functions over the models.

A feed is found in two steps. `Window`: the entries in order, from one narrow query
whose rows also change whenever what the feed shows changes, so they give the ETag and
Last-Modified without building anything. `load_papers`: the papers behind the entries,
one more query, run only when the feed is actually sent (not for a 304).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings

from paperfeed.community.models import CollectionItem, Vote
from paperfeed.feeds.models import FeedToken
from paperfeed.papers import selectors as papers
from paperfeed.papers.models import Author, Paper, PaperCategory
from paperfeed.search import services as search_services
from paperfeed.search.query import ParsedQuery

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# What an item shows: the card's columns plus the abstract and the dates.
FEED_FIELDS = (
    "id", "arxiv_id", "version", "title", "abstract", "author_names", "categories",
    "published_at", "updated_at", "created_at", "modified_at",
)  # fmt: skip


@dataclass(slots=True)
class Entry:
    """One item of a feed: a paper, and in private feeds when and why it is there."""

    paper_id: int
    when: datetime | None = None  # None: the paper's own dates
    reasons: list[str] = field(default_factory=list)
    paper: Paper | None = None


@dataclass(slots=True)
class Window:
    """A feed's entries in order, with the rows its validators come from."""

    entries: list[Entry]
    stamps: list[tuple]  # change whenever an entry, its order or its paper changes
    last_modified: datetime | None

    def version(self, *identity) -> str:
        """An ETag for this window as served under `identity` (format, URL, title...)."""
        return hashlib.sha256(repr((identity, self.stamps)).encode()).hexdigest()[:32]


EMPTY = Window([], [], None)


def _latest(values) -> datetime | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def _window(rows: list[tuple]) -> Window:
    """Rows (paper_id, *dates): one entry per paper, in row order; the dates are stamps."""
    return Window(
        [Entry(row[0]) for row in rows],
        rows,
        _latest(v for row in rows for v in row[1:] if isinstance(v, datetime)),
    )


def load_papers(entries: list[Entry]) -> list[Entry]:
    """Attach the papers (the columns FEED_FIELDS names) to the entries: one query."""
    missing = [entry.paper_id for entry in entries if entry.paper is None]
    if missing:
        found = Paper.objects.only(*FEED_FIELDS).in_bulk(missing)
        for entry in entries:
            if entry.paper is None:
                entry.paper = found.get(entry.paper_id)
    return [entry for entry in entries if entry.paper is not None]


# --- public feeds ------------------------------------------------------------------------


def daily(day: date | None, limit: int) -> Window:
    """The list of one day, as the page shows it: most upvoted first."""
    if day is None:
        return EMPTY
    rows = (
        papers.listed()
        .filter(date=day)
        .order_by("-paper__upvotes", "id")
        .values_list("paper_id", "created_at", "paper__modified_at")
    )
    return _window(list(rows[:limit]))


def trending(age: str, limit: int) -> Window:
    """The trending ranking of the page (papers.selectors.trending_ids), best first."""
    ranked = [pk for pk, _score in papers.trending_ids(age)[:limit]]
    if not ranked:
        return EMPTY
    modified = dict(Paper.objects.filter(pk__in=ranked).values_list("pk", "modified_at"))
    return _window([(pk, modified[pk]) for pk in ranked if pk in modified])


def category_exists(category: str) -> bool:
    return (
        category in settings.PAPERFEED_CATEGORIES
        or PaperCategory.objects.filter(category=category).exists()
    )


def category(category: str, limit: int) -> Window:
    """Papers listed in a category (among any of theirs), the latest list day first and
    the most upvoted first within a day; a paper listed on several days comes once."""
    rows = (
        papers.listed()
        .filter(paper__category_rows__category=category)
        .order_by("-date", "-paper__upvotes", "id")
        .values_list("paper_id", "created_at", "paper__modified_at")
    )
    # Twice the limit leaves room for papers listed on more than one day.
    kept: dict[int, tuple] = {}
    for row in rows[: 2 * limit]:
        kept.setdefault(row[0], row)
    return _window(list(kept.values())[:limit])


@dataclass(slots=True)
class SearchFeedQuery:
    """The search page's parameters: the query text and its filters."""

    text: str
    categories: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "date"


def search(query: SearchFeedQuery, limit: int) -> tuple[Window, ParsedQuery]:
    """The search page's results (search.services.search), or the one paper an arXiv id
    names. The search loads whole papers, so the entries need no second query."""
    result = search_services.search(
        query.text,
        categories=query.categories,
        date_from=query.date_from,
        date_to=query.date_to,
        sort=query.sort,
        limit=min(limit, search_services.MAX_LIMIT),
    )
    found = [result.redirect_to] if result.redirect_to is not None else result.papers
    window = Window(
        [Entry(paper.pk, paper=paper) for paper in found],
        [(paper.pk, paper.modified_at) for paper in found],
        _latest(paper.modified_at for paper in found),
    )
    return window, result.query


def author(author: Author, limit: int) -> Window:
    """The author page's papers: newest first."""
    rows = papers.papers_by_author(author).values_list("pk", "modified_at")
    return _window(list(rows[:limit]))


# --- the private feed ----------------------------------------------------------------------


def owner_of_token(token: str):
    """The active member whose private feed this token opens, or None."""
    row = FeedToken.objects.filter(token=token, user__is_active=True).select_related("user").first()
    return row.user if row else None


def token_of(user) -> str | None:
    return FeedToken.objects.filter(user=user).values_list("token", flat=True).first()


def for_you(user, limit: int) -> list[Entry]:
    """The slot for personal recommendations: entries with a time (`when`) and a one-line
    reason each. Empty until the recommendations issue fills it; the private feed
    already merges it in and versions it."""
    return []


def private(user, limit: int) -> Window:
    """What the member upvoted and put in collections (private ones too: the feed is
    theirs), most recently done first, each with why it is there."""
    votes = list(
        Vote.objects.filter(user=user)
        .order_by("-created_at", "-id")
        .values_list("paper_id", "created_at", "paper__modified_at")[:limit]
    )
    kept = list(
        CollectionItem.objects.filter(collection__owner=user)
        .order_by("-added_at", "-id")
        .values_list(
            "paper_id", "added_at", "paper__modified_at", "collection__updated_at",
            "collection__name",
        )[:limit]
    )  # fmt: skip
    entries: dict[int, Entry] = {}

    def add(paper_id: int, when: datetime, reason: str) -> None:
        entry = entries.setdefault(paper_id, Entry(paper_id, when))
        entry.when = max(entry.when, when)
        if reason not in entry.reasons:
            entry.reasons.append(reason)

    for paper_id, voted_at, _ in votes:
        add(paper_id, voted_at, "You upvoted it")
    for paper_id, added_at, _, _, name in kept:
        add(paper_id, added_at, f"In your collection “{name}”")
    picks = for_you(user, limit)
    for entry in picks:
        for reason in entry.reasons:
            add(entry.paper_id, entry.when, reason)
    ordered = sorted(entries.values(), key=lambda e: (e.when, e.paper_id), reverse=True)
    stamps = votes + kept + [(e.paper_id, e.when, *e.reasons) for e in picks]
    return Window(
        ordered[:limit],
        stamps,
        _latest(v for row in stamps for v in row[1:] if isinstance(v, datetime)),
    )
