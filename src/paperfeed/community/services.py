"""Rules for votes and comments, as plain functions that keep the paper counters exact."""

from django.db import IntegrityError, transaction
from django.db.models import F

from paperfeed.community.models import Comment, Vote
from paperfeed.papers.models import Paper


def upvote(user, paper: Paper) -> bool:
    """Add the user's vote; returns False if it was already there (idempotent)."""
    try:
        with transaction.atomic():
            Vote.objects.create(user=user, paper=paper)
            Paper.objects.filter(pk=paper.pk).update(upvotes=F("upvotes") + 1)
    except IntegrityError:
        return False
    return True


def add_comment(user, paper: Paper, body: str, parent: Comment | None = None) -> Comment:
    with transaction.atomic():
        comment = Comment.objects.create(user=user, paper=paper, body=body, parent=parent)
        Paper.objects.filter(pk=paper.pk).update(num_comments=F("num_comments") + 1)
    return comment
