"""Pages for reading: the daily, weekly and monthly lists, trending, paper pages and
author pages. Views parse the request and render; queries live in `selectors`."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from paperfeed.community import selectors as community
from paperfeed.papers import markdown_page, selectors
from paperfeed.papers.records import RecordError, parse_arxiv_id
from paperfeed.search.services import similar_papers

CATEGORY = re.compile(r"[A-Za-z-]{2,16}(?:\.[A-Za-z-]{1,16})?")
WEEK = re.compile(r"(\d{4})-W(\d{1,2})")
MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_label(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def _category(request: HttpRequest) -> str | None:
    value = request.GET.get("cat", "").strip()
    return value if CATEGORY.fullmatch(value) else None


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


def _mark_votes(request: HttpRequest, entries: list) -> list:
    voted = community.voted_ids(request.user, [entry.paper.pk for entry in entries])
    for entry in entries:
        entry.voted = entry.paper.pk in voted
    return entries


def _render_list(request: HttpRequest, context: dict) -> HttpResponse:
    context.setdefault("category", _category(request))
    context["category_links"] = context["period"] != "trending"
    return render(request, "papers/list.html", context)


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
    category = _category(request)
    page = _page_number(request)
    size = settings.PAPERFEED_DAY_PAGE
    offset = (page - 1) * size
    # One row past the page tells whether there is a next page, without a COUNT query.
    rows = list(selectors.listings_on(shown, category)[offset : offset + size + 1])
    entries = [selectors.ListedPaper(row.paper, row) for row in rows[:size]]
    earlier, later = selectors.neighbour_dates(shown)
    return _render_list(
        request,
        {
            "period": "day",
            "day": shown,
            "heading": shown.strftime("%A %-d %B %Y"),
            "entries": _mark_votes(request, entries),
            "total": offset + len(rows) if len(rows) <= size else None,
            "page": page,
            "has_next": len(rows) > size,
            "earlier": earlier and reverse("papers:date", args=[earlier.isoformat()]),
            "earlier_label": earlier and earlier.strftime("%-d %b"),
            "later": later and reverse("papers:date", args=[later.isoformat()]),
            "later_label": later and later.strftime("%-d %b"),
            "nearest": (earlier, later),
            "categories": selectors.categories_between(shown, shown),
            "week": week_label(shown),
            "month": month_label(shown),
            "fetch_problem": None if rows or day else selectors.last_fetch_problem(),
        },
    )


def _range_page(
    request: HttpRequest, period: str, start: date, end: date, heading: str, label
) -> HttpResponse:
    category = _category(request)
    papers, total = selectors.papers_between(start, end, category)
    size = settings.PAPERFEED_LIST_PAGE
    page = _page_number(request)
    entries = selectors.page_of_papers(papers, (page - 1) * size, size)
    earlier, later = selectors.neighbour_dates(start, end)
    name = f"papers:{period}"
    return _render_list(
        request,
        {
            "period": period,
            "day": start,
            "heading": heading,
            "entries": _mark_votes(request, entries),
            "total": total,
            "page": page,
            "has_next": page * size < total,
            "earlier": earlier and reverse(name, args=[label(earlier)]),
            "earlier_label": earlier and label(earlier),
            "later": later and reverse(name, args=[label(later)]),
            "later_label": later and label(later),
            "nearest": (earlier, later),
            "categories": selectors.categories_between(start, end),
            "week": week_label(start),
            # A week belongs to the month of its Thursday (as ISO weeks belong to years).
            "month": month_label(start + timedelta(days=3) if period == "week" else start),
        },
    )


def weekly(request: HttpRequest, week: str) -> HttpResponse:
    match = WEEK.fullmatch(week)
    try:
        start = date.fromisocalendar(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        start = None
    if start is None:
        raise Http404("Weeks look like 2024-W49 (ISO weeks).")
    if week != week_label(start):
        return redirect("papers:week", week=week_label(start))
    end = start + timedelta(days=6)
    heading = f"Week {start.isocalendar()[1]}, {start:%-d %b} – {end:%-d %b %Y}"
    return _range_page(request, "week", start, end, heading, week_label)


def monthly(request: HttpRequest, month: str) -> HttpResponse:
    match = MONTH.fullmatch(month)
    try:
        start = date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        start = None
    if start is None:
        raise Http404("Months look like 2024-12.")
    if month != month_label(start):
        return redirect("papers:month", month=month_label(start))
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return _range_page(request, "month", start, end, start.strftime("%B %Y"), month_label)


def jump(request: HttpRequest) -> HttpResponse:
    """The date picker's target: ?d=2024-12-04, ?w=2024-W49 or ?m=2024-12."""
    category = _category(request)
    suffix = f"?cat={category}" if category else ""
    if value := request.GET.get("w", "").strip():
        target = reverse("papers:week", args=[value[:10]])
    elif value := request.GET.get("m", "").strip():
        target = reverse("papers:month", args=[value[:10]])
    else:
        try:
            day = date.fromisoformat(request.GET.get("d", "").strip())
        except ValueError:
            return redirect("papers:today")
        target = reverse("papers:date", args=[day.isoformat()])
    return redirect(target + suffix)


