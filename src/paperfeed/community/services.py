"""The community's rules as plain functions that views, the admin and tests call: votes,
comments, submissions, collections and authorship claims.

They keep `Paper.upvotes` and `Paper.num_comments` exact under concurrent requests: a
counter moves by F() only when a row really appeared or disappeared (or a comment really
changed between visible and not), in the same transaction as that row. A broken rule
raises `Refused`, whose message is written for the person who tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.text import slugify

from paperfeed.community.markdown import render_markdown
from paperfeed.community.models import AuthorClaim, Collection, CollectionItem, Comment, Vote
from paperfeed.papers import ingest
from paperfeed.papers.http import PoliteClient
from paperfeed.papers.models import IngestRun, Listing, Paper, PaperAuthor
from paperfeed.papers.records import RecordError, parse_arxiv_id
from paperfeed.papers.sources import arxiv_api

MAX_COMMENT_CHARS = Comment._meta.get_field("body").max_length
MAX_COLLECTION_NAME = Collection._meta.get_field("name").max_length
MAX_COLLECTION_DESCRIPTION = Collection._meta.get_field("description").max_length
# A submission fetches from arXiv inside the web request, so it must answer well within
# the server's 60 s worker timeout: one try, a short timeout, no long Retry-After waits.
SUBMIT_FETCH_TIMEOUT = 15.0
SUBMIT_FETCH_RETRIES = 1
SUBMIT_FETCH_MAX_WAIT = 5.0

# Time is read through `now` so that tests can freeze it.
now = timezone.now


def local_today() -> date:
    """Today in the site's time zone (PAPERFEED_TIME_ZONE): the date of today's list."""
    return timezone.localtime(now()).date()


class Refused(Exception):
    """A rule said no. `message` is shown as is; `link` points at what it refers to."""

    def __init__(self, message: str, *, link: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.link = link
        self.status = status


# --- votes -----------------------------------------------------------------------------


@dataclass
class VoteState:
    voted: bool
    upvotes: int


def upvote(user, paper: Paper) -> bool:
    """Add the user's vote; returns False if it was already there (idempotent)."""
    try:
        with transaction.atomic():
            Vote.objects.create(user=user, paper=paper)
            Paper.objects.filter(pk=paper.pk).update(upvotes=F("upvotes") + 1)
    except IntegrityError:
        return False
    return True


def unvote(user, paper: Paper) -> bool:
    """Take the user's vote back; returns False if there was none (idempotent)."""
    with transaction.atomic():
        deleted, _ = Vote.objects.filter(user=user, paper=paper).delete()
        if deleted:
            Paper.objects.filter(pk=paper.pk).update(upvotes=F("upvotes") - deleted)
    return bool(deleted)


def set_vote(user, paper: Paper, on: bool) -> VoteState:
    """Make the user's vote on the paper be `on`; idempotent, exact under concurrency.

    Two identical requests at once both end in the same state: the unique constraint lets
    one insert win (the other gets IntegrityError and changes nothing), and the counter
    only moves for a row that was really inserted or deleted.
    """
    if on:
        upvote(user, paper)
    else:
        unvote(user, paper)
    paper.upvotes = Paper.objects.values_list("upvotes", flat=True).get(pk=paper.pk)
    return VoteState(voted=on, upvotes=paper.upvotes)


def toggle_vote(user, paper: Paper) -> VoteState:
    """Vote if the user has not, take the vote back if they have."""
    return set_vote(user, paper, not Vote.objects.filter(user=user, paper=paper).exists())


# --- comments --------------------------------------------------------------------------


def _clean_body(body: str | None) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Refused("A comment cannot be empty: write something before posting.")
    if len(body) > MAX_COMMENT_CHARS:
        raise Refused(
            f"Comments are limited to {MAX_COMMENT_CHARS:,} characters; this one has "
            f"{len(body):,}. Shorten it and try again."
        )
    return body


def _count_comments(paper_id: int, delta: int) -> None:
    if delta:
        Paper.objects.filter(pk=paper_id).update(num_comments=F("num_comments") + delta)


def _lock_thread(comment: Comment) -> Comment | None:
    """Lock the thread's top-level comment, then return the comment itself, fresh.

    Every change inside a thread takes the top-level row first, so a reply, a delete and
    a hide of the same thread run one after the other (no-op locks on SQLite, where
    IMMEDIATE transactions already serialise writers).
    """
    top_id = comment.parent_id or comment.pk
    list(Comment.objects.select_for_update().filter(pk=top_id))
    return Comment.objects.select_for_update().filter(pk=comment.pk).first()


