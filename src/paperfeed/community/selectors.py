"""What pages need to know about the community around papers, in a bounded number of
queries: the viewer's votes, the discussion, collections and verified authors."""

from __future__ import annotations

from collections.abc import Iterable

from paperfeed.community.models import Vote
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


def paper_page(user, paper: Paper) -> dict:
    """Context for the paper page's community parts (vote, discussion, collections,
    claims). Keys: voted, comments, user_collections, public_collections,
    verified_authors ({author_id: user}), my_claim."""
    return {
        "voted": paper.pk in voted_ids(user, [paper.pk]),
        "comments": [],
        "user_collections": [],
        "public_collections": [],
        "verified_authors": {},
        "my_claim": None,
    }
