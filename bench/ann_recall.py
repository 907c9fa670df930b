"""ANN recall@10 on real embeddings: the SciFact corpus embedded with the real model,
its claims' embeddings as probes, usearch (SQLite) or pgvector (PostgreSQL) against exact
search, over a grid of HNSW parameters.

    python bench/ann_recall.py --dataset ../shared/data/scifact [--engine sqlite|postgres]
        [--save bench/out/scifact-embeddings.npz]

The corpus goes in through the normal path (records -> `store_batch`, then
`semantic.embed_all`, as bench/search_quality.py does) into a fresh instance. Two probe
sets: the claims (what a search sends) and 500 stored papers' own vectors (what "similar
papers" sends; the paper itself counts as a neighbour here, for both indexes alike).
Recall@10 = |ANN top 10 ∩ exact top 10| / 10, averaged over probes. `--save` writes the
document and claim vectors, which `bench/synthetic_vectors.py --fit` fits its generator to.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))


def recall(approx: list[list[int]], truth: list[list[int]], k: int = 10) -> float:
    hits = sum(len(set(a[:k]) & set(t[:k])) for a, t in zip(approx, truth, strict=True))
    return hits / (k * len(truth))


def timed_search(index, probes, k: int = 10) -> tuple[list[list[int]], float]:
    """(ids per probe, median ms per probe)."""
    out, times = [], []
    for probe in probes:
        t0 = time.perf_counter()
        out.append([pk for pk, _ in index.search(probe, k)])
        times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return out, times[len(times) // 2]


def store_saved(model: str, ids, docs) -> None:
    """Store vectors saved by an earlier run, as `semantic.embed_papers` stores them."""
    from django.db import transaction

    from paperfeed.search import semantic
    from paperfeed.search.models import PaperEmbedding
    from paperfeed.search.vectors import store_vectors

    rows = list(zip((int(pk) for pk in ids), docs, strict=True))
    with transaction.atomic():
        PaperEmbedding.objects.bulk_create(
            [PaperEmbedding(paper_id=pk, model=model, vector=v.tobytes()) for pk, v in rows]
        )
        store_vectors(model, rows)
        semantic.bump_state(model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=REPO.parent / "shared" / "data" / "scifact")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--connectivity", default="8,16,32", help="HNSW M values")
    parser.add_argument("--expansion-add", default="64,128", help="ef_construction values")
    parser.add_argument("--expansion-search", default="16,32,64,128", help="ef_search values")
    parser.add_argument("--dtype", default="f16", help="usearch scalar type(s): f16,f32")
    parser.add_argument("--save", type=Path, help="write doc and claim vectors (.npz)")
    parser.add_argument(
        "--vectors", type=Path, help="store these saved vectors (from --save), not embed"
    )
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="paperfeed-bench-ann-")
    os.environ["PAPERFEED_HOME"] = home
    if args.engine == "postgres":
        import pgserver

        server = pgserver.get_server(Path(home) / "pg", cleanup_mode="delete")
        server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
        os.environ["DATABASE_URL"] = server.get_uri()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from search_quality import ingest, load

    from paperfeed.search import semantic, vectors
    from paperfeed.search.embeddings import get_embedder

    call_command("migrate", verbosity=0)
    corpus, queries, _ = load(args.dataset, "train")
    started = time.perf_counter()
    ingest(corpus)
    print(f"ingested {len(corpus):,} documents in {time.perf_counter() - started:.1f}s",
          file=sys.stderr)  # fmt: skip
    embedder = get_embedder()
    if args.vectors:
        saved = np.load(args.vectors)
        store_saved(embedder.name, saved["ids"], saved["docs"])
        claims = saved["claims"]
    else:
        started = time.perf_counter()
        embedded = semantic.embed_all(rebuild=True)
        seconds = time.perf_counter() - started
        print(f"embedded {embedded:,} documents in {seconds:.0f}s ({embedded / seconds:.1f}/s)",
              file=sys.stderr)  # fmt: skip
        claims = embedder.encode(list(queries.values()))

    exact = vectors.get_index(embedder.name, "exact")
    exact.refresh()
    rng = np.random.default_rng(0)
    own = exact.matrix[rng.choice(len(exact.ids), 500, replace=False)]
    probe_sets = {"claims": claims, "papers": own}
    truth = {name: timed_search(exact, probes) for name, probes in probe_sets.items()}
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.save, ids=exact.ids, docs=exact.matrix, claims=claims)
        print(f"saved {args.save}", file=sys.stderr)

    print(f"\n{args.engine}: {len(exact.ids):,} SciFact abstracts, {len(claims)} claims, "
          f"500 paper probes; exact search median {truth['claims'][1]:.2f} ms\n")  # fmt: skip
    print("| index | M | ef_construction | build s | ef_search | recall@10 claims "
          "| recall@10 papers | median ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    kind = "usearch" if args.engine == "sqlite" else "pgvector"
    grid = itertools.product(
        args.dtype.split(",") if kind == "usearch" else ["f32"],
        [int(x) for x in args.connectivity.split(",")],
        [int(x) for x in args.expansion_add.split(",")],
    )
    for dtype, m, ef_add in grid:
        cls = vectors.UsearchIndex if kind == "usearch" else vectors.PgvectorIndex
        index = cls(embedder.name)
        index.CONNECTIVITY, index.EXPANSION_ADD, index.DTYPE = m, ef_add, dtype
        started = time.perf_counter()
        if kind == "usearch":
            index.save()
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP INDEX IF EXISTS {index.index_name}")
            index.refresh()
        build = time.perf_counter() - started
        for ef in [int(x) for x in args.expansion_search.split(",")]:
            settings.PAPERFEED_VECTOR_EF_SEARCH = str(ef)
            if kind == "usearch":
                index.index.expansion_search = ef
            results = {}
            for name, probes in probe_sets.items():
                if kind == "pgvector":
                    # 5k rows: the planner would scan the table (exact); measure the index.
                    with connection.cursor() as cursor:
                        cursor.execute("SET enable_seqscan = off")
                results[name] = timed_search(index, probes)
            print(f"| {kind} {dtype} | {m} | {ef_add} | {build:.1f} | {ef} "
                  f"| {recall(results['claims'][0], truth['claims'][0]):.4f} "
                  f"| {recall(results['papers'][0], truth['papers'][0]):.4f} "
                  f"| {results['claims'][1]:.2f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