def add_comment(user, paper: Paper, body: str, parent: Comment | None = None) -> Comment:
    """Post a comment, or a reply when `parent` is given.

    Threads are one level deep: a reply to a reply joins the top-level comment's thread.
    """
    body = _clean_body(body)
    html = render_markdown(body)
    with transaction.atomic():
        if parent is not None:
            if parent.paper_id != paper.pk:
                raise Refused("That comment belongs to another paper.")
            top = Comment.objects.select_for_update().filter(pk=parent.parent_id or parent.pk)
            top = top.first()
            if top is None or not top.is_visible:
                raise Refused("That comment was deleted or hidden, so it takes no new replies.")
            parent = top
        comment = Comment.objects.create(
            user=user, paper=paper, body=body, body_html=html, parent=parent
        )
        _count_comments(paper.pk, 1)
    return comment


def edit_comment(user, comment: Comment, body: str) -> Comment:
    """The author rewrites their comment; it is rendered again and marked as edited."""
    if comment.user_id != user.pk:
        raise Refused("You can only edit your own comments.", status=403)
    body = _clean_body(body)
    html = render_markdown(body)
    with transaction.atomic():
        current = _lock_thread(comment)
        if current is None or current.deleted_at is not None:
            raise Refused("That comment was deleted.", status=404)
        if current.hidden:
            raise Refused("A moderator hid this comment, so it cannot be edited.", status=403)
        current.body, current.body_html, current.edited_at = body, html, now()
        current.save(update_fields=["body", "body_html", "edited_at"])
    return current


def _drop_empty_placeholder(parent_id: int | None) -> None:
    """A deleted comment kept only for its replies goes once its last reply goes."""
    if parent_id is not None:
        replies = Comment.objects.filter(parent_id=OuterRef("pk"))
        Comment.objects.filter(pk=parent_id, deleted_at__isnull=False).exclude(
            Exists(replies)
        ).delete()


def delete_comment(user, comment: Comment) -> bool:
    """The author deletes their comment.

    A comment without replies is removed. A top-level comment with replies becomes a
    "deleted" placeholder (its text is erased) so that the replies keep their context; it
    disappears with its last reply. Returns True if the row was removed.
    """
    if comment.user_id != user.pk:
        raise Refused("You can only delete your own comments.", status=403)
    with transaction.atomic():
        current = _lock_thread(comment)
        if current is None or current.deleted_at is not None:
            return False  # deleted already (a double click)
        was_visible = current.is_visible
        if current.parent_id is None and current.replies.exists():
            current.body, current.body_html, current.deleted_at = "", "", now()
            current.save(update_fields=["body", "body_html", "deleted_at"])
            removed = False
        else:
            current.delete()
            _drop_empty_placeholder(current.parent_id)
            removed = True
        _count_comments(current.paper_id, -1 if was_visible else 0)
    return removed


def set_hidden(moderator, comment: Comment, hidden: bool) -> bool:
    """A moderator hides or shows a comment again; returns True if anything changed."""
    if not moderator.is_staff:
        raise Refused("Only moderators can hide comments.", status=403)
    with transaction.atomic():
        current = _lock_thread(comment)
        if current is None or current.hidden == hidden:
            return False
        was_visible = current.is_visible
        current.hidden = hidden
        current.save(update_fields=["hidden"])
        _count_comments(current.paper_id, int(current.is_visible) - int(was_visible))
    comment.hidden = hidden
    return True


def purge_comment(comment: Comment) -> None:
    """Remove a comment and all its replies for good (the admin's delete)."""
    with transaction.atomic():
        current = _lock_thread(comment)
        if current is None:
            return
        thread = Comment.objects.select_for_update().filter(Q(pk=current.pk) | Q(parent=current))
        visible = sum(1 for c in thread if c.is_visible)
        current.delete()  # replies go with it (on_delete=CASCADE)
        _drop_empty_placeholder(current.parent_id)
        _count_comments(current.paper_id, -visible)


def recount(paper_ids: list[int] | None = None) -> int:
    """Set the counters of these papers (all if None) from the rows; returns papers fixed.

    Only for repairs (say after deleting users in bulk): the services above never need it.
    """
    from django.db.models import Count

    papers = Paper.objects.all() if paper_ids is None else Paper.objects.filter(pk__in=paper_ids)
    visible = Q(comment_set__hidden=False, comment_set__deleted_at__isnull=True)
    fixed = 0
    for pk, upvotes, comments, real_votes, real_comments in papers.annotate(
        real_votes=Count("votes", distinct=True),
        real_comments=Count("comment_set", filter=visible, distinct=True),
    ).values_list("pk", "upvotes", "num_comments", "real_votes", "real_comments"):
        if (upvotes, comments) != (real_votes, real_comments):
            Paper.objects.filter(pk=pk).update(upvotes=real_votes, num_comments=real_comments)
            fixed += 1
    return fixed


