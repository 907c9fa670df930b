"""The interface every lexical search engine implements, and what they share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection

from paperfeed.search.query import ParsedQuery, Term

# Words too common to help ranking; dropped from the "any of the words" fallback only
# (phrases and required words keep them).
STOPWORDS = frozenset(
    """a an and are as at be by for from has have in is it its of on or that the this to was
    were will with we our their which these those can not no but into than then using via
    based""".split()  # noqa: SIM905 - a word list reads better as text
)
COUNT_CAP = 1_000
SORTS = ("relevance", "date", "votes")


@dataclass(slots=True)
class Hit:
    paper_id: int
    score: float


@dataclass(slots=True)
class Filters:
    categories: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None


@dataclass(slots=True)
class SearchPage:
    hits: list[Hit]
    total: int  # capped at COUNT_CAP: "1,000+"
    total_capped: bool


class SearchBackend:
    """Index papers and answer parsed queries with paper ids, best first."""

    name = "base"

    def index(self, paper_ids: Iterable[int], *, new: bool = False) -> None:
        """(Re)index these papers; `new` promises none of them is in the index yet."""
        raise NotImplementedError

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        raise NotImplementedError

    def search(
        self,
        query: ParsedQuery,
        filters: Filters,
        *,
        sort: str = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchPage:
        """All required terms first; if that finds fewer than wanted, papers matching any
        of the plain words follow (so a long question still finds papers)."""
        if query.is_empty:
            return SearchPage([], 0, False)
        strict = self._search(query, filters, sort, limit + offset, require_all=True)
        hits = strict.hits
        total, capped = strict.total, strict.total_capped
        loose_required, loose_optional = split_query(query, require_all=False)
        if len(hits) < limit + offset and len(query.groups) > 1 and loose_optional:
            # "Any of the words" over words most papers contain ranks most of the corpus
            # (100+ ms at 100k papers): the engine may keep only the rarer words.
            rare = self.loose_terms(loose_optional)
            left_out = [t for t in loose_optional if t not in rare]
            if rare and left_out:
                query = replace(
                    query,
                    groups=[[t] for t in rare]
                    + [g for g in query.groups if len(g) == 1 and (g[0].phrase or g[0].field)],
                )
            if rare and left_out and sort == "relevance":
                # Ranked by the rarer words alone: take more, so that the bonus of the
                # words left out can bring the right papers up.
                loose = self._search(query, filters, sort, 3 * (limit + offset), require_all=False)
                loose = self.add_bonus(loose, left_out)
            else:
                loose = self._search(query, filters, sort, limit + offset, require_all=False)
            seen = {h.paper_id for h in hits}
            hits = hits + [h for h in loose.hits if h.paper_id not in seen]
            total, capped = max(total, loose.total), loose.total_capped
        return SearchPage(hits[offset : offset + limit], total, capped)

    def search_strict(self, query: ParsedQuery, filters: Filters, *, limit: int) -> SearchPage:
        """Only papers that match every required term, best first (no "any of the words"
        fallback): what a saved-search alert promises."""
        if query.is_empty:
            return SearchPage([], 0, False)
        return self._search(query, filters, "relevance", limit, require_all=True)

    def _search(self, query, filters, sort, limit, *, require_all) -> SearchPage:
        """One pass; must return an empty page when there is nothing to match."""
        raise NotImplementedError

    def loose_terms(self, terms: list[Term]) -> list[Term]:
        """The terms of the "any of the words" pass worth ranking (default: all)."""
        return terms

    def add_bonus(self, page: SearchPage, words: list[Term]) -> SearchPage:
        """Re-rank a page for words left out of its matching (default: as it is)."""
        return page


def split_query(query: ParsedQuery, require_all: bool) -> tuple[list[list[Term]], list[Term]]:
    """(required groups, optional terms) for a strict or a loose pass.

    Stop words alone ("of", "for") are not required: they match most papers, cost the
    most to intersect and rank, and say little. Phrases and fielded terms keep them.
    """
    if require_all:
        meaningful = [g for g in query.groups if not _only_stopwords(g)]
        return meaningful or query.groups, []
    required, optional = [], []
    for group in query.groups:
        if len(group) == 1 and (group[0].phrase or group[0].field):
            required.append(group)
        else:
            optional += [t for t in group if t.phrase or t.field or t.words[0] not in STOPWORDS]
    return required, optional


def _only_stopwords(group: list[Term]) -> bool:
    return all(not t.phrase and not t.field and t.words[0] in STOPWORDS for t in group)


def filter_sql(filters: Filters, paper_alias: str = "p") -> tuple[str, list]:
    """WHERE fragments for category and date filters, shared by both engines."""
    clauses, params = [], []
    if filters.categories:
        marks = ", ".join(["%s"] * len(filters.categories))
        clauses.append(
            f"EXISTS (SELECT 1 FROM papers_papercategory c WHERE c.paper_id = {paper_alias}.id "
            f"AND c.category IN ({marks}))"
        )
        params += filters.categories
    if filters.date_from:
        clauses.append(f"{paper_alias}.published_at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(_start_of(filters.date_from)))
    if filters.date_to:
        clauses.append(f"{paper_alias}.published_at < %s")
        params.append(connection.ops.adapt_datetimefield_value(_day_after(filters.date_to)))
    return "".join(f" AND {c}" for c in clauses), params


def order_sql(sort: str, score: str, paper_alias: str = "p") -> str:
    if sort == "date":
        return f"{paper_alias}.published_at DESC, {paper_alias}.id DESC"
    if sort == "votes":
        return f"{paper_alias}.upvotes DESC, {score}"
    return score


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _day_after(day: date) -> datetime:
    return _start_of(day + timedelta(days=1))
