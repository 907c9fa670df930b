"""SQLite FTS5: BM25 over title, abstract and author names.

The FTS table keeps its own copy of the text (rowid = paper id), so a paper is
re-indexed with one DELETE and one INSERT ... SELECT, all inside SQLite.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from django.conf import settings
from django.db import connection

from paperfeed.search.backends.base import (
    COUNT_CAP,
    Filters,
    Hit,
    SearchBackend,
    SearchPage,
    filter_sql,
    order_sql,
    split_query,
)
from paperfeed.search.query import ParsedQuery, Term

TABLE = "search_paper_fts"
# BM25 column weights (title, abstract, authors), tuned on the SciFact dev split
# (docs/benchmarks.md).
WEIGHTS = (2.0, 1.0, 1.0)
COLUMNS = {"title": "title", "abstract": "abstract", "authors": "authors"}
CHUNK = 500
# Work bounds for large instances (docs/search.md, docs/benchmarks.md). FTS5's BM25 first
# counts the papers of every word of the query (tens of ns per posting: 10+ ms for a word
# in 300k papers), then costs 1-2 us per paper ranked. So, none of which binds below about
# 50,000 papers:
# - a word in more than COMMON_POSTINGS papers, beside rarer words, does not take part in
#   matching and ranking: the papers found by the rarer words get its BM25 weight as a
#   bonus if they contain it (as Elasticsearch's "common terms" query does);
# - the "any of the words" pass keeps the rarest words whose postings add up to at most
#   LOOSE_POSTINGS (always the rarest one); the others count as a bonus, as above;
# - a pass left with only words over those bounds ranks at most RANK_LIMIT matching
#   papers, the most recently added ones.
RANK_LIMIT = settings.PAPERFEED_SEARCH_RANK_LIMIT
COMMON_POSTINGS = settings.PAPERFEED_SEARCH_COMMON_POSTINGS
LOOSE_POSTINGS = settings.PAPERFEED_SEARCH_LOOSE_POSTINGS
BONUS_WORDS = 8
# Document counts of words, per process: (count, the cap it was counted to, when). Counts
# drift slowly; a count is read again after DF_TTL seconds.
DF_TTL = 600.0
DF_CACHE_SIZE = 20_000
_df_cache: dict[str, tuple[int, int, float]] = {}

CREATE = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(
    title, abstract, authors, tokenize = 'porter unicode61 remove_diacritics 2'
)
"""


def _term_sql(term: Term) -> str:
    # Words are \\w+ runs: quoting them makes every FTS5 operator plain text.
    text = '"' + " ".join(term.words) + '"'
    return f"{COLUMNS[term.field]} : {text}" if term.field else text


def match_expression(query: ParsedQuery, require_all: bool) -> str | None:
    required, optional = split_query(query, require_all)
    parts = ["(" + " OR ".join(_term_sql(t) for t in group) + ")" for group in required]
    if optional:
        parts.append("(" + " OR ".join(_term_sql(t) for t in optional) + ")")
    if not parts:
        return None
    expression = " AND ".join(parts)
    if query.excluded:
        expression = (
            f"({expression}) NOT (" + " OR ".join(_term_sql(t) for t in query.excluded) + ")"
        )
    return expression


