"""Stored paper embeddings: derived data, rebuilt with `paperfeed index --rebuild`."""

import numpy as np
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField

from paperfeed.papers.models import Paper


class PaperEmbedding(models.Model):
    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="embedding"
    )
    model = models.CharField(max_length=200, help_text="the embedder that made the vector")
    vector = models.BinaryField(help_text="float32, L2-normalised")
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"embedding of {self.paper_id} ({self.model})"

    def as_array(self) -> np.ndarray:
        return np.frombuffer(self.vector, dtype=np.float32)


class EmbeddingState(models.Model):
    """One row per model: bumped whenever its embeddings change, so that each process can
    tell in one primary-key read whether its vector index is behind."""

    model = models.CharField(max_length=200, primary_key=True)
    version = models.PositiveBigIntegerField(default=0, help_text="random token per change")
    count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.model} v{self.version} ({self.count} vectors)"


class PaperDocument(models.Model):
    """The PostgreSQL engine's weighted tsvector of a paper (search/backends/postgres.py).

    A model, not a raw table, so that Django knows the table (flush, cascades); on SQLite
    it stays empty, the FTS5 table plays its part there.
    """

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    document = SearchVectorField()

    class Meta:
        db_table = "search_paper_tsv"

    def __str__(self) -> str:
        return f"search document of {self.paper_id}"


class PaperVector(models.Model):
    """PostgreSQL's copy of the embeddings as pgvector values, searched through an HNSW
    index (`vectors.PgvectorIndex`). Written beside `PaperEmbedding` on PostgreSQL; on
    SQLite it stays empty (the usearch and exact indexes read `PaperEmbedding`)."""

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    model = models.CharField(max_length=200)
    # No fixed dimension, so that any configured model fits; the HNSW index casts to the
    # model's dimension (one partial index per model).
    embedding = VectorField()

    class Meta:
        db_table = "search_paper_vector"

    def __str__(self) -> str:
        return f"vector of {self.paper_id} ({self.model})"