def trending(request: HttpRequest) -> HttpResponse:
    window = request.GET.get("age", "week")
    if window not in selectors.TRENDING_WINDOWS:
        window = "week"
    scored = selectors.trending_ids(window)
    size = settings.PAPERFEED_LIST_PAGE
    page = _page_number(request)
    chosen = scored[(page - 1) * size : page * size]
    scores = dict(chosen)
    entries = []
    for paper in selectors.papers_by_ids([pk for pk, _ in chosen]):
        entry = selectors.ListedPaper(paper, None)
        entry.score = scores[paper.pk]
        entries.append(entry)
    return _render_list(
        request,
        {
            "period": "trending",
            "heading": "Trending",
            "window": window,
            "windows": list(selectors.TRENDING_WINDOWS),
            "entries": _mark_votes(request, entries),
            "total": len(scored),
            "page": page,
            "has_next": page * size < len(scored),
            "category": None,
        },
    )


def _stored_paper(arxiv_id: str, route: str):
    """The stored paper a URL names, or a permanent redirect to the same route with the
    bare id (versioned or old forms); 404 for anything else."""
    try:
        canonical, _version = parse_arxiv_id(arxiv_id)
    except RecordError as exc:
        raise Http404("Not an arXiv id.") from exc
    if canonical != arxiv_id:
        return redirect(route, arxiv_id=canonical, permanent=True)
    paper = selectors.paper_by_id(canonical)
    if paper is None:
        raise Http404(f"No paper {canonical} here yet.")
    return paper


def paper_detail(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = _stored_paper(arxiv_id, "papers:detail")
    if isinstance(paper, HttpResponse):
        return paper
    authors = selectors.authors_of(paper)
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


def paper_markdown(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """The paper page as Markdown (the Hugging Face client's `read_paper`)."""
    paper = _stored_paper(arxiv_id, "papers:markdown")
    if isinstance(paper, HttpResponse):
        return paper
    text = markdown_page.paper_markdown(paper, request.build_absolute_uri(paper.get_absolute_url()))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"  # a public read, as the API's
    return response


def arxiv_redirect(request: HttpRequest, ref: str) -> HttpResponse:
    """/abs/2401.12345v2 or /pdf/2401.12345.pdf, as on arxiv.org, to the paper page."""
    try:
        canonical, _version = parse_arxiv_id(ref.removesuffix(".pdf"))
    except RecordError as exc:
        raise Http404("Not an arXiv id.") from exc
    return redirect("papers:detail", arxiv_id=canonical, permanent=True)


def author_page(request: HttpRequest, slug: str) -> HttpResponse:
    author = selectors.author_by_slug(slug)
    if author is None:
        raise Http404("No such author here.")
    paginator = Paginator(selectors.papers_by_author(author), settings.PAPERFEED_LIST_PAGE)
    try:
        page = paginator.page(_page_number(request))
    except EmptyPage as exc:
        raise Http404("No such page.") from exc
    entries = [selectors.ListedPaper(paper, None) for paper in page.object_list]
    return render(
        request,
        "papers/author.html",
        {
            "author": author,
            "page": page,
            "entries": _mark_votes(request, entries),
            "coauthors": selectors.coauthors(author),
            "verified_users": selectors.verified_users(author),
        },
    )


def about_ranking(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "papers/about_ranking.html",
        {
            "policy": settings.PAPERFEED_LISTING_POLICY,
            "categories": settings.PAPERFEED_CATEGORIES,
            "comment_weight": selectors.COMMENT_WEIGHT,
            "age_offset": selectors.AGE_OFFSET_HOURS,
            "gravity": selectors.GRAVITY,
        },
    )
