"""The Hugging Face papers API, same paths, parameters and field names, so that its
client (`huggingface_hub.HfApi(endpoint=...)`) and scripts written for it work against
this site. Differences are listed in docs/api.md."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from paperfeed.api import limits, selectors
from paperfeed.api.access import READ, WRITE, Access
from paperfeed.api.common import OUT, ArxivIdPath, paper_or_404, set_links
from paperfeed.api.errors import ApiError
from paperfeed.api.schemas import (
    ArxivIdIn,
    DailyPaper,
    HfPaper,
    IndexOut,
    WhoAmI,
    errors,
)
from paperfeed.api.shapes import daily_items, hf_id, paper_objects, papers_in_order
from paperfeed.community import services
from paperfeed.community.services import Refused
from paperfeed.papers.models import Paper
from paperfeed.papers.records import RecordError, parse_arxiv_id
from paperfeed.search.services import search

router = Router(tags=["Hugging Face compatible"])

DATE = r"^\d{4}-\d{2}-\d{2}$"
WEEK = r"^\d{4}-W\d{2}$"
MONTH = r"^\d{4}-\d{2}$"


class DailyParams(Schema):
    date: str | None = Field(None, pattern=DATE, description="A day: 2024-12-04.")
    week: str | None = Field(None, pattern=WEEK, description="An ISO week: 2024-W49.")
    month: str | None = Field(None, pattern=MONTH, description="A month: 2024-12.")
    submitter: str | None = Field(
        None, min_length=1, max_length=150, description="Only papers this username submitted."
    )
    sort: Literal["publishedAt", "trending"] = Field(
        "publishedAt",
        description="publishedAt: most recently listed first. trending: a period's most "
        "upvoted first; with no period, the last week by trending score.",
    )
    p: int = Field(0, ge=0, le=10_000, description="Page, from 0.")
    limit: int = Field(50, ge=1, le=100)


def period(params: DailyParams) -> tuple[dt.date | None, dt.date | None]:
    """The days a date, week or month parameter covers (both None: no period)."""
    given = [name for name in ("date", "week", "month") if getattr(params, name)]
    if len(given) > 1:
        raise ApiError(400, f"Give one of date, week and month, not {' and '.join(given)}.")
    try:
        if params.date:
            day = dt.date.fromisoformat(params.date)
            return day, day
        if params.week:
            year, week = params.week.split("-W")
            start = dt.date.fromisocalendar(int(year), int(week), 1)
            return start, start + dt.timedelta(days=6)
        if params.month:
            year, month = params.month.split("-")
            start = dt.date(int(year), int(month), 1)
            following = (start + dt.timedelta(days=32)).replace(day=1)
            return start, following - dt.timedelta(days=1)
    except ValueError:
        value = getattr(params, given[0])
        raise ApiError(400, f"{given[0]}: {value} is not on the calendar.") from None
    return None, None


@router.get(
    "/daily_papers",
    response={200: list[DailyPaper], **errors(400, 429)},
    summary="Daily papers",
    operation_id="list_daily_papers",
    **OUT,
)
def daily_papers(request: HttpRequest, response: HttpResponse, params: Query[DailyParams]):
    """The papers on the daily lists of a date, a week or a month (or of every day, most
    recent first), as Hugging Face's `/api/daily_papers`. Pages follow the `Link`
    header's `next`."""
    start, end = period(params)
    query = selectors.DailyQuery(start, end, params.submitter, params.sort)
    rows = selectors.daily_listings(query, params.p * params.limit, params.limit)
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    papers = papers_in_order([row.paper_id for row in rows])
    set_links(
        request,
        response,
        prev={"p": params.p - 1} if params.p else None,
        next={"p": params.p + 1} if more else None,
    )
    return daily_items(papers, {row.paper_id: row for row in rows})


class SearchParams(Schema):
    q: str = Field("", max_length=250, description="Words, fields and phrases (docs/search.md).")
    limit: int = Field(50, ge=1, le=120)


@router.get(
    "/papers/search",
    response={200: list[DailyPaper], **errors(400, 429)},
    summary="Search papers",
    operation_id="search_papers",
    **OUT,
)
def search_papers(request: HttpRequest, params: Query[SearchParams]):
    """The site's search (hybrid keyword and semantic ranking) in Hugging Face's shape.
    An arXiv id or URL answers with that paper. /api/search has filters and scores."""
    if not params.q.strip():
        return []
    result = search(params.q, limit=params.limit)
    papers = [result.redirect_to] if result.redirect_to is not None else result.papers
    return daily_items(papers)


