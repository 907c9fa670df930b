"""SQLite FTS5: BM25 over title, abstract and author names.

The FTS table keeps its own copy of the text (rowid = paper id), so a paper is
re-indexed with one DELETE and one INSERT ... SELECT, all inside SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

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
# Work bounds for large instances (docs/search.md, docs/benchmarks.md). The cost of a pass
# is about 30 ns per posting of each word in it (BM25 counts the papers of every word) plus
# about 1 us per paper ranked:
# - a pass ranks at most RANK_LIMIT matching papers, the most recently added ones;
# - the "any of the words" pass keeps the rarest words whose postings add up to at most
#   LOOSE_POSTINGS (always the rarest one).
RANK_LIMIT = settings.PAPERFEED_SEARCH_RANK_LIMIT
LOOSE_POSTINGS = settings.PAPERFEED_SEARCH_LOOSE_POSTINGS
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
        # Capped counts: enough to order words up to a few budgets' worth of postings.
        counts = {id(t): self.postings(t, 4 * LOOSE_POSTINGS + 1) for t in plain}
        kept, total = set(), 0
        for term in sorted(plain, key=lambda t: counts[id(t)]):
            if kept and total + counts[id(term)] > LOOSE_POSTINGS:
                break
            kept.add(id(term))
            total += counts[id(term)]
        return [t for t in terms if t.phrase or t.field or id(t) in kept]

    def _search(self, query, filters: Filters, sort, limit, *, require_all) -> SearchPage:
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
                if sort == "relevance" and RANK_LIMIT > 0:
                    # Walking postings is cheap, ranking is not: rank at most RANK_LIMIT
                    # papers, the most recently added of the matches.
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
