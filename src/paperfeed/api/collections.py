"""Collections (named reading lists) through the community services: anyone reads the
public ones; their owner also reads the private ones and changes them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.http import Http404, HttpRequest
from ninja import Path, Router, Status

from paperfeed.api.access import WRITE, resolve
from paperfeed.api.common import OUT, ArxivIdPath, paper_or_404
from paperfeed.api.schemas import (
    MAX_ROW_ID,
    CollectionChangeIn,
    CollectionIn,
    CollectionOut,
    CollectionPaperOut,
    CollectionSummary,
    errors,
)
from paperfeed.api.shapes import collection_object, paper_objects, papers_in_order
from paperfeed.community import services
from paperfeed.community.models import Collection

router = Router(tags=["Collections"])

NOT_FOUND = "No such collection."  # the same whether private or missing: private stays secret


def _viewer_id(request: HttpRequest) -> int | None:
    """The member asking, by token or session (reads need neither)."""
    access = resolve(request)
    return access.user.pk if access.user is not None else None


def _visible(request: HttpRequest, pk: int) -> Collection:
    found = Collection.objects.select_related("owner").filter(pk=pk).first()
    if found is None or not (found.is_public or found.owner_id == _viewer_id(request)):
        raise Http404(NOT_FOUND)
    return found


def _own(request: HttpRequest, pk: int) -> Collection:
    found = Collection.objects.select_related("owner").filter(pk=pk, owner=request.user).first()
    if found is None:
        raise Http404(NOT_FOUND)
    return found


def _full(request: HttpRequest, collection: Collection) -> dict:
    ids = list(collection.items.order_by("-added_at", "-id").values_list("paper_id", flat=True))
    body = collection_object(collection, len(ids), request)
    body["papers"] = paper_objects(papers_in_order(ids))
    return body


CollectionId = Path(..., le=MAX_ROW_ID)


@router.get(
    "/users/{username}/collections",
    response={200: list[CollectionSummary], **errors(404, 429)},
    summary="A member's collections",
    operation_id="user_collections",
    **OUT,
)
def user_collections(request: HttpRequest, username: str = Path(..., max_length=150)):
    """Their public collections; all of them when the member asks (token or session)."""
    owner = get_user_model().objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise Http404(f"No member {username!r} here.")
    rows = Collection.objects.filter(owner=owner).annotate(size=Count("items"))
    if owner.pk != _viewer_id(request):
        rows = rows.filter(is_public=True)
    return [collection_object(c, c.size, request) for c in rows.select_related("owner")]


@router.get(
    "/collections/{int:collection_id}",
    response={200: CollectionOut, **errors(400, 404, 429)},
    summary="A collection",
    operation_id="collection",
    **OUT,
)
def collection(request: HttpRequest, collection_id: int = CollectionId):
    return _full(request, _visible(request, collection_id))


@router.post(
    "/collections",
    auth=WRITE,
    response={201: CollectionOut, **errors(400, 401, 403, 413, 429)},
    summary="Create a collection",
    operation_id="create_collection",
    **OUT,
)
def create_collection(request: HttpRequest, payload: CollectionIn):
    created = services.create_collection(
        request.user, payload.name, payload.description, payload.isPublic
    )
    return Status(201, _full(request, created))


@router.patch(
    "/collections/{int:collection_id}",
    auth=WRITE,
    response={200: CollectionOut, **errors(400, 401, 403, 404, 413, 429)},
    summary="Rename or describe a collection, or make it public or private",
    operation_id="change_collection",
    **OUT,
)
def change_collection(
    request: HttpRequest, payload: CollectionChangeIn, collection_id: int = CollectionId
):
    found = _own(request, collection_id)
    services.update_collection(
        request.user,
        found,
        name=found.name if payload.name is None else payload.name,
        description=found.description if payload.description is None else payload.description,
        is_public=found.is_public if payload.isPublic is None else payload.isPublic,
    )
    return _full(request, found)


@router.delete(
    "/collections/{int:collection_id}",
    auth=WRITE,
    response={204: None, **errors(400, 401, 403, 404, 429)},
    summary="Delete a collection",
    operation_id="delete_collection",
)
def delete_collection(request: HttpRequest, collection_id: int = CollectionId):
    services.delete_collection(request.user, _own(request, collection_id))
    return Status(204, None)


def _paper_change(request: HttpRequest, collection_id: int, arxiv_id: str, add: bool) -> dict:
    found = _own(request, collection_id)
    paper = paper_or_404(arxiv_id, fields=("id", "arxiv_id"))
    if add:
        changed = services.add_to_collection(request.user, found, paper)
    else:
        changed = services.remove_from_collection(request.user, found, paper)
    return {"collection": found.pk, "paper": paper.arxiv_id, "contains": add, "changed": changed}


@router.put(
    "/collections/{int:collection_id}/papers/{path:arxiv_id}",
    auth=WRITE,
    response={200: CollectionPaperOut, **errors(400, 401, 403, 404, 429)},
    summary="Add a paper to a collection",
    operation_id="add_to_collection",
)
def add_paper(request: HttpRequest, arxiv_id: str = ArxivIdPath, collection_id: int = CollectionId):
    """Idempotent: `changed` says whether it was not there before."""
    return _paper_change(request, collection_id, arxiv_id, add=True)


@router.delete(
    "/collections/{int:collection_id}/papers/{path:arxiv_id}",
    auth=WRITE,
    response={200: CollectionPaperOut, **errors(400, 401, 403, 404, 429)},
    summary="Take a paper out of a collection",
    operation_id="remove_from_collection",
)
def remove_paper(
    request: HttpRequest, arxiv_id: str = ArxivIdPath, collection_id: int = CollectionId
):
    return _paper_change(request, collection_id, arxiv_id, add=False)