# --- submissions -----------------------------------------------------------------------


def _submissions_today(user, today: date) -> int:
    return Listing.objects.filter(
        source=Listing.Source.SUBMISSION, submitter=user, date=today
    ).count()


def _check_daily_cap(user, today: date) -> None:
    cap = settings.PAPERFEED_SUBMIT_DAILY_CAP
    if _submissions_today(user, today) >= cap:
        raise Refused(
            f"You have submitted {cap} paper{'s' if cap != 1 else ''} today, the daily limit. "
            "Try again tomorrow."
        )


def fetch_paper(arxiv_id: str) -> Paper:
    """Bring one paper in from the arXiv API through the normal ingest path."""
    client = PoliteClient(
        "arXiv API", min_interval=settings.PAPERFEED_ARXIV_DELAY, retries=SUBMIT_FETCH_RETRIES
    )
    client.max_wait = min(client.max_wait, SUBMIT_FETCH_MAX_WAIT)
    timeout = min(settings.PAPERFEED_HTTP_TIMEOUT, SUBMIT_FETCH_TIMEOUT)
    client.client.timeout = httpx.Timeout(timeout)
    try:
        outcome = ingest.run(
            "arxiv-api",
            arxiv_id,
            lambda cursor: arxiv_api.fetch_ids([arxiv_id], client=client),
            params={"ids": [arxiv_id], "for": "submission"},
            total=1,
            resume=False,
            progress=False,
        )
    finally:
        client.close()
    if outcome.run.status == IngestRun.Status.FAILED:
        raise Refused(
            "arXiv could not be reached just now, so nothing was added. "
            "Try again in a few minutes.",
            status=503,
        )
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper is None:
        reasons = [error["reason"] for error in outcome.run.errors]
        if not reasons or any("not found" in r or "API error" in r for r in reasons):
            raise Refused(f"arXiv has no paper {arxiv_id}. Check the id and try again.")
        raise Refused(f"arXiv's record of {arxiv_id} could not be stored: {reasons[0]}")
    return paper


def submit_paper(user, text: str) -> Listing:
    """Put a paper on today's list on the user's behalf, by arXiv id or any arXiv URL.

    Rules: the id must be one arXiv knows; the paper's first version is at most
    PAPERFEED_SUBMIT_MAX_AGE_DAYS old; at most PAPERFEED_SUBMIT_DAILY_CAP submissions per
    person per day; a paper is on a day's list once.
    """
    try:
        arxiv_id, _ = parse_arxiv_id(text)
    except RecordError:
        raise Refused(
            "That is not an arXiv id or link. Paste an id such as 2412.01234 or a link such "
            "as https://arxiv.org/abs/2412.01234."
        ) from None
    today = local_today()
    _check_daily_cap(user, today)  # before any network call
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first() or fetch_paper(arxiv_id)
    already = f"{paper.title} is already on today's list."
    if Listing.objects.filter(paper=paper, date=today).exists():
        raise Refused(already, link=paper.get_absolute_url())
    max_age = settings.PAPERFEED_SUBMIT_MAX_AGE_DAYS
    if paper.published_at is None:
        raise Refused(f"arXiv gives no date for {arxiv_id}, so its age cannot be checked.")
    published = timezone.localtime(paper.published_at).date()
    if published < today - timedelta(days=max_age):
        raise Refused(
            f"{arxiv_id} first appeared on {published:%-d %B %Y}; only papers from the last "
            f"{max_age} days can be submitted.",
            link=paper.get_absolute_url(),
        )
    with transaction.atomic():
        # One submitter at a time per person, so that two tabs cannot beat the daily cap.
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        _check_daily_cap(user, today)
        try:
            with transaction.atomic():
                return Listing.objects.create(
                    paper=paper,
                    date=today,
                    source=Listing.Source.SUBMISSION,
                    submitter=user,
                    submitter_name=user.shown_name,
                )
        except IntegrityError:
            raise Refused(already, link=paper.get_absolute_url()) from None


def submissions_left_today(user) -> int:
    cap = settings.PAPERFEED_SUBMIT_DAILY_CAP
    return max(0, cap - _submissions_today(user, local_today()))


# --- collections -----------------------------------------------------------------------


