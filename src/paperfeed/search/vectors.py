"""Nearest-neighbour search over paper embeddings, behind one small interface.

- `ExactIndex`: brute force over all vectors in memory (numpy, one matrix product). The
  reference the approximate index is measured against; exact and fast below ~50k papers.
- `UsearchIndex`: an HNSW graph (usearch) with half-precision vectors, persisted under
  PAPERFEED_HOME by `paperfeed index` so that every process loads it in a moment and adds
  only what was embedded since.
- `PgvectorIndex`: on PostgreSQL, pgvector's HNSW index inside the database (one partial
  index per model), so every web process on every machine shares one index.
All follow the stored embeddings: a cheap version check before each search.
PAPERFEED_VECTOR_INDEX picks one: exact, usearch, pgvector, or auto (pgvector on
PostgreSQL; on SQLite exact below 50k vectors, usearch from there).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from paperfeed.search.models import EmbeddingState, PaperEmbedding, PaperVector

AUTO_THRESHOLD = 50_000
PGVECTOR_MAX_EF = 1_000  # hnsw.ef_search's upper limit
Neighbour = tuple[int, float]  # (paper id, cosine similarity)


def expansion_search(count: int) -> int:
    """HNSW's search breadth (ef_search) for a graph of `count` vectors:
    PAPERFEED_VECTOR_EF_SEARCH, or with "auto" 128 up to 100,000 vectors and in proportion
    beyond, up to 1,024 (from 800,000). Measured on synthetic MiniLM-like vectors with
    m = 16 (docs/benchmarks.md, "ANN recall"): recall@10 0.98 at 100k with 128, and at 1M
    0.80 with 128, 0.94 with 512, 0.97 with 1,024."""
    chosen = settings.PAPERFEED_VECTOR_EF_SEARCH
    if chosen != "auto":
        return int(chosen)
    return max(128, min(1024, round(128 * count / 100_000)))


class VectorIndex:
    in_process = True  # searched in this process's memory (no database access)

    def __init__(self, model: str):
        self.model = model
        self.version: tuple | None = None

    def _current_version(self) -> tuple:
        """(count, version) of the stored embeddings: one primary-key read."""
        state = EmbeddingState.objects.filter(model=self.model).values_list("count", "version")
        return state.first() or (0, 0)

    def refresh(self) -> None:
        """Catch up with the stored embeddings (reads the database)."""

    def search(
        self, vector: np.ndarray, k: int, *, refresh: bool = True
    ) -> list[tuple[int, float]]:
        """The k nearest papers, (id, cosine) best first. `refresh=False`: skip the version
        check (no database access; for a search on another thread)."""
        raise NotImplementedError


class ExactIndex(VectorIndex):
    _lock = threading.Lock()

    def __init__(self, model: str):
        super().__init__(model)
        self.ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)

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

    def search(
        self, vector: np.ndarray, k: int, *, refresh: bool = True
    ) -> list[tuple[int, float]]:
        if refresh:
            self.refresh()
        if not len(self.ids):
            return []
        scores = self.matrix @ vector
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


class UsearchIndex(VectorIndex):
    DTYPE = "f16"

    def __init__(self, model: str):
        super().__init__(model)
        self.CONNECTIVITY = settings.PAPERFEED_VECTOR_M
        self.EXPANSION_ADD = settings.PAPERFEED_VECTOR_EF_CONSTRUCTION
        self.index = None
        self.watermark: datetime | None = None
        self.lock = threading.Lock()
        slug = re.sub(r"[^a-zA-Z0-9]+", "-", model).strip("-")
        self.path = Path(settings.HOME) / "vectors" / f"{slug}.usearch"

    def _new(self, ndim: int):
        from usearch.index import Index

        return Index(
            ndim=ndim,
            metric="ip",  # vectors are normalised: inner product = cosine
            dtype=self.DTYPE,
            connectivity=self.CONNECTIVITY,
            expansion_add=self.EXPANSION_ADD,
        )

    def _rows(self, since: datetime | None):
        rows = PaperEmbedding.objects.filter(model=self.model)
        if since is not None:
            rows = rows.filter(created_at__gt=since)
        return rows.order_by("created_at").values_list("paper_id", "vector", "created_at")

    def _apply(self, since: datetime | None, batch: int = 20_000) -> None:
        keys, vectors = [], []

        def flush():
            if not keys:
                return
            matrix = np.vstack(vectors)
            if self.index is None:
                self.index = self._new(matrix.shape[1])
            stale = [k for k in keys if self.index.contains(k)]
            if stale:
                self.index.remove(stale)
            self.index.add(np.asarray(keys, dtype=np.uint64), matrix)
            keys.clear()
            vectors.clear()

        for paper_id, vector, created in self._rows(since).iterator(chunk_size=5_000):
            keys.append(paper_id)
            vectors.append(np.frombuffer(vector, dtype=np.float32))
            self.watermark = created
            if len(keys) >= batch:
                flush()
        flush()

    def _load(self) -> bool:
        meta = self.path.with_suffix(".json")
        if not (self.path.exists() and meta.exists()):
            return False
        from usearch.index import Index

        info = json.loads(meta.read_text())
        if info.get("model") != self.model or info.get("graph") != self._graph():
            return False  # another model, or a graph built with other parameters
        self.index = Index.restore(str(self.path))
        self.watermark = datetime.fromisoformat(info["watermark"]) if info["watermark"] else None
        return True

    def _graph(self) -> dict:
        return {"connectivity": self.CONNECTIVITY, "expansion_add": self.EXPANSION_ADD,
                "dtype": self.DTYPE}  # fmt: skip

    def refresh(self, *, from_file: bool = True) -> None:
        version = self._current_version()
        if version == self.version:
            return
        with self.lock:
            if self.index is None and not (from_file and self._load()):
                self._apply(None)
            else:
                self._apply(self.watermark)
            if self.index is not None and len(self.index) != version[0]:
                self.index, self.watermark = None, None  # deletions: start again
                self._apply(None)
            if self.index is not None:
                self.index.expansion_search = expansion_search(len(self.index))
            self.version = version

    def save(self) -> Path:
        """Build from the stored embeddings (not from an older file, which may hold a graph
        built with other parameters) and write the file processes start from."""
        self.index, self.watermark, self.version = None, None, None
        self.refresh(from_file=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.index is not None:
            temporary = self.path.with_suffix(".tmp")
            self.index.save(str(temporary))
            temporary.replace(self.path)
            watermark = self.watermark.isoformat() if self.watermark else None
            self.path.with_suffix(".json").write_text(
                json.dumps({"model": self.model, "watermark": watermark, "graph": self._graph()})
            )
        return self.path

    def search(
        self, vector: np.ndarray, k: int, *, refresh: bool = True
    ) -> list[tuple[int, float]]:
        if refresh:
            self.refresh()
        index = self.index
        if index is None or not len(index):
            return []
        matches = index.search(vector.astype(np.float32), min(k, len(index)))
        return [
            (int(key), 1.0 - float(distance))
            for key, distance in zip(matches.keys, matches.distances, strict=True)
        ]


def literal(vector: np.ndarray) -> str:
    """A vector as pgvector's text form, '[0.1,0.2,...]'."""
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