class SqliteBackend(SearchBackend):
    name = "sqlite-fts5"

    def index(self, paper_ids: Iterable[int], *, new: bool = False) -> None:
        ids = list(paper_ids)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                if not new:
                    cursor.execute(f"DELETE FROM {TABLE} WHERE rowid IN ({marks})", chunk)
                cursor.execute(
                    f"INSERT INTO {TABLE} (rowid, title, abstract, authors) "
                    f"SELECT id, title, abstract, author_names FROM papers_paper "
                    f"WHERE id IN ({marks})",
                    chunk,
                )

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")
            cursor.execute("SELECT count(*) FROM papers_paper")
            total = cursor.fetchone()[0]
            done, last_id = 0, 0
            while True:
                cursor.execute(
                    f"INSERT INTO {TABLE} (rowid, title, abstract, authors) "
                    "SELECT id, title, abstract, author_names FROM papers_paper "
                    "WHERE id > %s ORDER BY id LIMIT 10000",
                    [last_id],
                )
                if cursor.rowcount <= 0:
                    break
                done += cursor.rowcount
                cursor.execute(f"SELECT max(rowid) FROM {TABLE}")
                last_id = cursor.fetchone()[0]
                if progress:
                    progress(done, total)
            cursor.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")
        return done

    def postings(self, term: Term, cap: int) -> int:
        """How many papers contain the term, counted up to `cap` (cached a while)."""
        key = _term_sql(term)
        cached = _df_cache.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[2] < DF_TTL:
            count, counted_to, _ = cached
            if count < counted_to or cap <= counted_to:  # exact, or capped high enough
                return min(count, cap)
        with connection.cursor() as cursor:
            # A capped count: FTS5 walks the word's postings (about 30 ns each).
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH %s LIMIT %s)",
                [key, cap],
            )
            count = cursor.fetchone()[0]
        if len(_df_cache) >= DF_CACHE_SIZE:
            _df_cache.clear()
        _df_cache[key] = (count, cap, now)
        return count

    def loose_terms(self, terms: list[Term]) -> list[Term]:
        """The rarest plain words whose postings fit LOOSE_POSTINGS (at least one), and
        every phrase or fielded term: ranking "any of" common words reads most of the index."""
        plain = [t for t in terms if not t.phrase and not t.field]
        if len(plain) < 2:
            return terms
        # Capped counts: exact up to the budgets (beyond, which is rarer does not matter).
        counts = {id(t): self.postings(t, max(LOOSE_POSTINGS, COMMON_POSTINGS) + 1) for t in plain}
        kept, total = set(), 0
        for term in sorted(plain, key=lambda t: counts[id(t)]):
            if kept and total + counts[id(term)] > LOOSE_POSTINGS:
                break
            kept.add(id(term))
            total += counts[id(term)]
        return [t for t in terms if t.phrase or t.field or id(t) in kept]

    def _search(self, query, filters: Filters, sort, limit, *, require_all) -> SearchPage:
        if sort != "relevance":
            return self._pass(query, filters, sort, limit, require_all=require_all)
        if not require_all:
            # The any-word pass holds the rarest words within LOOSE_POSTINGS (loose_terms):
            # bounded, unless even the rarest alone is over it (then newest matches only).
            _, optional = split_query(query, require_all=False)
            cap = LOOSE_POSTINGS + 1
            over = sum(self.postings(t, cap) for t in optional) > LOOSE_POSTINGS
            return self._pass(query, filters, sort, limit, require_all=False, cut=over)
        common, over = self._common_words(query) if COMMON_POSTINGS > 0 else ([], False)
        if common:
            return self._search_with_common_words(query, common, filters, limit, cut=over)
        return self._pass(query, filters, sort, limit, require_all=True, cut=over)

    def _common_words(self, query: ParsedQuery) -> tuple[list[Term], bool]:
        """(required plain words in more than COMMON_POSTINGS papers, whether what is left
        to match with is over that too). The rarest common word stays to match with if
        nothing rarer (a rarer word, a phrase, a field, an OR) is left."""
        required, _ = split_query(query, require_all=True)
        single = [g[0] for g in required if len(g) == 1 and not g[0].phrase and not g[0].field]
        if not single:
            return [], False
        counts = {id(t): self.postings(t, COMMON_POSTINGS + 1) for t in single}
        common = [t for t in single if counts[id(t)] > COMMON_POSTINGS]
        if common and len(common) == len(required):
            # Every word is common: the rarest one matches, among its newest papers.
            common.remove(min(common, key=lambda t: counts[id(t)]))
            return common, True
        return common, False

    def _search_with_common_words(self, query, common: list[Term], filters, limit, *, cut):
        """Match and rank with the rarer words, then the common ones as a bonus."""
        groups = [g for g in query.groups if not (len(g) == 1 and g[0] in common)]
        page = self._pass(replace(query, groups=groups), filters, "relevance", limit,
                          require_all=True, cut=cut)  # fmt: skip
        return self.add_bonus(page, common)

    def add_bonus(self, page: SearchPage, words: list[Term]) -> SearchPage:
        """Papers of the page that contain a word left out of the matching get that word's
        BM25 weight at one occurrence (its IDF), and the page is sorted again. At most
        BONUS_WORDS words, the rarest: each costs a seek per paper."""
        if not page.hits:
            return page
        plain = [t for t in words if not t.phrase]
        counts = {id(t): self.postings(t, COMMON_POSTINGS + 1) for t in plain}
        plain = sorted(plain, key=lambda t: counts[id(t)])[:BONUS_WORDS]
        ids = [hit.paper_id for hit in page.hits]
        marks = ", ".join(["%s"] * len(ids))
        bonus = dict.fromkeys(ids, 0.0)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT max(rowid) FROM {TABLE}")
            papers = cursor.fetchone()[0] or 1
            for term in plain:
                cursor.execute(
                    f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s AND rowid IN ({marks})",
                    [_term_sql(term), *ids],
                )
                found = counts[id(term)]
                idf = max(math.log((papers - found + 0.5) / (found + 0.5)), 1e-6)
                for (pk,) in cursor.fetchall():
                    bonus[pk] += idf
        hits = sorted(
            (Hit(h.paper_id, h.score + bonus[h.paper_id]) for h in page.hits),
            key=lambda h: -h.score,
        )
        return SearchPage(hits, page.total, page.total_capped)

    def _pass(self, query, filters: Filters, sort, limit, *, require_all, cut=False) -> SearchPage:
        where, params = filter_sql(filters)
        expression = match_expression(query, require_all)
        if expression is None and not query.excluded:
            return SearchPage([], 0, False)
        score = f"bm25({TABLE}, {', '.join(map(str, WEIGHTS))})"
        with connection.cursor() as cursor:
            if expression is None:  # only exclusions: the newest papers without them
                excluded = " OR ".join(_term_sql(t) for t in query.excluded)
                base = (
                    f"FROM papers_paper p WHERE p.id NOT IN "
                    f"(SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s){where}"
                )
                args = [excluded, *params]
                order = order_sql("date" if sort == "relevance" else sort, "0")
                cursor.execute(f"SELECT p.id, 0 {base} ORDER BY {order} LIMIT %s", [*args, limit])
            else:
                # Without filters or another order, the FTS table alone answers: no join
                # (a lookup per matching paper, half the time of a large pass).
                joined = bool(where) or sort != "relevance"
                paper = "p.id" if joined else f"{TABLE}.rowid"
                base = f"FROM {TABLE} "
                if joined:
                    base += f"JOIN papers_paper p ON p.id = {TABLE}.rowid "
                base += f"WHERE {TABLE} MATCH %s{where}"
                args = [expression, *params]
                ranked, ranked_args = base, args
                if cut and RANK_LIMIT > 0:
                    # Only common words to match with: rank at most RANK_LIMIT papers, the
                    # most recently added of the matches (walking postings is cheap,
                    # ranking is not).
                    cursor.execute(
                        f"SELECT {TABLE}.rowid {base} ORDER BY {TABLE}.rowid DESC "
                        "LIMIT 1 OFFSET %s",
                        [*args, RANK_LIMIT - 1],
                    )
                    cut = cursor.fetchone()
                    if cut is not None:
                        ranked = f"{base} AND {TABLE}.rowid >= %s"
                        ranked_args = [*args, cut[0]]
                cursor.execute(
                    f"SELECT {paper}, {score} AS score {ranked} "
                    f"ORDER BY {order_sql(sort, 'score')} LIMIT %s",
                    [*ranked_args, limit],
                )
            hits = [Hit(pk, -score) for pk, score in cursor.fetchall()]
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 {base} LIMIT {COUNT_CAP + 1})", args)
            total = cursor.fetchone()[0]
        return SearchPage(hits, min(total, COUNT_CAP), total > COUNT_CAP)
