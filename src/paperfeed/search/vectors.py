"""Nearest-neighbour search over paper embeddings, behind one small interface.

`ExactIndex` is brute force over all vectors in memory (numpy, one matrix product); it
is the reference the approximate indexes are measured against, and fine up to ~100k
papers. It reloads itself when the stored embeddings change.
"""

from __future__ import annotations

import threading

import numpy as np
from django.db.models import Count, Max

from paperfeed.search.models import PaperEmbedding


class VectorIndex:
    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        raise NotImplementedError


class ExactIndex(VectorIndex):
    _lock = threading.Lock()

    def __init__(self, model: str):
        self.model = model
        self.version: tuple | None = None
        self.ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)

    def _current_version(self) -> tuple:
        stats = PaperEmbedding.objects.filter(model=self.model).aggregate(
            n=Count("paper_id"), latest=Max("created_at")
        )
        return stats["n"], stats["latest"]

    def refresh(self) -> None:
        version = self._current_version()
        if version == self.version:
            return
        with self._lock:
            rows = PaperEmbedding.objects.filter(model=self.model).values_list("paper_id", "vector")
            ids, vectors = [], []
            for paper_id, vector in rows.iterator(chunk_size=5_000):
                ids.append(paper_id)
                vectors.append(np.frombuffer(vector, dtype=np.float32))
            self.ids = np.asarray(ids, dtype=np.int64)
            self.matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
            self.version = version

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        self.refresh()
        if not len(self.ids):
            return []
        scores = self.matrix @ vector
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


_indexes: dict[str, ExactIndex] = {}


def get_index(model: str) -> VectorIndex:
    if model not in _indexes:
        _indexes[model] = ExactIndex(model)
    return _indexes[model]
