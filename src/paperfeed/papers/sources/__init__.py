"""Ingestion sources. Each parses its format into `PaperRecord`s (plus `Rejected` and
`Checkpoint` markers) and knows nothing about the database; `papers.upsert` stores them."""
