"""SQLite FTS5: BM25 over title, abstract and author names.

The FTS table keeps its own copy of the text (rowid = paper id), so a paper is
re-indexed with one DELETE and one INSERT ... SELECT, all inside SQLite.
"""

from __future__ import annotations

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
# A word in more than this share of the papers (and at least COMMON_MIN_PAPERS) is left
# out of the "any of the words" pass when rarer words remain. 0.2 keeps SciFact quality
# (nDCG@10 0.700); 0.1 halves p95 latency at 100k papers for 0.01 less (docs/benchmarks.md).
COMMON_SHARE = settings.PAPERFEED_SEARCH_COMMON_SHARE
COMMON_MIN_PAPERS = 200

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

    def is_common(self, term: Term) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT max(rowid) FROM {TABLE}")
            papers = cursor.fetchone()[0] or 0
            cap = max(COMMON_MIN_PAPERS, int(papers * COMMON_SHARE))
            # A capped count: reading at most `cap` postings costs a millisecond or two.
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH %s LIMIT %s)",
                [_term_sql(term), cap],
            )
            return cursor.fetchone()[0] >= cap

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
                base = (
                    f"FROM {TABLE} JOIN papers_paper p ON p.id = {TABLE}.rowid "
                    f"WHERE {TABLE} MATCH %s{where}"
                )
                args = [expression, *params]
                cursor.execute(
                    f"SELECT p.id, {score} AS score {base} ORDER BY {order_sql(sort, 'score')} "
                    "LIMIT %s",
                    [*args, limit],
                )
            hits = [Hit(pk, -score) for pk, score in cursor.fetchall()]
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 {base} LIMIT {COUNT_CAP + 1})", args)
            total = cursor.fetchone()[0]
        return SearchPage(hits, min(total, COUNT_CAP), total > COUNT_CAP)
