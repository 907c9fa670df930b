"""Synthetic sentence-embedding vectors for latency and ANN-recall benchmarks at sizes
where embedding real text would take hours (1M abstracts at ~20/s is 14 hours).

Why not Gaussian noise: isotropic or clustered Gaussian vectors in 384 dimensions have a
local intrinsic dimension near 50, real MiniLM embeddings of abstracts about 17 (SciFact:
see below). HNSW is much worse on the former (recall@10 0.60 at 100k with the old
generator), so such vectors measure the generator, not the index.

The model, fitted to the real all-MiniLM-L6-v2 embeddings of the 5,183 SciFact abstracts
(`bench/ann_recall.py --save`, then `python bench/synthetic_vectors.py --fit NPZ`):

    x = mean + super-topic centre + topic offset + topic basis @ z + noise,  normalised

- `mean`: a fixed direction with the real corpus mean's length (0.36: sentence embeddings
  are anisotropic);
- every random part is shaped by the real covariance: Gaussian vectors multiplied by
  V diag(sqrt(eigenvalues)) with the 384 real eigenvalues and a random orthogonal basis V
  (inner-product search does not see a rotation). Shares of that covariance: super-topic
  centres 0.15, topic offsets 0.15, the topic's own low-rank part 0.30, noise 0.40;
- topics: one per 60 papers, so the number of topics grows with the corpus (neighbourhoods
  keep their density: the conservative choice), grouped 20 to a super-topic; each topic
  has its own random rank-6 basis (papers of a topic vary along a few directions: that is
  what lowers the local dimension);
- probes (query stand-ins): drawn the same way with 0.2 of the low-rank share moved to the
  noise, as claims sit further from the papers than papers from each other.

The shares, the topic size and the rank were chosen by a small grid search matching, at
n = 5,183, the real data's nearest-neighbour similarities, local intrinsic dimension and
HNSW recall at deliberately weak settings (M 4 and 8, ef 10 and 16). `--fit` prints that
comparison, also on real subsamples of 1/4 and 1/2 (the only check of how recall changes
with n that the real data allows). What it cannot show is that the behaviour carries to
1M papers; that is an assumption (topic count proportional to n), stated as such beside
the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

PARAMS = Path(__file__).with_name("synthetic_vectors.json")
SHAPE = {
    "per_topic": 60,
    "rank": 6,
    "super_share": 0.15,
    "topic_share": 0.15,
    "noise_share": 0.40,  # the low-rank share is what is left: 0.30
    "topics_per_super": 20,
    "probe_extra_noise": 0.20,
}
BLOCK = 10_000


class Generator:
    """Deterministic for (seed, n): `docs(start, stop)` gives the same rows whatever the
    slicing, so a million vectors can be written a chunk at a time."""

    def __init__(self, seed: int, n: int, params: dict | None = None):
        params = params or json.loads(PARAMS.read_text())
        shape = {**SHAPE, **params.get("shape", {})}
        self.shape, self.seed = shape, seed
        spectrum = np.asarray(params["spectrum"], dtype=np.float64).clip(min=0)
        dim = len(spectrum)
        rng = np.random.default_rng([seed, 1])
        basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        self.shaper = (basis * np.sqrt(spectrum)).T.astype(np.float32)  # z @ shaper
        direction = rng.standard_normal(dim)
        self.mean = (params["mean_norm"] * direction / np.linalg.norm(direction)).astype(np.float32)
        self.dim = dim
        topics = max(1, n // shape["per_topic"])
        supers = max(1, topics // shape["topics_per_super"])
        super_centres = self._shaped(rng, supers) * np.sqrt(shape["super_share"])
        self.centres = super_centres[rng.integers(0, supers, topics)] + self._shaped(
            rng, topics
        ) * np.sqrt(shape["topic_share"])
        rank = shape["rank"]
        # Each topic's own directions: (topics, rank, dim), shaped like the covariance.
        self.bases = (
            self._shaped(rng, topics * rank).reshape(topics, rank, dim) / np.sqrt(rank)
        ).astype(np.float32)
        self.local = 1.0 - shape["super_share"] - shape["topic_share"] - shape["noise_share"]

    def _shaped(self, rng: np.random.Generator, m: int) -> np.ndarray:
        return rng.standard_normal((m, self.dim), dtype=np.float32) @ self.shaper

    def _draw(self, rng: np.random.Generator, m: int, local: float, noise: float) -> np.ndarray:
        topic = rng.integers(0, len(self.centres), m)
        x = self.centres[topic] + self.mean
        z = rng.standard_normal((m, self.shape["rank"]), dtype=np.float32)
        for start in range(0, m, 2_000):  # the gathered bases are rank x dim per row
            part = slice(start, start + 2_000)
            x[part] += np.einsum("nr,nrd->nd", z[part], self.bases[topic[part]]) * np.sqrt(local)
        x += self._shaped(rng, m) * np.sqrt(noise)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)

    def docs(self, start: int, stop: int) -> np.ndarray:
        out = []
        for block in range(start // BLOCK, -(-stop // BLOCK)):
            rng = np.random.default_rng([self.seed, 2, block])
            rows = self._draw(rng, BLOCK, self.local, self.shape["noise_share"])
            lo, hi = max(start, block * BLOCK) - block * BLOCK, min(stop, (block + 1) * BLOCK)
            out.append(rows[lo : hi - block * BLOCK])
        return np.vstack(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def probes(self, m: int, seed: int = 1) -> np.ndarray:
        extra = min(self.shape["probe_extra_noise"], self.local)
        rng = np.random.default_rng([self.seed, 3, seed])
        return self._draw(rng, m, self.local - extra, self.shape["noise_share"] + extra)


# --- fitting and validation against real embeddings ------------------------------------


def fit(docs: np.ndarray) -> dict:
    mean = docs.mean(axis=0)
    spectrum = np.linalg.eigvalsh(np.cov((docs - mean).T))[::-1].clip(min=0)
    return {
        "source": "all-MiniLM-L6-v2 int8 embeddings of the SciFact corpus (5,183 abstracts), "
        "bench/ann_recall.py --save",
        "mean_norm": round(float(np.linalg.norm(mean)), 5),
        "spectrum": [float(f"{v:.6g}") for v in spectrum],
        "shape": SHAPE,
    }


def describe(docs: np.ndarray, probes: np.ndarray) -> dict[str, float]:
    """Neighbour similarities, local intrinsic dimension (MLE over the 20 nearest) and HNSW
    recall@10 at weak settings, for paper probes (500 stored vectors, themselves excluded)
    and query probes."""
    from usearch.index import Index

    pick = np.random.default_rng(1).choice(len(docs), min(500, len(docs) - 1), replace=False)
    own = docs[pick] @ docs.T
    own[np.arange(len(pick)), pick] = -9
    sets = {"paper": (docs[pick], np.sort(own, axis=1)[:, ::-1][:, :20]),
            "query": (probes, np.sort(probes @ docs.T, axis=1)[:, ::-1][:, :20])}  # fmt: skip
    out = {}
    for name, (_, top) in sets.items():
        radius = np.sqrt(np.maximum(2 - 2 * top, 1e-12))
        lid = -1 / np.mean(np.log(radius[:, :19] / radius[:, 19:20]), axis=1)
        out[f"{name} top-1 cos"] = float(top[:, 0].mean())
        out[f"{name} 10th cos"] = float(top[:, 9].mean())
        out[f"{name} LID"] = float(np.median(lid))
    for m, ef in [(4, 16), (8, 10), (8, 16)]:
        index = Index(ndim=docs.shape[1], metric="ip", dtype="f32", connectivity=m,
                      expansion_add=64, expansion_search=ef)  # fmt: skip
        index.add(np.arange(len(docs)), docs, threads=1)  # one thread: reproducible
        for name, (points, _) in sets.items():
            truth = np.argsort(-(points @ docs.T), axis=1)[:, :10]
            found = index.search(points, 10).keys
            hits = sum(len(set(a) & set(b)) for a, b in zip(found, truth, strict=True))
            out[f"{name} recall M{m} ef{ef}"] = hits / (10 * len(points))
    return out


def scale(sizes: list[int], grid: list[tuple[str, int, int]], efs: list[int]) -> None:
    """usearch alone on generated vectors: build time and recall@10 against numpy's exact
    top 10 for 200 probes, over a grid of parameters (for tuning, without the database)."""
    import time

    from usearch.index import Index

    print("| papers | dtype | M | ef_construction | build s | ef_search | recall@10 | ms/query |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        generator = Generator(seed=0, n=n)
        docs = np.vstack([generator.docs(s, min(n, s + 100_000)) for s in range(0, n, 100_000)])
        probes = generator.probes(200)
        truth = np.argsort(-(probes @ docs.T), axis=1)[:, :10]
        for dtype, m, ef_add in grid:
            index = Index(ndim=docs.shape[1], metric="ip", dtype=dtype, connectivity=m,
                          expansion_add=ef_add)  # fmt: skip
            started = time.perf_counter()
            index.add(np.arange(n), docs)
            build = time.perf_counter() - started
            for ef in efs:
                index.expansion_search = ef
                hits, times = 0, []
                for probe, true in zip(probes, truth, strict=True):
                    t0 = time.perf_counter()
                    found = index.search(probe, 10).keys
                    times.append(time.perf_counter() - t0)
                    hits += len(set(found) & set(true))
                median = 1000 * sorted(times)[100]
                print(f"| {n:,} | {dtype} | {m} | {ef_add} | {build:.0f} | {ef} "
                      f"| {hits / 2000:.3f} | {median:.2f} |", flush=True)  # fmt: skip
            del index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, help="npz from ann_recall --save")
    parser.add_argument("--write", action="store_true", help=f"write {PARAMS.name}")
    parser.add_argument("--scale", help="sizes for usearch alone, e.g. 100000,1000000")
    parser.add_argument("--grid", default="f16:16:128",
                        help="dtype:M:ef_construction,... for --scale")  # fmt: skip
    parser.add_argument("--expansion-search", default="64,128,256")
    args = parser.parse_args()
    if args.scale:
        grid = [(d, int(m), int(e)) for d, m, e in (g.split(":") for g in args.grid.split(","))]
        scale([int(n) for n in args.scale.split(",")], grid,
              [int(e) for e in args.expansion_search.split(",")])  # fmt: skip
        return 0
    if not args.fit:
        parser.error("--fit or --scale")
    saved = np.load(args.fit)
    docs, claims = saved["docs"], saved["claims"]
    params = fit(docs)
    if args.write:
        PARAMS.write_text(json.dumps(params, indent=1) + "\n")
        print(f"wrote {PARAMS}", file=sys.stderr)
    spectrum = np.asarray(params["spectrum"])
    print(f"real: mean length {params['mean_norm']:.3f}, covariance trace {spectrum.sum():.3f}, "
          f"participation ratio {spectrum.sum() ** 2 / (spectrum**2).sum():.1f}\n")  # fmt: skip
    rows = []
    rng = np.random.default_rng(0)
    for n in (len(docs) // 4, len(docs) // 2, len(docs)):
        sub = docs[np.sort(rng.choice(len(docs), n, replace=False))]
        generator = Generator(seed=0, n=n, params=params)
        synthetic = generator.docs(0, n)
        rows.append((f"real, n={n:,}", describe(sub, claims)))
        rows.append((f"synthetic, n={n:,}", describe(synthetic, generator.probes(len(claims)))))
    keys = list(rows[0][1])
    print("| measure | " + " | ".join(name for name, _ in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{values[key]:.3f}" for _, values in rows) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
