"""Search latency, ANN recall and memory at 10k / 100k / 1M papers.

    python bench/search_latency.py --sizes 10000,100000 [--queries 200]

Each size runs in a fresh process and a fresh SQLite instance:
1. the synthetic corpus (bench/corpus.py) goes in through `store_batch`, so the FTS5
   index is built the normal way;
2. synthetic embeddings (clustered unit vectors, 384 dimensions, stored under the real
   model's name) stand in for the real ones, since embedding a million abstracts on two
   cores takes hours; the real query embedding is timed on its own;
3. queries (2-4 words drawn from the corpus titles) go through `services.search` in
   lexical, semantic and hybrid modes, with the usearch HNSW index and with the exact
   brute-force baseline, in the same run;
4. ANN recall@10 of usearch against exact search, on vectors near the data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))
DIM = 384


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_size(n: int, queries: int, seed: int) -> dict:
    home = tempfile.mkdtemp(prefix=f"paperfeed-bench-latency-{n}-")
    os.environ["PAPERFEED_HOME"] = home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()
    import numpy as np
    from corpus import generate
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils.timezone import now

    from paperfeed.papers.bulk import insert_rows
    from paperfeed.papers.records import validate
    from paperfeed.papers.sources.snapshot import parse_line
    from paperfeed.papers.upsert import store_batch
    from paperfeed.search import semantic, services, vectors
    from paperfeed.search.embeddings import get_embedder
    from paperfeed.search.models import PaperEmbedding

    call_command("migrate", verbosity=0)
    out: dict = {"papers": n}

    started = time.perf_counter()
    titles, batch = [], []
    for number, item in enumerate(generate(n, seed)):
        record = validate(parse_line(json.dumps(item), str(number)))
        batch.append(record)
        if number % 97 == 0:
            titles.append(record.title)
        if len(batch) == 1_000:
            store_batch(batch)
            batch = []
    store_batch(batch)
    out["ingest_s"] = time.perf_counter() - started

    embedder = get_embedder()
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((256, DIM)).astype(np.float32)
    started = time.perf_counter()
    ids = np.array(sorted(connection.cursor().execute("SELECT id FROM papers_paper").fetchall()))
    ids = ids.ravel()
    for start in range(0, len(ids), 20_000):
        chunk = ids[start : start + 20_000]
        data = centers[rng.integers(0, 256, len(chunk))] + 0.6 * rng.standard_normal(
            (len(chunk), DIM), dtype=np.float32
        )
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        with transaction.atomic():
            insert_rows(
                PaperEmbedding,
                ["paper_id", "model", "vector", "created_at"],
                [
                    (int(pk), embedder.name, v.tobytes(), now())
                    for pk, v in zip(chunk, data, strict=True)
                ],
            )
            semantic.bump_state(embedder.name)
    out["vectors_s"] = time.perf_counter() - started

    started = time.perf_counter()
    ann = vectors.get_index(embedder.name, "usearch")
    ann.save()
    out["ann_build_s"] = time.perf_counter() - started
    out["rss_after_ann_mb"] = rss_mb()

    words_rng = random.Random(seed)
    texts = []
    for _ in range(queries):
        words = words_rng.choice(titles).split()
        k = words_rng.randint(2, min(4, len(words)))
        start = words_rng.randint(0, len(words) - k)
        texts.append(" ".join(words[start : start + k]))

    started = time.perf_counter()
    for text in texts:
        embedder.encode([text])
    out["query_embedding_ms"] = 1000 * (time.perf_counter() - started) / len(texts)

    def timed(mode: str) -> dict:
        services.search(texts[0], mode=mode)  # warm caches
        times = []
        for text in texts:
            t0 = time.perf_counter()
            services.search(text, mode=mode, limit=20)
            times.append(1000 * (time.perf_counter() - t0))
        return percentiles(times)

    os.environ["PAPERFEED_VECTOR_INDEX"] = "usearch"
    from django.conf import settings

    settings.PAPERFEED_VECTOR_INDEX = "usearch"
    out["lexical_ms"] = timed("lexical")
    out["semantic_ann_ms"] = timed("semantic")
    out["hybrid_ann_ms"] = timed("hybrid")
    out["rss_ann_mb"] = rss_mb()

    settings.PAPERFEED_VECTOR_INDEX = "exact"
    exact = vectors.get_index(embedder.name, "exact")
    started = time.perf_counter()
    exact.refresh()
    out["exact_load_s"] = time.perf_counter() - started
    out["semantic_exact_ms"] = timed("semantic")
    out["hybrid_exact_ms"] = timed("hybrid")
    out["rss_with_exact_mb"] = rss_mb()

    probes = exact.matrix[rng.integers(0, len(exact.ids), 200)]
    probes = probes + 0.3 * rng.standard_normal(probes.shape, dtype=np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    hits = 0
    ann_times, exact_times = [], []
    for probe in probes:
        t0 = time.perf_counter()
        approx = {pk for pk, _ in ann.search(probe, 10)}
        ann_times.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        truth = {pk for pk, _ in exact.search(probe, 10)}
        exact_times.append(1000 * (time.perf_counter() - t0))
        hits += len(approx & truth)
    out["ann_recall_at_10"] = hits / (10 * len(probes))
    out["ann_only_ms"] = percentiles(ann_times)
    out["exact_only_ms"] = percentiles(exact_times)
    return out


def row(r: dict) -> str:
    def p(key: str) -> str:
        v = r[key]
        return f"{v['p50']:.1f} / {v['p95']:.1f} / {v['p99']:.1f}"

    return (
        f"| {r['papers']:,} | {p('lexical_ms')} | {p('semantic_ann_ms')} | {p('hybrid_ann_ms')} "
        f"| {p('semantic_exact_ms')} | {p('hybrid_exact_ms')} | {r['query_embedding_ms']:.1f} "
        f"| {r['ann_recall_at_10']:.3f} | {p('ann_only_ms')} | {p('exact_only_ms')} "
        f"| {r['ann_build_s']:.0f} | {r['rss_ann_mb']:.0f} | {r['rss_with_exact_mb']:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.queries, args.seed)))
        return 0
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--queries", str(args.queries),
             "--seed", str(args.seed)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(
        "| papers | lexical ms p50/p95/p99 | semantic (ANN) | hybrid (ANN) | semantic (exact) "
        "| hybrid (exact) | query embedding ms | ANN recall@10 | ANN alone ms | exact alone ms "
        "| ANN build s | RSS MB (ANN) | RSS MB (+exact) |"
    )
    print("|---:|---|---|---|---|---|---:|---:|---|---|---:|---:|---:|")
    for r in results:
        print(row(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