class PgvectorIndex(VectorIndex):
    """pgvector HNSW on PostgreSQL: vectors live in `search_paper_vector`, written with
    the embeddings (`semantic.embed_papers`); the index is PostgreSQL's own, kept up to
    date by PostgreSQL on every insert."""

    in_process = False

    def __init__(self, model: str):
        super().__init__(model)
        self.CONNECTIVITY = settings.PAPERFEED_VECTOR_M  # HNSW m
        self.EXPANSION_ADD = settings.PAPERFEED_VECTOR_EF_CONSTRUCTION  # ef_construction
        self.ndim = 0
        digest = hashlib.sha1(model.encode()).hexdigest()[:10]
        self.index_name = f"search_paper_vector_hnsw_{digest}"

    def _dimension(self) -> int:
        row = PaperEmbedding.objects.filter(model=self.model).values_list("vector", flat=True)
        first = row.first()
        return len(first) // 4 if first else 0

    def _backfill(self) -> int:
        """Copy embeddings that have no pgvector row yet (an instance that embedded its
        papers before this index existed). Returns how many were copied."""
        # NOT EXISTS, which PostgreSQL runs as one hashed anti-join; NOT IN (a subquery)
        # became a loop over every copy for each embedding once the ids outgrew work_mem
        # (not done after 9 minutes at 1M papers).
        copied_already = PaperVector.objects.filter(model=self.model, paper_id=OuterRef("paper_id"))
        missing = PaperEmbedding.objects.filter(model=self.model).exclude(Exists(copied_already))
        copied, batch = 0, []
        for paper_id, vector in missing.values_list("paper_id", "vector").iterator(2_000):
            embedding = np.frombuffer(vector, dtype=np.float32)
            batch.append(PaperVector(paper_id=paper_id, model=self.model, embedding=embedding))
            if len(batch) >= 2_000:
                copied += len(PaperVector.objects.bulk_create(batch, ignore_conflicts=True))
                batch = []
        if batch:
            copied += len(PaperVector.objects.bulk_create(batch, ignore_conflicts=True))
        return copied

    def _ensure_index(self, count: int) -> None:
        from psycopg import sql

        connection.ensure_connection()
        model = sql.Literal(self.model).as_string(connection.connection)  # DDL takes no params
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [self.index_name])
            if cursor.fetchone()[0] is not None:
                return
            # pgvector builds fast (and in parallel) while the graph fits in
            # maintenance_work_mem, and far slower once it spills: give the build what the
            # graph needs (vector + neighbour lists, about 4 * ndim + 512 bytes a row), up
            # to PAPERFEED_PGVECTOR_BUILD_MEMORY_MB, for this transaction only.
            need = int(count * (4 * self.ndim + 512) * 1.25 / 2**20) + 64
            memory = max(64, min(need, settings.PAPERFEED_PGVECTOR_BUILD_MEMORY_MB))
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{memory}MB'")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {self.index_name} ON search_paper_vector "
                f"USING hnsw ((embedding::vector({self.ndim})) vector_ip_ops) "
                f"WITH (m = {self.CONNECTIVITY}, ef_construction = {self.EXPANSION_ADD}) "
                f"WHERE model = {model}"
            )

    def refresh(self) -> None:
        version = self._current_version()
        if version == self.version:
            return
        self.ndim = self._dimension()
        if self.ndim:
            # A count (tens of ms at 1M) spares the anti-join over every embedding (seconds)
            # in the usual case: every embedding has its copy.
            if PaperVector.objects.filter(model=self.model).count() < version[0]:
                self._backfill()
            self._ensure_index(version[0])
        self.version = version

    def search(self, vector: np.ndarray, k: int, *, refresh: bool = True) -> list[Neighbour]:
        self.refresh()  # always: this search reads the database anyway
        if not self.ndim:
            return []
        ndim = self.ndim
        with transaction.atomic(), connection.cursor() as cursor:
            # pgvector takes 1 to 1,000 (an error beyond: the auto value at 1M is 1,024).
            ef = min(
                PGVECTOR_MAX_EF,
                max(expansion_search(self.version[0] if self.version else 0), int(k)),
            )
            cursor.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            # The same expression as the index's, and the model as a literal the planner
            # can match against the partial index's WHERE.
            cursor.execute(
                f"SELECT paper_id, (embedding::vector({ndim})) <#> %s::vector({ndim}) AS d "
                "FROM search_paper_vector WHERE model = %s ORDER BY d LIMIT %s",
                [literal(vector), self.model, int(k)],
            )
            # <#> is the negative inner product; vectors are normalised (cosine).
            return [(int(pk), -float(distance)) for pk, distance in cursor.fetchall()]


