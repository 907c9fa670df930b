"""Stored paper embeddings: derived data, rebuilt with `paperfeed index --rebuild`."""

import numpy as np
from django.db import models

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
