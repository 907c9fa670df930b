"""The interface every lexical search engine implements, and what they share."""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
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
# Document counts of words, per process: {(engine, term): (count, counted up to, when)}.
# Counts drift slowly; one is read again after DF_TTL seconds, or after this process
# writes to the index.
DF_TTL = 600.0
DF_CACHE_SIZE = 20_000
_df_cache: dict[tuple[str, str], tuple[int, int, float]] = {}


@dataclass(frozen=True, slots=True)
class Bounds:
    """Work bounds for large instances (docs/search.md, "Large instances"); none binds
    below `common` papers (50,000 on SQLite, 10,000 on PostgreSQL by default):
    - a required word in more than `common` papers beside rarer words does not take part
      in matching: the papers the rarer words find get its weight as a bonus when they
      contain it (Elasticsearch's "common terms" idea);
    - the "any of the words" pass keeps the rarest words whose papers add up to `loose`
      (always the rarest one); the others count as a bonus, as above;
    - a pass left with only words over those bounds ranks at most `rank_limit` of its
      matches, the most recently added ones."""

    common: int
    loose: int
    rank_limit: int


# "auto" postings bounds per engine: PostgreSQL's ts_rank costs more per ranked paper
# than FTS5's BM25 (at 100k papers, lexical p95 111 ms with 50,000, 31 ms with 10,000).
AUTO_POSTINGS = {"sqlite": 50_000, "postgresql": 10_000}


def bounds() -> Bounds:
    def postings(value) -> int:
        return AUTO_POSTINGS.get(connection.vendor, 50_000) if value == "auto" else int(value)

    return Bounds(
        postings(settings.PAPERFEED_SEARCH_COMMON_POSTINGS),
        postings(settings.PAPERFEED_SEARCH_LOOSE_POSTINGS),
        int(settings.PAPERFEED_SEARCH_RANK_LIMIT),
    )


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
        """One pass (all required terms, or any of the words), within the bounds."""
        if sort != "relevance":
            return self._pass(query, filters, sort, limit, require_all=require_all)
        if not require_all:
            return self._pass(query, filters, sort, limit, require_all=False,
                              cut=self.loose_pass_over_bounds(query))  # fmt: skip
        common, over = self.common_words(query)
        if common:
            # Match and rank with the rarer words, then the common ones as a bonus.
            groups = [g for g in query.groups if not (len(g) == 1 and g[0] in common)]
            page = self._pass(replace(query, groups=groups), filters, "relevance", limit,
                              require_all=True, cut=over)  # fmt: skip
            return self.add_bonus(page, common)
        return self._pass(query, filters, sort, limit, require_all=True, cut=over)

    def _pass(self, query, filters, sort, limit, *, require_all, cut=False) -> SearchPage:
        """One query to the engine; must return an empty page when there is nothing to
        match. With `cut`, rank only the newest `rank_limit` matches."""
        raise NotImplementedError

    def count_matches(self, term: Term, cap: int) -> int:
        """How many papers contain the term, counted up to `cap`."""
        raise NotImplementedError

    def postings(self, term: Term, cap: int) -> int:
        """How many papers contain the term, counted up to `cap` (cached a while)."""
        key = (self.name, repr((term.words, term.field, term.phrase)))
        cached = _df_cache.get(key)
        now = clock.monotonic()
        if cached is not None and now - cached[2] < DF_TTL:
            count, counted_to, _ = cached
            if count < counted_to or cap <= counted_to:  # exact, or capped high enough
                return min(count, cap)
        count = self.count_matches(term, cap)
        if len(_df_cache) >= DF_CACHE_SIZE:
            _df_cache.clear()
        _df_cache[key] = (count, cap, now)
        return count

    @staticmethod
    def forget_counts() -> None:
        """After this process writes to the index: counts are read again."""
        _df_cache.clear()

    def loose_terms(self, terms: list[Term]) -> list[Term]:
        """The terms of the "any of the words" pass worth ranking: the rarest plain words
        whose postings fit the `loose` bound (at least one), and every phrase or fielded
        term. Ranking "any of" common words reads most of the index."""
        plain = [t for t in terms if not t.phrase and not t.field]
        if len(plain) < 2:
            return terms
        limits = bounds()
        # Capped counts: exact up to the bounds (beyond, which is rarer does not matter).
        counts = {id(t): self.postings(t, max(limits.loose, limits.common) + 1) for t in plain}
        kept, total = set(), 0
        for term in sorted(plain, key=lambda t: counts[id(t)]):
            if kept and total + counts[id(term)] > limits.loose:
                break
            kept.add(id(term))
            total += counts[id(term)]
        return [t for t in terms if t.phrase or t.field or id(t) in kept]

    def loose_pass_over_bounds(self, query: ParsedQuery) -> bool:
        """Whether the "any of the words" pass, as loose_terms left it, still matches more
        papers than the `loose` bound (even its rarest word alone): rank only the newest."""
        _, optional = split_query(query, require_all=False)
        cap = bounds().loose + 1
        return sum(self.postings(t, cap) for t in optional) > bounds().loose

    def common_words(self, query: ParsedQuery) -> tuple[list[Term], bool]:
        """(required plain words in more than `common` papers, whether what is left to
        match with is over that too). The rarest common word stays to match with if
        nothing rarer (a rarer word, a phrase, a field, an OR) is left."""
        common_bound = bounds().common
        if common_bound <= 0:
            return [], False
        required, _ = split_query(query, require_all=True)
        single = [g[0] for g in required if len(g) == 1 and not g[0].phrase and not g[0].field]
        if not single:
            return [], False
        counts = {id(t): self.postings(t, common_bound + 1) for t in single}
        common = [t for t in single if counts[id(t)] > common_bound]
        if common and len(common) == len(required):
            # Every word is common: the rarest one matches, among its newest papers.
            common.remove(min(common, key=lambda t: counts[id(t)]))
            return common, True
        return common, False

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
