"""Small pieces every endpoint module uses: finding a paper by any form of its id, and
paging links."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Path

from paperfeed.api.shapes import PAPER_FIELDS
from paperfeed.papers.models import Paper
from paperfeed.papers.records import RecordError, parse_arxiv_id

# How answers are written: fields by their JSON names (`_id`), and unknown ones left out.
OUT = {"by_alias": True, "exclude_none": True}
# An arXiv id in a URL path: 2412.00321, 2412.00321v2 or hep-th/9901001 (slash and all).
ArxivIdPath = Path(..., max_length=100, description="arXiv id, with or without version.")


def paper_or_404(text: str, *, fields: tuple[str, ...] = PAPER_FIELDS) -> Paper:
    """The stored paper an arXiv id (with or without version) or URL names."""
    try:
        arxiv_id, _version = parse_arxiv_id(text)
    except RecordError:
        raise Http404(f"{text[:100]!r} is not an arXiv id (such as 2412.00321).") from None
    paper = Paper.objects.only(*fields).filter(arxiv_id=arxiv_id).first()
    if paper is None:
        raise Http404(f"No paper {arxiv_id} here. POST /api/papers/index brings one in.")
    return paper


def set_links(request: HttpRequest, response: HttpResponse, **pages: dict | None) -> None:
    """A Link header (as GitHub and Hugging Face send) with a URL per relation, each the
    request's own with some query parameters changed: set_links(..., next={"p": 2})."""
    parts = []
    for rel, changes in pages.items():
        if changes is None:
            continue
        query = request.GET.copy()
        for name, value in changes.items():
            query[name] = str(value)
        url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        parts.append(f'<{url}>; rel="{rel}"')
    if parts:
        response["Link"] = ", ".join(parts)
