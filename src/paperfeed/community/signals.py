"""Keep the paper counters exact when a member is deleted (their votes and comments go
with them by cascade, which bypasses the services that maintain the counters)."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from paperfeed.community.models import Comment, Vote
from paperfeed.community.services import recount

User = get_user_model()


@receiver(pre_delete, sender=User)
def remember_touched_papers(sender, instance, **kwargs) -> None:
    voted = Vote.objects.filter(user=instance).values_list("paper_id", flat=True)
    commented = Comment.objects.filter(user=instance).values_list("paper_id", flat=True)
    instance._touched_papers = set(voted) | set(commented)


@receiver(post_delete, sender=User)
def recount_touched_papers(sender, instance, **kwargs) -> None:
    papers = list(getattr(instance, "_touched_papers", ()))
    if papers:
        transaction.on_commit(lambda: recount(papers))
