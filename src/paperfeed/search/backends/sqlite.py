"""SQLite FTS5: BM25 over title, abstract and author names.

The FTS table keeps its own copy of the text (rowid = paper id), so a paper is
re-indexed with one DELETE and one INSERT ... SELECT, all inside SQLite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from django.db import connection

from paperfeed.search.backends.base import (
    COUNT_CAP,
    Filters,
    Hit,
    SearchBackend,
    SearchPage,
    bounds,
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
# Work bounds for large instances (docs/search.md; the shared part is in base.py). FTS5's
# BM25 first counts the papers of every word of the query (tens of ns per posting: 10+ ms
# for a word in 300k papers), then costs 1-2 us per paper ranked.
BONUS_WORDS = 8

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
        self.forget_counts()
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
        self.forget_counts()
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

    def count_matches(self, term: Term, cap: int) -> int:
        with connection.cursor() as cursor:
            # A capped count: FTS5 walks the word's postings (about 30 ns each).
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH %s LIMIT %s)",
                [_term_sql(term), cap],
            )
            return cursor.fetchone()[0]

    def add_bonus(self, page: SearchPage, words: list[Term]) -> SearchPage:
        """Papers of the page that contain a word left out of the matching get that word's
        BM25 weight at one occurrence (its IDF), and the page is sorted again. At most
        BONUS_WORDS words, the rarest: each costs a seek per paper."""
        if not page.hits:
            return page
        plain = [t for t in words if not t.phrase]
        counts = {id(t): self.postings(t, bounds().common + 1) for t in plain}
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
                rank_limit = bounds().rank_limit
                if cut and rank_limit > 0:
                    # Only common words to match with: rank at most rank_limit papers, the
                    # most recently added of the matches (walking postings is cheap,
                    # ranking is not).
                    cursor.execute(
                        f"SELECT {TABLE}.rowid {base} ORDER BY {TABLE}.rowid DESC "
                        "LIMIT 1 OFFSET %s",
                        [*args, rank_limit - 1],
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
