"""Papers, listings, comments and collections as the API's JSON objects (plain dicts that
`schemas` validates), built in a bounded number of queries whatever the page size.

Ids the Hugging Face shapes carry (`_id`, `discussionId`) are not our row numbers: they
are the first 24 hex digits of a SHA-1 over what they name (the paper's arXiv id, an
author's position, a member's account), so they look like Hugging Face's, survive an
export and import, and never change while what they name does not.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from paperfeed.community.models import AuthorClaim, Collection, Comment
from paperfeed.papers.models import CodeLink, Listing, Paper, PaperAuthor
from paperfeed.papers.selectors import listed

# The paper columns the API shows: lists skip the wide ones it does not (versions,
# comments field, journal reference).
PAPER_FIELDS = (
    "id", "arxiv_id", "title", "abstract", "author_names", "categories", "published_at",
    "upvotes", "num_comments",
)  # fmt: skip


def hf_id(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:24]


def papers_in_order(ids: list[int]) -> list[Paper]:
    """Papers with the columns the API shows, in the given order: one query."""
    found = Paper.objects.only(*PAPER_FIELDS).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def user_object(user=None, *, name: str = "") -> dict | None:
    """A member, or a submitter known only by name (imported from Hugging Face)."""
    if user is not None:
        username = user.username
        return {
            "_id": hf_id("user", str(user.pk)),
            "user": username,
            "name": username,
            "fullname": user.shown_name,
        }
    if name:
        return {"_id": hf_id("name", name), "user": name, "name": name, "fullname": name}
    return None


def listed_at(listing: Listing) -> datetime:
    """When a paper went on a list: the moment it was added if that was on the list's own
    day (a submission), else the start of that day (a list filled in later)."""
    created = listing.created_at
    if created is not None and timezone.localdate(created) == listing.date:
        return created
    return timezone.make_aware(datetime.combine(listing.date, time.min))


def submitter_of(listing: Listing) -> dict | None:
    return user_object(listing.submitter, name=listing.submitter_name)


def first_listings(paper_ids: list[int]) -> dict[int, Listing]:
    """Each paper's first listing the site shows (the site's rule: the lowest id)."""
    rows = listed().filter(paper_id__in=paper_ids).select_related("submitter").order_by("-id")
    return {row.paper_id: row for row in rows}  # later (lower) ids overwrite


def _code_links(paper_ids: list[int]) -> dict[int, dict[str, CodeLink]]:
    """The first GitHub repository and project page of each paper."""
    found: dict[int, dict[str, CodeLink]] = {pk: {} for pk in paper_ids}
    rows = CodeLink.objects.filter(
        paper_id__in=paper_ids, kind__in=[CodeLink.Kind.GITHUB, CodeLink.Kind.PROJECT]
    ).only("paper_id", "kind", "url", "stars")
    for link in rows.order_by("id"):
        found[link.paper_id].setdefault(link.kind, link)
    return found


def _verified_authors(paper_ids: list[int]) -> dict[tuple[int, int], object]:
    """{(paper id, author position): member} for approved authorship claims."""
    claims = list(
        AuthorClaim.objects.filter(
            paper_id__in=paper_ids, status=AuthorClaim.Status.APPROVED
        ).select_related("user")
    )
    if not claims:
        return {}
    users = {(c.paper_id, c.author_id): c.user for c in claims}
    positions = PaperAuthor.objects.filter(
        paper_id__in={c.paper_id for c in claims}, author_id__in={c.author_id for c in claims}
    ).values_list("paper_id", "author_id", "position")
    return {
        (paper_id, position): users[(paper_id, author_id)]
        for paper_id, author_id, position in positions
        if (paper_id, author_id) in users
    }


def _authors_taking_part(paper_ids: list[int]) -> set[int]:
    """Papers whose discussion has a visible comment by one of their verified authors."""
    verified = AuthorClaim.objects.filter(
        user=OuterRef("user"), paper=OuterRef("paper"), status=AuthorClaim.Status.APPROVED
    )
    rows = Comment.objects.filter(
        paper_id__in=paper_ids, hidden=False, deleted_at__isnull=True
    ).filter(Exists(verified))
    return set(rows.values_list("paper_id", flat=True).distinct())


def _paper_object(paper: Paper, listing: Listing | None, links: dict, verified: dict) -> dict:
    authors = []
    for position, name in enumerate(paper.author_names or []):
        author = {"_id": hf_id(paper.arxiv_id, "author", str(position)), "name": name}
        if (member := verified.get((paper.pk, position))) is not None:
            author.update(status="claimed_verified", user=user_object(member))
        authors.append(author)
    obj = {
        "id": paper.arxiv_id,
        "authors": authors,
        "publishedAt": paper.published_at,
        "title": paper.title,
        "summary": paper.abstract,
        "upvotes": paper.upvotes,
        "numComments": paper.num_comments,
        "discussionId": hf_id(paper.arxiv_id, "discussion"),
        "categories": paper.categories or [],
    }
    if listing is not None:
        obj["submittedOnDailyAt"] = listed_at(listing)
        obj["submittedOnDailyBy"] = submitter_of(listing)
    if (github := links.get(CodeLink.Kind.GITHUB)) is not None:
        obj["githubRepo"] = github.url
        obj["githubStars"] = github.stars
    if (project := links.get(CodeLink.Kind.PROJECT)) is not None:
        obj["projectPage"] = project.url
    return obj


def paper_objects(papers: list[Paper], listings: dict[int, Listing] | None = None) -> list[dict]:
    """Papers as the Hugging Face paper object. `listings` says which listing each paper
    shows (a daily list's own); by default, its first. Four queries at most."""
    ids = [paper.pk for paper in papers]
    if not ids:
        return []
    links = _code_links(ids)
    verified = _verified_authors(ids)
    if listings is None:
        listings = first_listings(ids)
    return [_paper_object(p, listings.get(p.pk), links[p.pk], verified) for p in papers]


def daily_items(papers: list[Paper], listings: dict[int, Listing] | None = None) -> list[dict]:
    """Papers as items of Hugging Face's daily list: the paper object inside, and the
    listing's moment and submitter beside it. The code links are repeated beside it too:
    the huggingface_hub client reads them there."""
    objects = paper_objects(papers, listings)
    taking_part = _authors_taking_part([p.pk for p in papers]) if papers else set()
    return [
        {
            "paper": obj,
            "publishedAt": obj.get("submittedOnDailyAt") or obj["publishedAt"],
            "title": obj["title"],
            "summary": obj["summary"],
            "numComments": obj["numComments"],
            "submittedBy": obj.get("submittedOnDailyBy"),
            "isAuthorParticipating": paper.pk in taking_part,
            **{key: obj.get(key) for key in ("projectPage", "githubRepo", "githubStars")},
        }
        for paper, obj in zip(papers, objects, strict=True)
    ]


def comment_object(comment: Comment) -> dict:
    """A comment with its replies (`shown_replies`, from community.selectors.discussion);
    the text of a deleted or hidden comment is not shown."""
    shown = comment.is_visible
    return {
        "id": comment.pk,
        "parent": comment.parent_id,
        "user": user_object(comment.user) if shown else None,
        "createdAt": comment.created_at,
        "editedAt": comment.edited_at,
        "body": comment.body if shown else "",
        "html": comment.body_html if shown else "",
        "hidden": comment.hidden,
        "deleted": comment.deleted_at is not None,
        "replies": [comment_object(reply) for reply in getattr(comment, "shown_replies", [])],
    }


def collection_object(collection: Collection, size: int, request=None) -> dict:
    url = collection.get_absolute_url()
    return {
        "id": collection.pk,
        "name": collection.name,
        "slug": collection.slug,
        "description": collection.description,
        "isPublic": collection.is_public,
        "owner": user_object(collection.owner),
        "numPapers": size,
        "createdAt": collection.created_at,
        "updatedAt": collection.updated_at,
        "url": request.build_absolute_uri(url) if request is not None else url,
    }


def author_url(slug: str, request=None) -> str:
    url = reverse("author", args=[slug])
    return request.build_absolute_uri(url) if request is not None else url
