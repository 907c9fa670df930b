"""Keep the lexical index in step with the papers, in the same transaction; queue the
embeddings of new and changed papers for the worker once that transaction commits."""

from functools import partial

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver

from paperfeed.papers.signals import papers_stored
from paperfeed.search.backends import get_backend


@receiver(papers_stored)
def index_stored_papers(sender, created: list[int], changed: list[int], **kwargs) -> None:
    get_backend().index(created, new=True)
    get_backend().index(changed)
    if settings.PAPERFEED_SEMANTIC and (created or changed):
        from paperfeed.search.tasks import embed_papers_task

        transaction.on_commit(partial(embed_papers_task.enqueue, created + changed))
