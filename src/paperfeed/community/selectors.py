"""What pages need to know about the community around papers, in a bounded number of
queries: the viewer's votes, the discussion, collections and verified authors."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q

from paperfeed.community.models import AuthorClaim, Collection, CollectionItem, Comment, Vote
from paperfeed.papers.models import Paper


def voted_ids(user, paper_ids: Iterable[int]) -> set[int]:
    """Which of these papers (by primary key) the user has upvoted: one query."""
    if not user.is_authenticated:
        return set()
    return set(
        Vote.objects.filter(user=user, paper_id__in=list(paper_ids)).values_list(
            "paper_id", flat=True
        )
    )


def discussion(user, paper: Paper) -> list[Comment]:
    """Top-level comments in order, each with `.shown_replies`: one query.

    Moderators see everything (hidden comments marked as such). Others do not see hidden
    replies; a hidden or deleted top-level comment shows only as a placeholder, and only
    while it has replies they can see.
    """
    moderator = user.is_authenticated and user.is_staff
    rows = list(Comment.objects.filter(paper=paper).select_related("user"))
    threads = {}
    for comment in rows:
        comment.shown_replies = []
        if comment.parent_id is None:
            threads[comment.pk] = comment
    for comment in rows:
        parent = threads.get(comment.parent_id)
        if parent is not None and (moderator or not comment.hidden):
            parent.shown_replies.append(comment)
    return [c for c in threads.values() if moderator or c.is_visible or c.shown_replies]


def user_collections(user, paper: Paper) -> list[Collection]:
    """The user's collections, each with `.has_paper`: one query."""
    if not user.is_authenticated:
        return []
    in_it = CollectionItem.objects.filter(collection=OuterRef("pk"), paper=paper)
    return list(Collection.objects.filter(owner=user).annotate(has_paper=Exists(in_it)))


def public_collections(paper: Paper, limit: int = 20) -> list[Collection]:
    """Public collections that hold the paper, most recently changed first: one query."""
    return list(
        Collection.objects.filter(is_public=True, items__paper=paper).select_related("owner")[
            :limit
        ]
    )


def paper_page(user, paper: Paper) -> dict:
    """Context for the paper page's community parts (vote, discussion, collections,
    claims). Keys: voted, comments, user_collections, public_collections,
    verified_authors ({author_id: user}), my_claim. At most six queries."""
    wanted = Q(status=AuthorClaim.Status.APPROVED)
    if user.is_authenticated:
        wanted |= Q(user=user)
    claims = list(AuthorClaim.objects.filter(wanted, paper=paper).select_related("user", "author"))
    return {
        "voted": paper.pk in voted_ids(user, [paper.pk]),
        "comments": discussion(user, paper),
        "user_collections": user_collections(user, paper),
        "public_collections": public_collections(paper),
        "verified_authors": {
            c.author_id: c.user for c in claims if c.status == AuthorClaim.Status.APPROVED
        },
        "my_claim": next((c for c in claims if c.user_id == user.pk), None),
    }
