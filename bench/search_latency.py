"""Search latency, ANN recall and memory at 10k / 100k / 1M papers.

    python bench/search_latency.py --sizes 10000,100000,1000000 [--queries 200]
        [--engine sqlite|postgres] [--keep DIR]

For each size, two fresh processes:

1. **build** (a fresh instance; with `--keep`, an instance already built in DIR is reused
   and its recorded build times are reported again):
   - the synthetic corpus (bench/corpus.py) goes in through `store_batch`, so the lexical
     index (FTS5 or tsvector) is built the normal way;
   - synthetic embeddings stand in for the real ones (embedding a million abstracts on
     two cores takes hours): `bench/synthetic_vectors.py`, a generator fitted to the real
     MiniLM embeddings of SciFact (see its docstring and docs/benchmarks.md), stored under
     the real model's name as the embedding job would store them;
   - the ANN index: usearch built and saved as `paperfeed index` does (SQLite), or
     pgvector's HNSW index created by PostgreSQL (PostgreSQL).
2. **measure**, as a web process would: the model and the saved index are loaded, then
   - the real query embedding of each query, timed alone;
   - queries (2-4 consecutive words of stored titles) through `services.search` in
     lexical, semantic and hybrid modes with the ANN index, then with the exact
     brute-force index (the baseline) in the same process; hybrid includes the query
     embedding;
   - ANN recall@10 against exact search for query-like probes from the same generator,
     and the ANN and exact searches alone;
   - resident memory (VmRSS) after loading the ANN index, after the queries, and after
     loading the exact index as well.

Figures are printed as a Markdown table (ms: p50 / p95 / p99).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def rss_mb() -> float:
    """Resident memory now (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(home: Path) -> None:
    os.environ["PAPERFEED_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()


def build(n: int, home: Path, engine: str, seed: int) -> dict:
    setup(home)
    import numpy as np
    from corpus import generate
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils.timezone import now
    from synthetic_vectors import Generator

    from paperfeed.papers.bulk import insert_rows
    from paperfeed.papers.records import validate
    from paperfeed.papers.sources.snapshot import parse_line
    from paperfeed.papers.upsert import store_batch
    from paperfeed.search import semantic
    from paperfeed.search.embeddings import get_embedder
    from paperfeed.search.models import PaperEmbedding, PaperVector

    call_command("migrate", verbosity=0)
    out: dict = {"papers": n, "engine": engine}

    started = time.perf_counter()
    batch = []
    for number, item in enumerate(generate(n, seed)):
        batch.append(validate(parse_line(json.dumps(item), str(number))))
        if len(batch) == 1_000:
            store_batch(batch)
            batch = []
    store_batch(batch)
    out["ingest_s"] = time.perf_counter() - started

    model = get_embedder().name
    generator = Generator(seed=seed, n=n)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM papers_paper ORDER BY id")
        ids = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
    step = 20_000
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        data = generator.docs(start, start + len(chunk))
        stamp = now()
        with transaction.atomic():
            insert_rows(
                PaperEmbedding,
                ["paper_id", "model", "vector", "created_at"],
                [(int(pk), model, v.tobytes(), stamp) for pk, v in zip(chunk, data, strict=True)],
            )
            if engine == "postgres":  # what semantic.embed_papers writes beside them
                PaperVector.objects.bulk_create(
                    [
                        PaperVector(paper_id=int(pk), model=model, embedding=v)
                        for pk, v in zip(chunk, data, strict=True)
                    ],
                    batch_size=2_000,
                )
            semantic.bump_state(model)
    out["vectors_s"] = time.perf_counter() - started

    out.update(build_ann(engine, model))
    out["build_peak_rss_mb"] = peak_rss_mb()
    return out


def build_ann(engine: str, model: str) -> dict:
    """Build the ANN index afresh (usearch file, or pgvector's HNSW index)."""
    from django.db import connection

    from paperfeed.search import vectors

    started = time.perf_counter()
    if engine == "sqlite":
        index = vectors.get_index(model, "usearch")
        index.save()
        params = index._graph()
    else:
        index = vectors.get_index(model, "pgvector")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {index.index_name}")
        index.refresh()  # CREATE INDEX ... USING hnsw
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        params = {"m": index.CONNECTIVITY, "ef_construction": index.EXPANSION_ADD}
    return {"ann_build_s": time.perf_counter() - started, "ann_params": params}


def measure(n: int, home: Path, engine: str, queries: int, seed: int) -> dict:
    setup(home)
    import numpy as np
    from django.conf import settings
    from django.db import connection
    from synthetic_vectors import Generator

    from paperfeed.search import services, vectors
    from paperfeed.search.embeddings import get_embedder

    out: dict = {"papers": n, "engine": engine}
    embedder = get_embedder()
    out["rss_start_mb"] = rss_mb()

    with connection.cursor() as cursor:
        cursor.execute("SELECT title FROM papers_paper WHERE id % 97 = 0 ORDER BY id")
        titles = [row[0] for row in cursor.fetchall()]
    words_rng = random.Random(seed)
    texts = []
    for _ in range(queries):
        words = words_rng.choice(titles).split()
        k = words_rng.randint(2, min(4, len(words)))
        start = words_rng.randint(0, len(words) - k)
        texts.append(" ".join(words[start : start + k]))

    embedder.encode([texts[0]])
    times = []
    for text in texts:
        t0 = time.perf_counter()
        embedder.encode([text])
        times.append(1000 * (time.perf_counter() - t0))
    out["query_embedding_ms"] = percentiles(times)

    def timed(mode: str) -> dict:
        for text in texts[:5]:  # warm caches
            services.search(text, mode=mode, limit=20)
        times = []
        for text in texts:
            t0 = time.perf_counter()
            services.search(text, mode=mode, limit=20)
            times.append(1000 * (time.perf_counter() - t0))
        return percentiles(times)

    kind = "usearch" if engine == "sqlite" else "pgvector"
    settings.PAPERFEED_VECTOR_INDEX = kind
    ann = vectors.get_index(embedder.name, kind)
    started = time.perf_counter()
    ann.refresh()  # usearch: loads the saved file, as each web process does
    out["ann_load_s"] = time.perf_counter() - started
    out["rss_ann_loaded_mb"] = rss_mb()

    out["lexical_ms"] = timed("lexical")
    out["semantic_ann_ms"] = timed("semantic")
    out["hybrid_ann_ms"] = timed("hybrid")
    out["rss_ann_mb"] = rss_mb()

    probes = Generator(seed=seed, n=n).probes(200, seed=seed + 1)
    ann_results, ann_times = [], []
    for probe in probes:
        t0 = time.perf_counter()
        ann_results.append({pk for pk, _ in ann.search(probe, 10)})
        ann_times.append(1000 * (time.perf_counter() - t0))
    out["ann_only_ms"] = percentiles(ann_times)

    settings.PAPERFEED_VECTOR_INDEX = "exact"
    exact = vectors.get_index(embedder.name, "exact")
    started = time.perf_counter()
    exact.refresh()
    out["exact_load_s"] = time.perf_counter() - started
    out["semantic_exact_ms"] = timed("semantic")
    out["hybrid_exact_ms"] = timed("hybrid")
    hits, exact_times = 0, []
    for probe, approx in zip(probes, ann_results, strict=True):
        t0 = time.perf_counter()
        truth = {pk for pk, _ in exact.search(probe, 10)}
        exact_times.append(1000 * (time.perf_counter() - t0))
        hits += len(approx & truth)
    out["ann_recall_at_10"] = hits / (10 * len(probes))
    out["exact_only_ms"] = percentiles(exact_times)
    out["rss_with_exact_mb"] = rss_mb()
    out["threads"] = {"embedding": settings.PAPERFEED_EMBEDDING_THREADS}
    del np
    return out


def run_child(args: list[str], env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"child {args} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(v: dict) -> str:
    return f"{v['p50']:.1f} / {v['p95']:.1f} / {v['p99']:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keep", type=Path, help="build instances here and reuse them")
    parser.add_argument(
        "--rebuild-ann", action="store_true", help="with --keep: build the ANN index again"
    )
    parser.add_argument("--phase", choices=["build", "ann", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--papers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(build(args.papers, args.home, args.engine, args.seed)))
        return 0
    if args.phase == "ann":
        setup(args.home)
        from paperfeed.search.embeddings import get_embedder

        print(json.dumps(build_ann(args.engine, get_embedder().name)))
        return 0
    if args.phase == "measure":
        print(json.dumps(measure(args.papers, args.home, args.engine, args.queries, args.seed)))
        return 0

    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        if args.keep:
            home = args.keep / f"{args.engine}-{n}-seed{args.seed}"
        else:
            home = Path(tempfile.mkdtemp(prefix=f"paperfeed-bench-latency-{n}-"))
        home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PAPERFEED_HOME=str(home))
        server = None
        if args.engine == "postgres":
            import pgserver

            server = pgserver.get_server(home / "pg", cleanup_mode="stop")
            server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
            env["DATABASE_URL"] = server.get_uri()
        record = home / "build.json"
        common = ["--papers", str(n), "--home", str(home), "--engine", args.engine,
                  "--seed", str(args.seed), "--queries", str(args.queries)]  # fmt: skip
        if record.exists():
            built = json.loads(record.read_text())
            if args.rebuild_ann:
                built.update(run_child(["--phase", "ann", *common], env))
                record.write_text(json.dumps(built))
        else:
            built = run_child(["--phase", "build", *common], env)
            record.write_text(json.dumps(built))
        print(json.dumps(built), file=sys.stderr)
        measured = run_child(["--phase", "measure", *common], env)
        print(json.dumps(measured), file=sys.stderr)
        results.append({**built, **measured})
        if server is not None:
            server.cleanup()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)

    ann = "usearch" if args.engine == "sqlite" else "pgvector"
    print(f"\nengine: {args.engine}, ANN: {ann}; ms p50 / p95 / p99\n")
    print(f"| papers | lexical | semantic ({ann}) | hybrid ({ann}) | semantic (exact) "
          "| hybrid (exact) | query embedding |")  # fmt: skip
    print("|---:|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['papers']:,} | {fmt(r['lexical_ms'])} | {fmt(r['semantic_ann_ms'])} "
              f"| {fmt(r['hybrid_ann_ms'])} | {fmt(r['semantic_exact_ms'])} "
              f"| {fmt(r['hybrid_exact_ms'])} | {fmt(r['query_embedding_ms'])} |")  # fmt: skip
    print(f"\n| papers | ANN recall@10 | {ann} alone | exact alone | ingest s | vectors s "
          f"| ANN build s | ANN load s | exact load s | RSS MB: start / {ann} / +queries "
          "/ +exact |")  # fmt: skip
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['papers']:,} | {r['ann_recall_at_10']:.3f} | {fmt(r['ann_only_ms'])} "
              f"| {fmt(r['exact_only_ms'])} | {r['ingest_s']:.0f} | {r['vectors_s']:.0f} "
              f"| {r['ann_build_s']:.1f} | {r['ann_load_s']:.2f} | {r['exact_load_s']:.1f} "
              f"| {r['rss_start_mb']:.0f} / {r['rss_ann_loaded_mb']:.0f} / {r['rss_ann_mb']:.0f} "
              f"/ {r['rss_with_exact_mb']:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
