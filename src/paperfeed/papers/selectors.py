"""Read-side queries for pages and, later, the API: plain functions over the models."""

from __future__ import annotations

from datetime import date

from django.db.models import Max, Min, Prefetch, QuerySet

from paperfeed.papers.models import CodeLink, IngestRun, Listing, Paper


def listings_on(day: date) -> QuerySet[Listing]:
    """The daily list: most upvoted first, then in listing order."""
    return (
        Listing.objects.filter(date=day)
        .select_related("paper")
        .prefetch_related(Prefetch("paper__code_links", queryset=CodeLink.objects.order_by("id")))
        .order_by("-paper__upvotes", "id")
    )


def latest_list_date() -> date | None:
    return Listing.objects.aggregate(latest=Max("date"))["latest"]


def neighbour_dates(day: date) -> tuple[date | None, date | None]:
    """The nearest earlier and later dates that have papers."""
    earlier = Listing.objects.filter(date__lt=day).aggregate(d=Max("date"))["d"]
    later = Listing.objects.filter(date__gt=day).aggregate(d=Min("date"))["d"]
    return earlier, later


def paper_by_id(arxiv_id: str) -> Paper | None:
    return (
        Paper.objects.filter(arxiv_id=arxiv_id)
        .prefetch_related("code_links", "authorships__author", "listings")
        .first()
    )


def last_fetch_problem() -> str | None:
    """What went wrong with the latest network ingest, if it failed."""
    run = IngestRun.objects.exclude(source__startswith="file:").first()
    if run and run.status == IngestRun.Status.FAILED:
        return run.message
    return None