def _collection_fields(name: str, description: str) -> tuple[str, str, str]:
    name = " ".join((name or "").split())
    description = (description or "").replace("\r\n", "\n").strip()
    if not name:
        raise Refused("Give the collection a name.")
    if len(name) > MAX_COLLECTION_NAME:
        raise Refused(f"Collection names are limited to {MAX_COLLECTION_NAME} characters.")
    if len(description) > MAX_COLLECTION_DESCRIPTION:
        raise Refused(
            f"Descriptions are limited to {MAX_COLLECTION_DESCRIPTION:,} characters; this one "
            f"has {len(description):,}."
        )
    slug = slugify(name, allow_unicode=True)[:120].strip("-") or "list"
    return name, slug, description


def _own(user, collection: Collection) -> None:
    if collection.owner_id != user.pk:
        # Said the same way as a missing one: private collections stay secret.
        raise Refused("No such collection.", status=404)


def create_collection(
    user, name: str, description: str = "", is_public: bool = True, paper: Paper | None = None
) -> Collection:
    """A new collection of the user's, holding `paper` if given."""
    name, slug, description = _collection_fields(name, description)
    try:
        with transaction.atomic():
            collection = Collection.objects.create(
                owner=user, name=name, slug=slug, description=description, is_public=is_public
            )
            if paper is not None:
                CollectionItem.objects.create(collection=collection, paper=paper)
    except IntegrityError:
        raise Refused(f"You already have a collection called {name!r}.") from None
    return collection


def update_collection(
    user, collection: Collection, *, name: str, description: str, is_public: bool
) -> Collection:
    _own(user, collection)
    name, slug, description = _collection_fields(name, description)
    collection.name, collection.slug = name, slug
    collection.description, collection.is_public = description, is_public
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError:
        raise Refused(f"You already have a collection called {name!r}.") from None
    return collection


def delete_collection(user, collection: Collection) -> None:
    _own(user, collection)
    collection.delete()


def add_to_collection(user, collection: Collection, paper: Paper) -> bool:
    """Returns False if the paper was in the collection already."""
    _own(user, collection)
    try:
        with transaction.atomic():
            CollectionItem.objects.create(collection=collection, paper=paper)
    except IntegrityError:
        return False
    Collection.objects.filter(pk=collection.pk).update(updated_at=now())
    return True


def remove_from_collection(user, collection: Collection, paper: Paper) -> bool:
    """Returns False if the paper was not in the collection."""
    _own(user, collection)
    deleted, _ = CollectionItem.objects.filter(collection=collection, paper=paper).delete()
    if deleted:
        Collection.objects.filter(pk=collection.pk).update(updated_at=now())
    return bool(deleted)


# --- authorship claims -----------------------------------------------------------------


def claim_authorship(user, paper: Paper, author_id: int) -> AuthorClaim:
    """The user says they are this author of this paper; a moderator decides later."""
    authorship = (
        PaperAuthor.objects.filter(paper=paper, author_id=author_id).select_related("author")
    ).first()
    if authorship is None:
        raise Refused("Choose one of this paper's authors.")
    author = authorship.author
    mine = AuthorClaim.objects.filter(user=user, paper=paper).select_related("author").first()
    if mine is not None:
        raise Refused(
            f"You have already claimed this paper (as {mine.author.name}, {mine.status})."
        )
    if AuthorClaim.objects.filter(
        paper=paper, author=author, status=AuthorClaim.Status.APPROVED
    ).exists():
        raise Refused(f"{author.name} is already verified on this paper.")
    try:
        with transaction.atomic():
            return AuthorClaim.objects.create(user=user, paper=paper, author=author)
    except IntegrityError:
        raise Refused("You have already claimed this paper.") from None


def withdraw_claim(user, paper: Paper) -> bool:
    """Take back one's own pending claim (decided ones stay, for the record)."""
    deleted, _ = AuthorClaim.objects.filter(
        user=user, paper=paper, status=AuthorClaim.Status.PENDING
    ).delete()
    return bool(deleted)


def decide_claim(claim: AuthorClaim, moderator, approve: bool) -> AuthorClaim:
    """A moderator approves or rejects a claim (the admin's actions)."""
    if not moderator.is_staff:
        raise Refused("Only moderators decide claims.", status=403)
    claim.status = AuthorClaim.Status.APPROVED if approve else AuthorClaim.Status.REJECTED
    claim.decided_at = now()
    claim.decided_by = moderator
    try:
        with transaction.atomic():
            claim.save(update_fields=["status", "decided_at", "decided_by"])
    except IntegrityError:
        raise Refused(
            f"Another person is already verified as {claim.author} on {claim.paper.arxiv_id}."
        ) from None
    return claim
