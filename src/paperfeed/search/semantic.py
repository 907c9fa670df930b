"""Computing and storing embeddings, and semantic search over them."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction

from paperfeed.papers.models import Paper
from paperfeed.search.embeddings import EmbeddingUnavailable, get_embedder, paper_text
from paperfeed.search.models import EmbeddingState, PaperEmbedding
from paperfeed.search.vectors import get_index, store_vectors

log = logging.getLogger(__name__)
BATCH = 256


def available() -> bool:
    if not settings.PAPERFEED_SEMANTIC:
        return False
    try:
        get_embedder()
    except EmbeddingUnavailable:
        return False  # logged once, when loading failed
    return True


def embed_papers(paper_ids: list[int]) -> int:
    """Compute and store embeddings for these papers (replacing older ones)."""
    embedder = get_embedder()
    done = 0
    for start in range(0, len(paper_ids), BATCH):
        papers = list(
            Paper.objects.filter(pk__in=paper_ids[start : start + BATCH]).values_list(
                "pk", "title", "abstract"
            )
        )
        vectors = embedder.encode([paper_text(title, abstract) for _, title, abstract in papers])
        rows = [
            PaperEmbedding(paper_id=pk, model=embedder.name, vector=vector.tobytes())
            for (pk, _, _), vector in zip(papers, vectors, strict=True)
        ]
        with transaction.atomic():
            PaperEmbedding.objects.filter(paper_id__in=[r.paper_id for r in rows]).delete()
            PaperEmbedding.objects.bulk_create(rows)
            store_vectors(
                embedder.name, [(pk, v) for (pk, _, _), v in zip(papers, vectors, strict=True)]
            )
            bump_state(embedder.name)
        done += len(rows)
    return done


def bump_state(model: str) -> None:
    """Record that the model's embeddings changed (call inside the writing transaction)."""
    state, _ = EmbeddingState.objects.select_for_update().get_or_create(model=model)
    # A random token, not a counter: a restored or recreated database must never look
    # like the state a process has already loaded.
    state.version = secrets.randbits(62)
    state.count = PaperEmbedding.objects.filter(model=model).count()
    state.save()


def missing_ids(rebuild: bool = False) -> list[int]:
    """Papers with no embedding from the configured model (all of them with rebuild)."""
    if rebuild:
        return list(Paper.objects.order_by("pk").values_list("pk", flat=True))
    name = get_embedder().name
    done = PaperEmbedding.objects.filter(model=name).values("paper_id")
    return list(Paper.objects.exclude(pk__in=done).order_by("pk").values_list("pk", flat=True))


def embed_all(rebuild: bool = False, progress: Callable[[int, int], None] | None = None) -> int:
    ids = missing_ids(rebuild)
    done = 0
    for start in range(0, len(ids), BATCH * 4):
        done += embed_papers(ids[start : start + BATCH * 4])
        if progress:
            progress(done, len(ids))
    return done


def nearest(text: str, k: int = 100) -> list[tuple[int, float]]:
    return start_nearest(text, k)()


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def start_nearest(text: str, k: int = 100) -> Callable[[], list[tuple[int, float]]]:
    """Start a semantic search on another thread and return the function that waits for
    its hits, so that the caller can run the lexical search meanwhile (hybrid search on
    two cores: the two overlap instead of adding up).

    The other thread only embeds the query and, for an index held in this process,
    searches it; the database is read here, in the calling thread (the index's version
    check), or after the wait (pgvector), so the other thread needs no connection."""
    global _pool
    embedder = get_embedder()
    index = get_index(embedder.name)
    in_process = index.in_process
    if in_process:
        index.refresh()

    def work():
        vector = embedder.encode([text])[0]
        return index.search(vector, k, refresh=False) if in_process else vector

    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(2, thread_name_prefix="semantic")
    future = _pool.submit(work)

    def finish() -> list[tuple[int, float]]:
        result = future.result()
        return result if in_process else index.search(result, k)

    return finish


def similar_to(paper: Paper, k: int = 10) -> list[tuple[int, float]]:
    embedder = get_embedder()
    row = PaperEmbedding.objects.filter(paper=paper, model=embedder.name).first()
    if row is None:
        return []
    hits = get_index(embedder.name).search(row.as_array(), k + 1)
    return [(pk, score) for pk, score in hits if pk != paper.pk][:k]
