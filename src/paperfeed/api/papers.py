"""Our own endpoints around one paper: similar papers, the discussion, upvotes; each
write goes through the community services, so the site's rules and messages apply."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from paperfeed.api import limits
from paperfeed.api.access import WRITE
from paperfeed.api.common import OUT, ArxivIdPath, paper_or_404
from paperfeed.api.schemas import (
    MAX_ROW_ID,
    CommentEditIn,
    CommentIn,
    CommentOut,
    HfPaper,
    VoteOut,
    errors,
)
from paperfeed.api.shapes import comment_object, paper_objects
from paperfeed.community import selectors as community
from paperfeed.community import services
from paperfeed.community.models import Comment
from paperfeed.community.services import Refused
from paperfeed.search.services import similar_papers

router = Router(tags=["Papers"])


class SimilarParams(Schema):
    limit: int = Field(6, ge=1, le=50)


@router.get(
    "/papers/{path:arxiv_id}/similar",
    response={200: list[HfPaper], **errors(400, 404, 429)},
    summary="Similar papers",
    operation_id="similar_papers",
    **OUT,
)
def similar(request: HttpRequest, params: Query[SimilarParams], arxiv_id: str = ArxivIdPath):
    """The papers nearest to this one by meaning (by title words when semantic search is
    off): the paper page's list."""
    return paper_objects(similar_papers(paper_or_404(arxiv_id), k=params.limit))


@router.get(
    "/papers/{path:arxiv_id}/comments",
    response={200: list[CommentOut], **errors(404, 429)},
    summary="A paper's discussion",
    operation_id="paper_comments",
    **OUT,
)
def comments(request: HttpRequest, arxiv_id: str = ArxivIdPath):
    """Top-level comments in order, each with its replies, as anyone sees them: a deleted
    or hidden comment that still has replies stays as an empty placeholder."""
    thread = community.discussion(AnonymousUser(), paper_or_404(arxiv_id))
    return [comment_object(comment) for comment in thread]


@router.post(
    "/papers/{path:arxiv_id}/comments",
    auth=WRITE,
    response={201: CommentOut, **errors(400, 401, 403, 404, 413, 429)},
    summary="Comment on a paper",
    operation_id="add_comment",
    **OUT,
)
def add_comment(request: HttpRequest, payload: CommentIn, arxiv_id: str = ArxivIdPath):
    """A new comment, or a reply (`parent`); Markdown, rendered and sanitised as on the
    site. Replies to a reply join its thread (one level deep)."""
    paper = paper_or_404(arxiv_id)
    limits.action_limit(request, limits.COMMENTS)
    parent = None
    if payload.parent is not None:
        parent = Comment.objects.filter(pk=payload.parent).first()
        if parent is None:
            raise Refused("That comment is gone, so your reply was not posted.", status=404)
    comment = services.add_comment(request.user, paper, payload.body, parent)
    return Status(201, comment_object(comment))


def _own_comment(request: HttpRequest, pk: int) -> Comment:
    comment = Comment.objects.filter(pk=pk, user=request.user, deleted_at__isnull=True).first()
    if comment is None:
        raise Http404("No such comment of yours.")
    return comment


@router.patch(
    "/comments/{int:comment_id}",
    auth=WRITE,
    response={200: CommentOut, **errors(400, 401, 403, 404, 413, 429)},
    summary="Edit your comment",
    operation_id="edit_comment",
    **OUT,
)
def edit_comment(
    request: HttpRequest, payload: CommentEditIn, comment_id: int = Path(..., le=MAX_ROW_ID)
):
    limits.action_limit(request, limits.COMMENTS)
    comment = services.edit_comment(request.user, _own_comment(request, comment_id), payload.body)
    return comment_object(comment)


@router.delete(
    "/comments/{int:comment_id}",
    auth=WRITE,
    response={204: None, **errors(400, 401, 403, 404, 429)},
    summary="Delete your comment",
    operation_id="delete_comment",
)
def delete_comment(request: HttpRequest, comment_id: int = Path(..., le=MAX_ROW_ID)):
    """Removed; or, when it has replies, kept as an empty placeholder for them."""
    services.delete_comment(request.user, _own_comment(request, comment_id))
    return Status(204, None)


def _vote(request: HttpRequest, arxiv_id: str, on: bool) -> dict:
    paper = paper_or_404(arxiv_id, fields=("id", "upvotes"))
    limits.action_limit(request, limits.VOTES)
    state = services.set_vote(request.user, paper, on)
    return {"upvoted": state.voted, "upvotes": state.upvotes}


@router.post(
    "/papers/{path:arxiv_id}/upvote",
    auth=WRITE,
    response={200: VoteOut, **errors(401, 403, 404, 429)},
    summary="Upvote a paper",
    operation_id="upvote",
)
def upvote(request: HttpRequest, arxiv_id: str = ArxivIdPath):
    """Idempotent: upvoting twice counts once."""
    return _vote(request, arxiv_id, True)


@router.delete(
    "/papers/{path:arxiv_id}/upvote",
    auth=WRITE,
    response={200: VoteOut, **errors(401, 403, 404, 429)},
    summary="Take an upvote back",
    operation_id="remove_upvote",
)
def remove_upvote(request: HttpRequest, arxiv_id: str = ArxivIdPath):
    return _vote(request, arxiv_id, False)
