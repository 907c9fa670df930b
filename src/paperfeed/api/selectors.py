"""The API's list queries, on top of `papers.selectors` (the listing policy, trending)
so that the API lists what the site lists."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from paperfeed.papers import selectors
from paperfeed.papers.models import Listing, Paper, PaperCategory
from paperfeed.papers.selectors import listed


@dataclass
class DailyQuery:
    start: date | None = None  # None: every day, newest first
    end: date | None = None
    submitter: str | None = None
    sort: str = "publishedAt"  # or trending


def _by_submitter(rows: QuerySet[Listing], name: str) -> QuerySet[Listing]:
    """A member's submissions, or those an import credits to that name (Hugging Face)."""
    return rows.filter(Q(submitter__username=name) | Q(submitter__isnull=True, submitter_name=name))


def _first_of_each_paper(rows: QuerySet[Listing]) -> QuerySet[Listing]:
    """One listing per paper among `rows`: its first (the lowest id, as on the site)."""
    earlier = rows.filter(paper_id=OuterRef("paper_id"), pk__lt=OuterRef("pk"))
    return rows.exclude(Exists(earlier))


def daily_listings(query: DailyQuery, offset: int, limit: int) -> list[Listing]:
    """A page of the daily list as listings (one per paper), and one more if there is a
    next page.

    `publishedAt` puts the most recently listed first; `trending` ranks a date, week or
    month as the site's list does (most upvoted first) and, with no period, by the
    trending score of the last week.
    """
    if query.sort == "trending" and query.start is None:
        return _trending_listings(query.submitter, offset, limit)
    rows = listed()
    if query.start is not None:
        rows = rows.filter(date__range=(query.start, query.end))
    if query.submitter:
        rows = _by_submitter(rows, query.submitter)
    rows = _first_of_each_paper(rows).select_related("submitter")
    if query.sort == "trending":
        rows = rows.order_by("-paper__upvotes", "id")
    else:
        rows = rows.order_by("-date", "-id")
    return list(rows[offset : offset + limit + 1])


TRENDING_WINDOW = "week"


def _trending_listings(submitter: str | None, offset: int, limit: int) -> list[Listing]:
    ranked = [pk for pk, _score in selectors.trending_ids(TRENDING_WINDOW)]
    since = timezone.localdate() - timedelta(days=selectors.TRENDING_WINDOWS[TRENDING_WINDOW] - 1)
    window = listed().filter(date__gte=since)
    if submitter:
        theirs = set(_by_submitter(window, submitter).values_list("paper_id", flat=True))
        ranked = [pk for pk in ranked if pk in theirs]
        window = _by_submitter(window, submitter)
    page = ranked[offset : offset + limit + 1]
    rows = _first_of_each_paper(window.filter(paper_id__in=page)).select_related("submitter")
    by_paper = {row.paper_id: row for row in rows}
    return [by_paper[pk] for pk in page if pk in by_paper]


def trending(window: str, category: str | None) -> list[tuple[int, float]]:
    """The site's trending ranking (paper id, score), to a category if one is given."""
    scored = selectors.trending_ids(window)
    if not category:
        return scored
    ids = [pk for pk, _ in scored]
    inside = set(
        PaperCategory.objects.filter(paper_id__in=ids, category=category).values_list(
            "paper_id", flat=True
        )
    )
    return [(pk, score) for pk, score in scored if pk in inside]


# --- all papers, newest first, by cursor --------------------------------------------------


class BadCursor(ValueError):
    pass


def encode_cursor(paper: Paper) -> str:
    stamp = paper.published_at.isoformat() if paper.published_at else None
    raw = json.dumps([stamp, paper.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pk = json.loads(raw)
        moment = datetime.fromisoformat(stamp) if stamp is not None else None
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc
    if not isinstance(pk, int) or (moment is not None and moment.tzinfo is None):
        raise BadCursor(cursor)
    return moment, pk


def papers_by_date(cursor: str | None, limit: int) -> list[int]:
    """Ids of papers by first-version date, newest first (undated ones last), from after the
    cursor; one more than `limit` if there are more. Raises BadCursor."""
    papers = Paper.objects.order_by(F("published_at").desc(nulls_last=True), "-pk")
    if cursor:
        moment, pk = _decode_cursor(cursor)
        if moment is None:
            papers = papers.filter(published_at__isnull=True, pk__lt=pk)
        else:
            papers = papers.filter(
                Q(published_at__lt=moment)
                | Q(published_at=moment, pk__lt=pk)
                | Q(published_at__isnull=True)
            )
    return list(papers.values_list("pk", flat=True)[: limit + 1])
