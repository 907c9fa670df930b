"""Keep the lexical index in step with the papers, in the same transaction."""

from django.dispatch import receiver

from paperfeed.papers.signals import papers_stored
from paperfeed.search.backends import get_backend


@receiver(papers_stored)
def index_stored_papers(sender, created: list[int], changed: list[int], **kwargs) -> None:
    get_backend().index(created, new=True)
    get_backend().index(changed)
