"""Search as one function the page, the CLI and (later) the API all call."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date

from django.utils.safestring import SafeString, mark_safe

from paperfeed.papers.models import Paper
from paperfeed.search.backends import get_backend
from paperfeed.search.backends.base import SORTS, Filters
from paperfeed.search.query import ParsedQuery, parse_query

MAX_LIMIT = 100


@dataclass
class SearchResult:
    query: ParsedQuery
    papers: list[Paper] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)
    total: int = 0
    total_capped: bool = False
    redirect_to: Paper | None = None  # an arXiv id or URL that names a stored paper


def search(
    text: str,
    *,
    categories: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    query = parse_query(text)
    result = SearchResult(query=query)
    if query.arxiv_id:
        result.redirect_to = Paper.objects.filter(arxiv_id=query.arxiv_id).first()
        if result.redirect_to is None:
            query.notices.append(
                f"{query.arxiv_id} is not here yet; it can be submitted or ingested by id."
            )
        return result
    filters = Filters(
        categories=list(dict.fromkeys((categories or []) + query.categories)),
        date_from=date_from,
        date_to=date_to,
    )
    page = get_backend().search(
        query,
        filters,
        sort=sort if sort in SORTS else "relevance",
        limit=max(1, min(limit, MAX_LIMIT)),
        offset=max(0, offset),
    )
    papers = Paper.objects.in_bulk([hit.paper_id for hit in page.hits])
    result.papers = [papers[hit.paper_id] for hit in page.hits if hit.paper_id in papers]
    result.scores = {hit.paper_id: hit.score for hit in page.hits}
    result.total, result.total_capped = page.total, page.total_capped
    return result


def highlight(text: str, query: ParsedQuery) -> SafeString:
    """The text, escaped, with the query's words (and their inflections) in <mark>."""
    escaped = html.escape(text or "")
    stems = {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in query.positive_words}
    stems = [s for s in stems if len(s) >= 2]
    if not stems:
        return mark_safe(escaped)  # noqa: S308 - escaped above
    pattern = re.compile(
        r"\b("
        + "|".join(re.escape(html.escape(s)) for s in sorted(stems, key=len, reverse=True))
        + r")\w*",
        re.IGNORECASE,
    )
    return mark_safe(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))  # noqa: S308