class PapersParams(Schema):
    cursor: str | None = Field(
        None, max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="From the Link header."
    )
    limit: int = Field(50, ge=1, le=100)


@router.get(
    "/papers",
    response={200: list[HfPaper], **errors(400, 429)},
    summary="All papers, newest first",
    operation_id="list_papers",
    **OUT,
)
def list_papers(request: HttpRequest, response: HttpResponse, params: Query[PapersParams]):
    """Every stored paper by date of first version, newest first; the `Link` header's
    `next` continues after the last one."""
    try:
        ids = selectors.papers_by_date(params.cursor, params.limit)
    except selectors.BadCursor:
        raise ApiError(400, "That cursor is not one this API gave out; start without it.") from None
    papers = papers_in_order(ids[: params.limit])
    if len(ids) > params.limit:
        set_links(request, response, next={"cursor": selectors.encode_cursor(papers[-1])})
    return paper_objects(papers)


def _arxiv_id(text: str) -> str:
    try:
        return parse_arxiv_id(text)[0]
    except RecordError:
        raise Refused(
            "That is not an arXiv id or link. Send an id such as 2412.01234 or a link such "
            "as https://arxiv.org/abs/2412.01234."
        ) from None


@router.post(
    "/papers/index",
    auth=WRITE,
    response={200: IndexOut, 201: IndexOut, **errors(400, 401, 403, 413, 429, 503)},
    summary="Bring a paper in from arXiv",
    operation_id="index_paper",
    **OUT,
)
def index_paper(request: HttpRequest, payload: ArxivIdIn):
    """Fetch a paper's metadata from arXiv by id and store it (201), or find it stored
    already (200). It is not put on a list: that is what `submit` does."""
    arxiv_id = _arxiv_id(payload.arxivId)
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    created = paper is None
    if created:
        limits.action_limit(request, limits.INDEXING)
        paper = services.fetch_paper(arxiv_id)
    body = {"paper": paper_objects([paper])[0], "created": created}
    return Status(201 if created else 200, body)


@router.post(
    "/papers/submit",
    auth=WRITE,
    response={201: DailyPaper, **errors(400, 401, 403, 413, 429, 503)},
    summary="Submit a paper to today's list",
    operation_id="submit_paper",
    **OUT,
)
def submit_paper(request: HttpRequest, payload: ArxivIdIn):
    """Put a paper on today's list as the token's owner, with the site's rules: arXiv must
    know it, at most PAPERFEED_SUBMIT_MAX_AGE_DAYS old, a daily cap per member, once a
    day. Fetched from arXiv when it is not stored yet."""
    limits.action_limit(request, limits.SUBMISSIONS)
    listing = services.submit_paper(request.user, payload.arxivId)
    paper = Paper.objects.get(pk=listing.paper_id)
    return Status(201, daily_items([paper], {paper.pk: listing})[0])


@router.get(
    "/whoami-v2",
    auth=READ,
    response={200: WhoAmI, **errors(401, 429)},
    summary="Who the token belongs to",
    operation_id="whoami",
    **OUT,
)
def whoami(request: HttpRequest):
    """The member a token (or session) acts for, and the token's scope: what
    `HfApi(endpoint=..., token=...).whoami()` reads."""
    access: Access = request.auth
    user = access.user
    auth = {"type": "session"}
    if access.token is not None:
        token = access.token
        auth = {
            "type": "access_token",
            "accessToken": {
                "displayName": token.name,
                "role": token.scope,
                "createdAt": token.created_at,
            },
        }
    return {
        "id": hf_id("user", str(user.pk)),
        "name": user.username,
        "fullname": user.shown_name,
        "auth": auth,
    }


@router.get(
    "/papers/{path:arxiv_id}",
    response={200: HfPaper, **errors(404, 429)},
    summary="A paper",
    operation_id="paper_info",
    **OUT,
)
def paper_info(request: HttpRequest, arxiv_id: str = ArxivIdPath):
    """One paper by arXiv id (a version or an arXiv URL also finds it)."""
    return paper_objects([paper_or_404(arxiv_id)])[0]