def store_vectors(model: str, rows: list[tuple[int, np.ndarray]]) -> None:
    """Write pgvector copies of freshly stored embeddings (PostgreSQL only; call inside
    the transaction that stores the embeddings)."""
    if connection.vendor != "postgresql" or not rows:
        return
    PaperVector.objects.filter(paper_id__in=[pk for pk, _ in rows]).delete()
    PaperVector.objects.bulk_create(
        [PaperVector(paper_id=pk, model=model, embedding=vector) for pk, vector in rows]
    )


_indexes: dict[tuple[str, str], VectorIndex] = {}
KINDS = {"exact": ExactIndex, "usearch": UsearchIndex, "pgvector": PgvectorIndex}


def index_kind(model: str) -> str:
    kind = settings.PAPERFEED_VECTOR_INDEX
    if kind not in {"auto", *KINDS}:
        raise ImproperlyConfigured(
            f"PAPERFEED_VECTOR_INDEX must be auto, exact, usearch or pgvector, not {kind!r}"
        )
    if kind == "pgvector" and connection.vendor != "postgresql":
        raise ImproperlyConfigured("PAPERFEED_VECTOR_INDEX=pgvector needs PostgreSQL")
    if kind == "auto":
        if connection.vendor == "postgresql":
            return "pgvector"
        count = EmbeddingState.objects.filter(model=model).values_list("count", flat=True).first()
        return "usearch" if (count or 0) >= AUTO_THRESHOLD else "exact"
    return kind


def get_index(model: str, kind: str | None = None) -> VectorIndex:
    kind = kind or index_kind(model)
    if (model, kind) not in _indexes:
        _indexes[(model, kind)] = KINDS[kind](model)
    return _indexes[(model, kind)]
