"""Search quality on a BEIR-layout dataset (SciFact by default): nDCG@10, Recall@10 and
Recall@100 of paperfeed's search beside a plain BM25 baseline computed here.

    python bench/search_quality.py --dataset ../shared/data/scifact [--split train]

The corpus goes in through the normal ingest path (records -> store_batch, which keeps
the search index in step) into a fresh instance; queries go through the same
`search.services.search` function the page, the CLI and the API use.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))


def load(dataset: Path, split: str):
    corpus = [json.loads(line) for line in (dataset / "corpus.jsonl").open()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (dataset / "queries.jsonl").open())}
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with (dataset / "qrels" / f"{split}.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels[row["query-id"]][row["corpus-id"]] = int(row["score"])
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    return corpus, queries, qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    wanted = {doc for doc, rel in relevant.items() if rel > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def evaluate(run: dict[str, list[str]], qrels) -> dict[str, float]:
    n = len(run)
    return {
        "nDCG@10": sum(ndcg_at(run[q], qrels[q]) for q in run) / n,
        "R@10": sum(recall_at(run[q], qrels[q], 10) for q in run) / n,
        "R@100": sum(recall_at(run[q], qrels[q], 100) for q in run) / n,
    }


# --- the plain BM25 baseline (k1 = 0.9, b = 0.4, lower-cased words, no stemming) ---------

TOKEN = re.compile(r"\w+")


def plain_bm25(corpus, queries, k1: float = 0.9, b: float = 0.4) -> dict[str, list[str]]:
    docs = [TOKEN.findall(f"{d['title']} {d['text']}".lower()) for d in corpus]
    lengths = [len(d) for d in docs]
    average = sum(lengths) / len(lengths)
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, words in enumerate(docs):
        for word, count in Counter(words).items():
            postings[word].append((index, count))
    n = len(docs)
    run = {}
    for qid, text in queries.items():
        scores: dict[int, float] = defaultdict(float)
        for word in set(TOKEN.findall(text.lower())):
            plist = postings.get(word, [])
            idf = math.log(1 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
            for index, tf in plist:
                norm = tf + k1 * (1 - b + b * lengths[index] / average)
                scores[index] += idf * tf * (k1 + 1) / norm
        best = sorted(scores.items(), key=lambda item: -item[1])[:100]
        run[qid] = [corpus[index]["_id"] for index, _ in best]
    return run


# --- paperfeed -------------------------------------------------------------------------


def ingest(corpus) -> dict[str, str]:
    """Store the corpus as papers; returns arXiv id -> corpus id."""
    from paperfeed.papers.records import PaperRecord, validate
    from paperfeed.papers.upsert import store_batch

    mapping, batch = {}, []
    for number, doc in enumerate(corpus, start=1):
        # Made-up new-style ids, one month per 90,000 documents.
        arxiv_id = f"21{1 + number // 90_000:02d}.{number % 90_000:05d}"
        mapping[arxiv_id] = doc["_id"]
        batch.append(validate(PaperRecord(
            arxiv_id=arxiv_id, title=doc["title"] or doc["_id"], abstract=doc["text"],
            authors=[], categories=["q-bio.QM"], source="bench",
        )))  # fmt: skip
        if len(batch) == 1_000:
            store_batch(batch)
            batch = []
    store_batch(batch)
    return mapping


def paperfeed_run(queries, mapping, mode: str, limit: int = 100) -> dict[str, list[str]]:
    from paperfeed.search.services import search

    run = {}
    for qid, text in queries.items():
        result = search(text, limit=limit, mode=mode)
        run[qid] = [mapping[p.arxiv_id] for p in result.papers]
    return run


def per_query_ms(started: float, queries) -> float:
    return 1000 * (time.perf_counter() - started) / len(queries)


def table(rows: list[tuple[str, dict[str, float], float]]) -> str:
    lines = [
        "| method | nDCG@10 | Recall@10 | Recall@100 | ms/query |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, metrics, ms in rows:
        lines.append(
            f"| {name} | {metrics['nDCG@10']:.3f} | {metrics['R@10']:.3f} | {metrics['R@100']:.3f} "
            f"| {ms:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=REPO.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="train")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--title-weights", default="",
                        help="comma-separated FTS5 title weights to compare (SQLite)")  # fmt: skip
    parser.add_argument("--lexical-only", action="store_true")
    parser.add_argument("--rrf-k", default="60", help="comma-separated RRF constants to compare")
    parser.add_argument(
        "--vectors", type=Path, help="store the vectors bench/ann_recall.py --save wrote, not embed"
    )
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="paperfeed-bench-quality-")
    os.environ["PAPERFEED_HOME"] = home
    if args.engine == "postgres":
        import pgserver

        server = pgserver.get_server(Path(home) / "pg", cleanup_mode="delete")
        os.environ["DATABASE_URL"] = server.get_uri()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    corpus, queries, qrels = load(args.dataset, args.split)
    started = time.perf_counter()
    mapping = ingest(corpus)
    print(f"ingested {len(corpus):,} documents in {time.perf_counter() - started:.1f}s; "
          f"{len(queries)} queries ({args.split})", file=sys.stderr)  # fmt: skip

    rows = []
    started = time.perf_counter()
    baseline = plain_bm25(corpus, queries)
    rows.append(("plain BM25 (baseline, this script)", evaluate(baseline, qrels),
                 1000 * (time.perf_counter() - started) / len(queries)))  # fmt: skip
    weights = [float(w) for w in args.title_weights.split(",") if w] or [None]
    for weight in weights:
        label = f"paperfeed lexical ({args.engine})"
        if weight is not None:
            from paperfeed.search.backends import sqlite as fts

            fts.WEIGHTS = (weight, *fts.WEIGHTS[1:])
            label += f", title weight {weight:g}"
        started = time.perf_counter()
        run = paperfeed_run(queries, mapping, "lexical")
        rows.append((label, evaluate(run, qrels), per_query_ms(started, queries)))
    if not args.lexical_only:
        from paperfeed.search import semantic, services

        if args.vectors:  # computed by the same model in an earlier run (ann_recall --save)
            import numpy as np
            from ann_recall import store_saved

            from paperfeed.search.embeddings import get_embedder

            saved = np.load(args.vectors)
            store_saved(get_embedder().name, saved["ids"], saved["docs"])
        else:
            started = time.perf_counter()
            embedded = semantic.embed_all(rebuild=True)
            seconds = time.perf_counter() - started
            print(
                f"embedded {embedded:,} documents in {seconds:.0f}s ({embedded / seconds:.1f}/s)",
                file=sys.stderr,
            )
        rrf_ks = [int(x) for x in args.rrf_k.split(",")]
        for mode, k in [("semantic", None)] + [("hybrid", k) for k in rrf_ks]:
            if k is not None:
                services.RRF_K = k
            started = time.perf_counter()
            run = paperfeed_run(queries, mapping, mode)
            label = f"paperfeed {mode} ({args.engine})" + (f", RRF k={k}" if k else "")
            rows.append((label, evaluate(run, qrels), per_query_ms(started, queries)))
    print(f"\nDataset: {args.dataset.name} ({args.split} split, {len(queries)} queries, "
          f"{len(corpus):,} documents)\n")  # fmt: skip
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
