"""Pages for reading what was ingested: the daily list and the paper page."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from paperfeed.community import selectors as community
from paperfeed.papers import selectors
from paperfeed.papers.records import RecordError, parse_arxiv_id
from paperfeed.search.services import similar_papers


def daily(request: HttpRequest, day: str | None = None) -> HttpResponse:
    if day is None:
        # "Today" is the latest day that has papers, so the front page is never empty
        # between arXiv's announcement days.
        shown = selectors.latest_list_date() or timezone.localdate()
    else:
        try:
            shown = date.fromisoformat(day)
        except ValueError as exc:
            raise Http404("Dates look like 2024-12-04.") from exc
    listings = list(selectors.listings_on(shown))
    voted = community.voted_ids(request.user, [listing.paper_id for listing in listings])
    for listing in listings:
        listing.voted = listing.paper_id in voted
    earlier, later = selectors.neighbour_dates(shown)
    return render(
        request,
        "papers/daily.html",
        {
            "day": shown,
            "listings": listings,
            "earlier": earlier,
            "later": later,
            "fetch_problem": selectors.last_fetch_problem() if not listings else None,
        },
    )


def paper_detail(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    try:
        canonical, version = parse_arxiv_id(arxiv_id)
    except RecordError as exc:
        raise Http404("Not an arXiv id.") from exc
    if canonical != arxiv_id:
        return redirect("papers:detail", arxiv_id=canonical, permanent=True)
    paper = selectors.paper_by_id(canonical)
    if paper is None:
        raise Http404(f"No paper {canonical} here yet.")
    authors = [a.author for a in paper.authorships.all()]
    return render(
        request,
        "papers/detail.html",
        {
            **community.paper_page(request.user, paper),
            "paper": paper,
            "authors": authors,
            "listings": paper.listings.all(),
            "similar": similar_papers(paper),
        },
    )


def weekly(request: HttpRequest, week: str) -> HttpResponse:
    raise Http404("not built yet")


def monthly(request: HttpRequest, month: str) -> HttpResponse:
    raise Http404("not built yet")


def trending(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")


def author_page(request: HttpRequest, slug: str) -> HttpResponse:
    raise Http404("not built yet")


def arxiv_redirect(request: HttpRequest, ref: str) -> HttpResponse:
    raise Http404("not built yet")
