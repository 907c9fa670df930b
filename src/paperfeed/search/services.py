"""Search as one function the page, the CLI and (later) the API all call."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date

from django.utils.safestring import SafeString, mark_safe

from paperfeed.papers.models import Paper
from paperfeed.search import semantic
from paperfeed.search.backends import get_backend
from paperfeed.search.backends.base import SORTS, Filters, Hit
from paperfeed.search.query import ParsedQuery, parse_query

MAX_LIMIT = 100
CANDIDATES = 100  # from each ranker, for fusion
RRF_K = 30  # reciprocal-rank fusion constant (tuned on SciFact train, docs/benchmarks.md)
SEMANTIC_WEIGHT = 1.0


@dataclass
class SearchResult:
    query: ParsedQuery
    papers: list[Paper] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)
    total: int = 0
    total_capped: bool = False
    redirect_to: Paper | None = None  # an arXiv id or URL that names a stored paper
    mode: str = "lexical"  # what actually ran


def search(
    text: str,
    *,
    categories: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    mode: str = "hybrid",
) -> SearchResult:
    """Hybrid (lexical + semantic) relevance search when the model is available and the
    query is free text; lexical otherwise. `mode` = hybrid, lexical or semantic."""
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
    sort = sort if sort in SORTS else "relevance"
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    if mode != "lexical" and sort == "relevance" and _semantic_fits(query) and semantic.available():
        hits, total, capped = _hybrid(
            query, filters, limit, offset, semantic_only=mode == "semantic"
        )
        result.mode = mode
    else:
        page = get_backend().search(query, filters, sort=sort, limit=limit, offset=offset)
        hits, total, capped = page.hits, page.total, page.total_capped
        result.mode = "lexical"
    papers = Paper.objects.in_bulk([hit.paper_id for hit in hits])
    result.papers = [papers[hit.paper_id] for hit in hits if hit.paper_id in papers]
    result.scores = {hit.paper_id: hit.score for hit in hits}
    result.total, result.total_capped = total, capped
    return result


def _semantic_fits(query: ParsedQuery) -> bool:
    """Free text only: field terms, phrases and exclusions are lexical promises."""
    terms = [t for group in query.groups for t in group]
    return bool(terms) and not query.excluded and not any(t.field or t.phrase for t in terms)


def _hybrid(query: ParsedQuery, filters: Filters, limit: int, offset: int, *, semantic_only: bool):
    """Reciprocal-rank fusion of the lexical and the semantic top CANDIDATES."""
    # The semantic search runs on another thread while the lexical one runs here.
    pending = semantic.start_nearest(" ".join(query.positive_words), k=CANDIDATES)
    lexical = get_backend().search(query, filters, limit=CANDIDATES) if not semantic_only else None
    nearest = pending()
    allowed = _passing_filters([pk for pk, _ in nearest], filters)
    semantic_ranked = [pk for pk, _ in nearest if pk in allowed]
    lexical_ranked = [] if lexical is None else [hit.paper_id for hit in lexical.hits]
    scores: dict[int, float] = {}
    for ranked, weight in ((lexical_ranked, 1.0), (semantic_ranked, SEMANTIC_WEIGHT)):
        for rank, pk in enumerate(ranked):
            scores[pk] = scores.get(pk, 0.0) + weight / (RRF_K + rank + 1)
    fused = sorted(scores, key=lambda pk: -scores[pk])
    hits = [Hit(pk, scores[pk]) for pk in fused[offset : offset + limit]]
    if lexical is None:
        return hits, len(fused), False
    return hits, max(lexical.total, len(fused)), lexical.total_capped


def _passing_filters(ids: list[int], filters: Filters) -> set[int]:
    papers = Paper.objects.filter(pk__in=ids)
    if filters.categories:
        papers = papers.filter(category_rows__category__in=filters.categories)
    if filters.date_from:
        papers = papers.filter(published_at__date__gte=filters.date_from)
    if filters.date_to:
        papers = papers.filter(published_at__date__lte=filters.date_to)
    return set(papers.values_list("pk", flat=True))


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


def similar_papers(paper: Paper, k: int = 6) -> list[Paper]:
    """Nearest neighbours by embedding; by title words when semantic search is off."""
    if semantic.available():
        ranked = [pk for pk, _ in semantic.similar_to(paper, k)]
    else:
        query = parse_query(" ".join(paper.title.split()[:12]))
        page = get_backend().search(query, Filters(), limit=k + 1)
        ranked = [hit.paper_id for hit in page.hits if hit.paper_id != paper.pk][:k]
    papers = Paper.objects.in_bulk(ranked)
    return [papers[pk] for pk in ranked if pk in papers]
