"""Our own read endpoints: trending with filters, search with the whole query language
and its filters, author pages and instance counts; the same functions the site's pages
call, so the API ranks and finds exactly what they show."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema

from paperfeed.api import selectors
from paperfeed.api.common import OUT, set_links
from paperfeed.api.schemas import AuthorOut, ScoredPaper, SearchOut, StatsOut, errors
from paperfeed.api.shapes import author_url, paper_objects, papers_in_order, user_object
from paperfeed.papers import selectors as papers
from paperfeed.papers.stats import instance_stats
from paperfeed.search import services as search_services

router = Router(tags=["Lists, search and authors"])

CATEGORY = r"^[A-Za-z-]{2,16}(\.[A-Za-z-]{1,16})?$"


class Page(Schema):
    p: int = Field(0, ge=0, le=10_000, description="Page, from 0.")
    limit: int = Field(50, ge=1, le=100)


def _paging(request: HttpRequest, response: HttpResponse, page: Page, more: bool) -> None:
    set_links(
        request,
        response,
        prev={"p": page.p - 1} if page.p else None,
        next={"p": page.p + 1} if more else None,
    )


def _scored(ranked: list[tuple[int, float]]) -> list[dict]:
    scores = dict(ranked)
    papers_shown = papers_in_order([pk for pk, _ in ranked])
    objects = paper_objects(papers_shown)
    for paper, obj in zip(papers_shown, objects, strict=True):
        obj["score"] = scores[paper.pk]
    return objects


class TrendingParams(Page):
    window: Literal["week", "month", "all"] = Field(
        "week", description="Papers listed in the last 7 or 30 days, or ever."
    )
    category: str | None = Field(None, pattern=CATEGORY, description="Only this category.")


@router.get(
    "/trending",
    response={200: list[ScoredPaper], **errors(400, 429)},
    summary="Trending papers",
    operation_id="trending",
    **OUT,
)
def trending(request: HttpRequest, response: HttpResponse, params: Query[TrendingParams]):
    """The site's trending ranking (/papers/trending; the score is explained on
    /about/ranking), best first, with its score."""
    ranked = selectors.trending(params.window, params.category)
    offset = params.p * params.limit
    _paging(request, response, params, len(ranked) > offset + params.limit)
    return _scored(ranked[offset : offset + params.limit])


class SearchParams(Schema):
    q: str = Field(min_length=1, max_length=250, description="The search box's language.")
    category: list[Annotated[str, Field(pattern=CATEGORY)]] = Field(
        default_factory=list, max_length=10, description="Any of these categories."
    )
    date_from: dt.date | None = Field(None, alias="from", description="First version on or after.")
    date_to: dt.date | None = Field(None, alias="to", description="First version on or before.")
    sort: Literal["relevance", "date", "votes"] = "relevance"
    mode: Literal["hybrid", "lexical", "semantic"] = Field(
        "hybrid", description="Semantic parts need the embedding model; lexical otherwise."
    )
    p: int = Field(0, ge=0, le=50)
    limit: int = Field(20, ge=1, le=100)


@router.get(
    "/search",
    response={200: SearchOut, **errors(400, 429)},
    summary="Search with filters",
    operation_id="search",
    **OUT,
)
def search(request: HttpRequest, response: HttpResponse, params: Query[SearchParams]):
    """The site's search: `ti:`, `au:`, `abs:`, `cat:`, "phrases", `-word`, `OR`; an
    arXiv id or URL comes back as `match`. Relevance is hybrid (keyword and semantic,
    fused) when the model is available."""
    result = search_services.search(
        params.q,
        categories=params.category,
        date_from=params.date_from,
        date_to=params.date_to,
        sort=params.sort,
        limit=params.limit,
        offset=params.p * params.limit,
        mode=params.mode,
    )
    match = paper_objects([result.redirect_to])[0] if result.redirect_to else None
    ranked = [(paper.pk, result.scores.get(paper.pk, 0.0)) for paper in result.papers]
    _paging(request, response, params, result.total > (params.p + 1) * params.limit)
    return {
        "query": result.query.text,
        "mode": result.mode,
        "total": result.total,
        "totalCapped": result.total_capped,
        "notices": result.query.notices,
        "match": match,
        "papers": _scored(ranked),
    }


@router.get(
    "/authors/{slug}",
    response={200: AuthorOut, **errors(400, 404, 429)},
    summary="An author",
    operation_id="author",
    **OUT,
)
def author(
    request: HttpRequest,
    response: HttpResponse,
    params: Query[Page],
    slug: str = Path(..., max_length=255),
):
    """An author page: papers (newest first, paged), frequent co-authors, and members
    verified as this author."""
    found = papers.author_by_slug(slug)
    if found is None:
        raise Http404(f"No author {slug!r} here.")
    written = papers.papers_by_author(found)
    offset = params.p * params.limit
    ids = list(written.values_list("pk", flat=True)[offset : offset + params.limit + 1])
    _paging(request, response, params, len(ids) > params.limit)
    return {
        "slug": found.slug,
        "name": found.name,
        "url": author_url(found.slug, request),
        "numPapers": written.count(),
        "verifiedUsers": [user_object(user) for user in papers.verified_users(found)],
        "coauthors": [
            {"slug": other.slug, "name": other.name, "numPapers": n}
            for other, n in papers.coauthors(found)
        ],
        "papers": paper_objects(papers_in_order(ids[: params.limit])),
    }


@router.get(
    "/stats",
    response={200: StatsOut, **errors(429)},
    summary="Instance counts",
    operation_id="stats",
)
def stats(request: HttpRequest):
    """What this instance holds: papers, authors, listings, code links, categories (as
    `paperfeed stats`)."""
    return instance_stats()
