"""Signals other apps listen to, so that papers never imports them."""

from django.dispatch import Signal

# Sent inside the storing transaction with `created` and `changed`: ids of new papers and
# of papers whose metadata changed (the search index and embeddings derive from those).
papers_stored = Signal()
