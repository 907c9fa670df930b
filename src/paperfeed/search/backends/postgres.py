"""PostgreSQL full-text search: a weighted tsvector per paper (title A, authors B,
abstract C) in its own table with a GIN index, ranked with ts_rank.

ts_rank has no inverse document frequency, so on SciFact it ranks below BM25 (0.608 vs
0.668 nDCG@10, docs/benchmarks.md); ts_rank_cd was worse still (0.468)."""

from __future__ import annotations

import json
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

TABLE = "search_paper_tsv"
WEIGHT_LABELS = {"title": "A", "authors": "B", "abstract": "C"}
# ts_rank weights for {D, C, B, A}: -, abstract, authors, title (tuned on SciFact train).
RANK_WEIGHTS = "{0.1, 1.0, 0.4, 1.0}"
RANK_FUNCTION = "ts_rank"
RANK_NORMALIZATION = 1  # divide by 1 + log(document length)
CHUNK = 1_000
# Word counts up to this are exact; above, the planner's estimate (count_matches).
EXACT_COUNT_BELOW = 5_000

# PostgreSQL's parser takes "<script>" for an XML tag and drops it, while the query side
# (and SQLite's FTS5) sees the word "script": angle brackets and ampersands become spaces
# first, so both engines index the same words.
DOCUMENT = (
    "setweight(to_tsvector('english', translate(coalesce(title, ''), '<>&', '   ')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(author_names::text, '')), 'B') || "
    "setweight(to_tsvector('english', translate(coalesce(abstract, ''), '<>&', '   ')), 'C')"
)
# The table itself is the PaperDocument model; its GIN index is PostgreSQL-only.
CREATE = [f"CREATE INDEX IF NOT EXISTS {TABLE}_gin ON {TABLE} USING gin (document)"]


def _lexeme(word: str, label: str) -> str:
    return "'" + word.replace("'", "''") + "'" + (f":{label}" if label else "")


def _term_sql(term: Term) -> str:
    label = WEIGHT_LABELS.get(term.field or "", "")
    return "(" + " <-> ".join(_lexeme(w, label) for w in term.words) + ")"


def tsquery_text(query: ParsedQuery, require_all: bool) -> str | None:
    required, optional = split_query(query, require_all)
    parts = ["(" + " | ".join(_term_sql(t) for t in group) + ")" for group in required]
    if optional:
        parts.append("(" + " | ".join(_term_sql(t) for t in optional) + ")")
    if query.excluded:
        parts += [f"!{_term_sql(t)}" for t in query.excluded]
    return " & ".join(parts) if parts else None


class PostgresBackend(SearchBackend):
    name = "postgres-fts"

    def index(self, paper_ids: Iterable[int], *, new: bool = False) -> None:
        ids = list(paper_ids)
        self.forget_counts()
        with connection.cursor() as cursor:
            for start in range(0, len(ids), CHUNK):
                cursor.execute(
                    f"INSERT INTO {TABLE} (paper_id, document) SELECT id, {DOCUMENT} "
                    f"FROM papers_paper WHERE id = ANY(%s) "
                    "ON CONFLICT (paper_id) DO UPDATE SET document = EXCLUDED.document",
                    [ids[start : start + CHUNK]],
                )

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        self.forget_counts()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")  # not TRUNCATE: FK checks are deferred
            cursor.execute("SELECT count(*) FROM papers_paper")
            total = cursor.fetchone()[0]
            done, last_id = 0, 0
            while True:
                cursor.execute(
                    f"INSERT INTO {TABLE} (paper_id, document) SELECT id, {DOCUMENT} "
                    "FROM papers_paper WHERE id > %s ORDER BY id LIMIT 10000 RETURNING paper_id",
                    [last_id],
                )
                ids = [row[0] for row in cursor.fetchall()]
                if not ids:
                    break
                done += len(ids)
                last_id = max(ids)
                if progress:
                    progress(done, total)
        return done

    def count_matches(self, term: Term, cap: int) -> int:
        """The planner's estimate from ANALYZE's lexeme statistics (one planning, about
        0.2 ms) where it is large: counting the papers of a common word through the GIN
        index reads each of them, tens of ms. Small estimates are counted exactly, which
        is then cheap. The bounds only need to tell common words from rare ones."""
        tsquery = "to_tsquery('english', %s)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {TABLE} WHERE document @@ {tsquery}",
                [_term_sql(term)],
            )
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate > EXACT_COUNT_BELOW:
                return min(estimate, cap)
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE document @@ {tsquery} "
                "LIMIT %s) s",
                [_term_sql(term), cap],
            )
            return cursor.fetchone()[0]

    def add_bonus(self, page: SearchPage, words: list[Term]) -> SearchPage:
        """Papers of the page get the ts_rank of the words left out of the matching (any
        of them), and the page is sorted again."""
        if not page.hits or not words:
            return page
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT paper_id, {RANK_FUNCTION}('{RANK_WEIGHTS}', document, "
                f"to_tsquery('english', %s), {RANK_NORMALIZATION}) FROM {TABLE} "
                "WHERE paper_id = ANY(%s)",
                [" | ".join(_term_sql(t) for t in words), [h.paper_id for h in page.hits]],
            )
            bonus = {pk: float(score) for pk, score in cursor.fetchall()}
        hits = sorted(
            (Hit(h.paper_id, h.score + bonus.get(h.paper_id, 0.0)) for h in page.hits),
            key=lambda h: -h.score,
        )
        return SearchPage(hits, page.total, page.total_capped)

    def _pass(self, query, filters: Filters, sort, limit, *, require_all, cut=False) -> SearchPage:
        where, params = filter_sql(filters)
        text = tsquery_text(query, require_all)
        if text is None:
            return SearchPage([], 0, False)
        ranked = bool(query.groups)
        # Without filters or another order, the document table alone answers (no lookup of
        # each matching paper).
        joined = bool(where) or sort != "relevance" or not ranked
        with connection.cursor() as cursor:
            # to_tsquery drops stop words; a query of only stop words matches nothing.
            base = f"FROM {TABLE} d "
            if joined:
                base += "JOIN papers_paper p ON p.id = d.paper_id "
            base += f", to_tsquery('english', %s) q WHERE d.document @@ q{where}"
            args = [text, *params]
            narrowed, narrowed_args = base, args
            rank_limit = bounds().rank_limit
            if cut and ranked and rank_limit > 0:
                # Only common words to match with: rank at most rank_limit papers, the most
                # recently added of the matches (matching is cheap, ts_rank is not).
                cursor.execute(
                    f"SELECT d.paper_id {base} ORDER BY d.paper_id DESC LIMIT 1 OFFSET %s",
                    [*args, rank_limit - 1],
                )
                row = cursor.fetchone()
                if row is not None:
                    narrowed, narrowed_args = f"{base} AND d.paper_id >= %s", [*args, row[0]]
            if ranked:
                score = f"{RANK_FUNCTION}('{RANK_WEIGHTS}', d.document, q, {RANK_NORMALIZATION})"
                order = order_sql(sort, "score DESC")
            else:  # only exclusions: newest first
                score, order = "0", order_sql("date", "0")
            cursor.execute(
                f"SELECT d.paper_id, {score} AS score {narrowed} ORDER BY {order} LIMIT %s",
                [*narrowed_args, limit],
            )
            hits = [Hit(pk, float(score)) for pk, score in cursor.fetchall()]
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 {base} LIMIT {COUNT_CAP + 1}) s", args)
            total = cursor.fetchone()[0]
        return SearchPage(hits, min(total, COUNT_CAP), total > COUNT_CAP)
