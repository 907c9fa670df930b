"""Signals other apps listen to, so that papers never imports them."""

from django.dispatch import Signal

# Sent inside the storing transaction with `paper_ids`: papers whose title, abstract or
# authors were created or changed (the search index and embeddings derive from those).
papers_stored = Signal()
