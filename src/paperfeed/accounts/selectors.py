"""What the profile and settings pages show, each list in one query."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from paperfeed.accounts.models import User
from paperfeed.community.models import AuthorClaim, Collection, Vote
from paperfeed.papers.models import Listing

# A profile lists the newest entries of each kind; the rest can get pages of their own.
PROFILE_LIST_LIMIT = 50


def _newest(queryset: QuerySet, limit: int = PROFILE_LIST_LIMIT) -> tuple[list, bool]:
    """The first `limit` rows, and whether there are more (one query: limit + 1 rows)."""
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def profile(person: User, viewer) -> dict:
    """Context for /users/<username>: five queries whatever the numbers.

    Keys: submitted, upvoted, collections, authorships (lists), the matching
    *_more flags, is_owner and list_limit. The owner also sees private collections.
    """
    is_owner = viewer.is_authenticated and viewer.pk == person.pk
    submitted, submitted_more = _newest(
        Listing.objects.filter(submitter=person).select_related("paper").order_by("-date", "-id")
    )
    upvoted, upvoted_more = _newest(
        Vote.objects.filter(user=person).select_related("paper").order_by("-created_at", "-id")
    )
    collections = Collection.objects.filter(owner=person).annotate(num_papers=Count("items"))
    if not is_owner:
        collections = collections.filter(is_public=True)
    collections, collections_more = _newest(collections.order_by("-updated_at", "-id"))
    authorships = list(
        AuthorClaim.objects.filter(user=person, status=AuthorClaim.Status.APPROVED)
        .select_related("paper", "author")
        .order_by("-paper__published_at", "-id")
    )
    return {
        "is_owner": is_owner,
        "submitted": submitted,
        "submitted_more": submitted_more,
        "upvoted": upvoted,
        "upvoted_more": upvoted_more,
        "collections": collections,
        "collections_more": collections_more,
        "authorships": authorships,
        "list_limit": PROFILE_LIST_LIMIT,
    }


def claims_of(user: User) -> list[AuthorClaim]:
    """The user's authorship claims with their status, newest first (settings page)."""
    return list(
        AuthorClaim.objects.filter(user=user)
        .select_related("paper", "author")
        .order_by("-created_at", "-id")
    )
