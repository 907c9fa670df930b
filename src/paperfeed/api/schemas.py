"""The API's request and response shapes, from which Django Ninja writes the OpenAPI
schema and validates every answer.

The Hugging Face shapes (`HfPaper`, `DailyPaper`, `HfUser`, `HfAuthor`) use that API's
field names and date format exactly; fields that may be unknown are left out of an
answer rather than sent as null, as Hugging Face does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import PlainSerializer, WithJsonSchema


def hf_time(moment: datetime) -> str:
    """2024-12-04T02:00:00.000Z: UTC with milliseconds, the only form the Hugging Face
    client's date parser reads."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


HfTime = Annotated[
    datetime,
    PlainSerializer(hf_time, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2024-12-04T02:00:00.000Z"}
    ),
]


# A row id: what the databases can store (a larger number in a URL is simply not found).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


# --- errors ------------------------------------------------------------------------------


class FieldProblem(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    error: str = Field(description="What went wrong, and what to do about it.")
    detail: list[FieldProblem] | None = Field(None, description="Validation errors: each field.")
    link: str | None = Field(None, description="A page the error refers to.")


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """Response entries for the error statuses an operation may answer with: these, and
    400 (a parameter or body that does not validate) and 429 (a rate limit), which any
    operation may."""
    return dict.fromkeys(sorted({400, 429, *codes}), ErrorOut)


# --- Hugging Face shapes -------------------------------------------------------------------


class HfUser(Schema):
    id_: str = Field(alias="_id", description="Stable id of the member (24 hex digits).")
    user: str = Field(description="Username.")
    name: str = Field(description="Username again: Hugging Face's `submittedBy` calls it so.")
    fullname: str = Field(description="Display name.")
    type: Literal["user"] = "user"


class HfAuthor(Schema):
    id_: str = Field(alias="_id", description="Stable id of this author entry of the paper.")
    name: str
    hidden: bool = False
    status: Literal["claimed_verified"] | None = Field(
        None, description="Present when a member's claim to be this author was approved."
    )
    user: HfUser | None = Field(None, description="That member.")


class HfPaper(Schema):
    id: str = Field(description="arXiv id, without version.", examples=["2412.00321"])
    authors: list[HfAuthor]
    publishedAt: HfTime | None = Field(None, description="First version on arXiv.")
    submittedOnDailyAt: HfTime | None = Field(
        None, description="When it was first put on a daily list (absent if never)."
    )
    submittedOnDailyBy: HfUser | None = Field(
        None, description="Who submitted it (absent for arXiv announcements)."
    )
    title: str
    summary: str = Field(description="The abstract.")
    upvotes: int
    numComments: int = Field(description="Visible comments (the Hugging Face client reads it).")
    discussionId: str = Field(description="Stable id of the paper's discussion.")
    projectPage: str | None = None
    githubRepo: str | None = None
    githubStars: int | None = None
    ai_summary: str | None = Field(None, description="Never sent: no AI summaries here.")
    ai_keywords: list[str] | None = Field(None, description="Never sent.")
    categories: list[str] = Field(description="arXiv categories, primary first (ours).")


class DailyPaper(Schema):
    paper: HfPaper
    publishedAt: HfTime | None = Field(
        None, description="When the paper was put on the list (the client's `submitted_at`)."
    )
    title: str
    summary: str
    thumbnail: str | None = Field(None, description="Never sent: no thumbnails here.")
    numComments: int
    submittedBy: HfUser | None = None
    isAuthorParticipating: bool = Field(
        description="A verified author of the paper takes part in its discussion."
    )
    # The huggingface_hub client reads these three at the item's top level, not in `paper`.
    projectPage: str | None = Field(None, description="As in `paper`.")
    githubRepo: str | None = Field(None, description="As in `paper`.")
    githubStars: int | None = Field(None, description="As in `paper`.")


class WhoAmIToken(Schema):
    displayName: str
    role: Literal["read", "write"]
    createdAt: HfTime


class WhoAmIAuth(Schema):
    type: Literal["access_token", "session"]
    accessToken: WhoAmIToken | None = None


class WhoAmI(Schema):
    type: Literal["user"] = "user"
    id: str
    name: str
    fullname: str
    isPro: bool = False
    auth: WhoAmIAuth


# --- requests -----------------------------------------------------------------------------


class ArxivIdIn(Schema):
    arxivId: str = Field(
        min_length=1,
        max_length=300,
        description="An arXiv id (2412.00321, hep-th/9901001) or any arXiv URL.",
        examples=["2412.00321"],
    )


class CommentIn(Schema):
    body: str = Field(max_length=100_000, description="Markdown; at most 10,000 characters.")
    parent: RowId | None = Field(None, description="The comment this one replies to.")


class CommentEditIn(Schema):
    body: str = Field(max_length=100_000)


class CollectionIn(Schema):
    name: str = Field(max_length=1000)
    description: str = Field("", max_length=10_000)
    isPublic: bool = True


class CollectionChangeIn(Schema):
    name: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=10_000)
    isPublic: bool | None = None


# --- our own shapes -------------------------------------------------------------------------


class ScoredPaper(HfPaper):
    score: float = Field(description="Trending score, or search relevance.")


class VoteOut(Schema):
    upvoted: bool
    upvotes: int


class CommentOut(Schema):
    id: int
    parent: int | None = None
    user: HfUser | None = Field(None, description="Absent for deleted and hidden comments.")
    createdAt: HfTime
    editedAt: HfTime | None = None
    body: str = Field(description="Markdown as written (empty once deleted or hidden).")
    html: str = Field(description="Rendered and sanitised HTML.")
    hidden: bool
    deleted: bool
    replies: list[CommentOut] = Field(default_factory=list)


class CollectionSummary(Schema):
    id: int
    name: str
    slug: str
    description: str
    isPublic: bool
    owner: HfUser
    numPapers: int
    createdAt: HfTime
    updatedAt: HfTime
    url: str = Field(description="The collection's page on the site.")


class CollectionOut(CollectionSummary):
    papers: list[HfPaper] = Field(description="Most recently added first.")


class CollectionPaperOut(Schema):
    collection: int
    paper: str
    contains: bool
    changed: bool


class Coauthor(Schema):
    slug: str
    name: str
    numPapers: int = Field(description="Papers written together.")


class AuthorOut(Schema):
    slug: str
    name: str
    url: str
    numPapers: int
    verifiedUsers: list[HfUser]
    coauthors: list[Coauthor]
    papers: list[HfPaper] = Field(description="Newest first; paged with p and limit.")


class SearchOut(Schema):
    query: str
    mode: Literal["hybrid", "lexical", "semantic"]
    total: int
    totalCapped: bool = Field(description="There are more matches than `total` says.")
    notices: list[str]
    match: HfPaper | None = Field(None, description="The paper an arXiv id or URL names.")
    papers: list[ScoredPaper]


class StatsOut(Schema):
    papers: int
    authors: int
    listings: int
    list_days: int
    code_links: int
    code_links_by_kind: dict[str, int]
    withdrawn: int
    categories: dict[str, int]
    primary_categories: dict[str, int]


class IndexOut(Schema):
    paper: HfPaper
    created: bool = Field(description="The paper was fetched from arXiv just now.")
