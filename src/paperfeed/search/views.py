"""The search page."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from paperfeed.search import services
from paperfeed.search.backends.base import SORTS

PAGE_SIZE = 20


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def search_page(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 50))
    except ValueError:
        page = 1
    sort = request.GET.get("sort", "relevance")
    categories = [c for c in request.GET.getlist("cat") if c][:10]
    result = None
    if text.strip():
        result = services.search(
            text,
            categories=categories,
            date_from=_date(request.GET.get("from")),
            date_to=_date(request.GET.get("to")),
            sort=sort,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        if result.redirect_to is not None:
            return redirect(result.redirect_to)
    rows = []
    if result:
        rows = [
            {
                "paper": paper,
                "title": services.highlight(paper.title, result.query),
                "abstract": services.highlight(paper.abstract[:400], result.query),
            }
            for paper in result.papers
        ]
    return render(
        request,
        "search/search.html",
        {
            "q": text[:1000],
            "result": result,
            "rows": rows,
            "sort": sort if sort in SORTS else "relevance",
            "sorts": SORTS,
            "page": page,
            "has_next": bool(result) and result.total > page * PAGE_SIZE,
            "date_from": request.GET.get("from", ""),
            "date_to": request.GET.get("to", ""),
            "categories": categories,
        },
    )
