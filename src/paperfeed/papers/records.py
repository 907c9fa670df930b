"""The one record type every ingestion source parses into, and its validation.

A field left as None means "this source does not know", so merging a poorer source
(say Hugging Face, which has no categories) into a richer one loses nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.text import slugify

# Limits well above anything arXiv accepts (titles and abstracts are far shorter there),
# so that only broken or hostile input trips them.
MAX_TITLE = 2_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5_000  # large collaborations do list thousands
MAX_AUTHOR_NAME = 255
MAX_TEXT_FIELD = 5_000  # comments, journal-ref, report-no
MAX_CATEGORIES = 30

NEW_ID = re.compile(r"(?P<id>(?P<yy>\d\d)(?P<mm>\d\d)\.\d{4,5})(?:v(?P<v>\d{1,4}))?", re.ASCII)
# Old-style ids: archive[.SUBJ]/YYMMNNN; the subject class is not part of the id.
OLD_ID = re.compile(
    r"(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?/(?P<num>\d{7})(?:v(?P<v>\d{1,4}))?",
    re.ASCII,
)
ID_IN_TEXT = re.compile(
    r"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/"
    r"|arxiv:|oai:arxiv\.org:)?(?P<rest>.+?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)
# C0 and C1 controls (but tab and newlines) and lone surrogates, which no database stores.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class RecordError(ValueError):
    """A record that cannot be stored, with a reason a person can act on."""


@dataclass(slots=True)
class ListingInfo:
    date: date
    source: str
    submitter_name: str = ""
    announce_type: str = ""


@dataclass(slots=True)
class PaperRecord:
    arxiv_id: str
    title: str
    version: int | None = None
    abstract: str | None = None
    authors: list[str] | None = None
    categories: list[str] | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    versions: list[dict] | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    report_no: str | None = None
    license: str | None = None
    withdrawn: bool | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (kind, url) from the source
    listing: ListingInfo | None = None
    source: str = ""
    place: str = ""  # file:line, page or record id, for error messages
    valid: bool = False  # set by validate()
    digest: str | None = None  # set by record_hash()


@dataclass(slots=True)
class Rejected:
    """A record a source could not parse; the ingest counts and reports it."""

    place: str
    reason: str


@dataclass(slots=True)
class Checkpoint:
    """Everything before this point is read; an interrupted ingest resumes from `cursor`."""

    cursor: str


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Return (id without version, version or None) from an id or any arXiv URL.

    Accepts 2409.01234, 2409.01234v2, arXiv:2409.01234, hep-th/9901001, math.AG/0601001,
    oai:arXiv.org:..., and abs/pdf/html URLs. Raises RecordError otherwise.
    """
    raw = (text or "").strip()
    match = ID_IN_TEXT.match(raw)
    rest = match.group("rest") if match else raw
    if m := NEW_ID.fullmatch(rest):
        if not 1 <= int(m.group("mm")) <= 12:
            raise RecordError(f"not an arXiv id: {raw[:80]!r} (month {m.group('mm')})")
        return m.group("id"), int(m.group("v")) if m.group("v") else None
    if m := OLD_ID.fullmatch(rest):
        return f"{m.group('archive')}/{m.group('num')}", int(m.group("v")) if m.group("v") else None
    raise RecordError(f"not an arXiv id: {raw[:80]!r}")


def clean_text(value: str | None, *, limit: int, what: str, collapse: bool = True) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{what} is not text")
    if len(value) > limit * 4:  # cheap early exit before normalising a huge value
        raise RecordError(f"{what} is too long ({len(value):,} characters, limit {limit:,})")
    # The checks before each step skip work that most (ASCII, printable) text does not need.
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    if not value.isprintable():
        value = CONTROL_CHARS.sub("", value)
    value = " ".join(value.split()) if collapse else value.strip()
    if len(value) > limit:
        raise RecordError(f"{what} is too long ({len(value):,} characters, limit {limit:,})")
    return value


@functools.lru_cache(maxsize=100_000)
def author_slug(name: str) -> str:
    """Normalised key of an author name: case, accents, dots and spacing do not matter."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = slugify(stripped.replace(".", " "), allow_unicode=True)
    return slug[:MAX_AUTHOR_NAME] or "author"


def is_withdrawn(comments: str | None) -> bool:
    return bool(comments) and bool(
        re.search(r"\b(?:has been|is|was)\s+withdrawn\b|^\s*withdrawn\b", comments, re.I)
    )


def validate(record: PaperRecord) -> PaperRecord:
    """Normalise a record in place and return it, or raise RecordError with the reason."""
    if record.valid:
        return record
    record.arxiv_id, id_version = parse_arxiv_id(record.arxiv_id)
    if record.version is None:
        record.version = id_version
    if record.version is not None and not 0 < record.version < 1000:
        raise RecordError(f"bad version {record.version}")
    title = clean_text(record.title, limit=MAX_TITLE, what="title")
    if not title:
        raise RecordError("title is empty")
    record.title = title
    record.abstract = clean_text(record.abstract, limit=MAX_ABSTRACT, what="abstract")
    for name in ("comments", "journal_ref", "report_no"):
        setattr(record, name, clean_text(getattr(record, name), limit=MAX_TEXT_FIELD, what=name))
    record.doi = clean_text(record.doi, limit=255, what="doi")
    record.license = clean_text(record.license, limit=255, what="license")
    if record.authors is not None:
        if len(record.authors) > MAX_AUTHORS:
            raise RecordError(f"too many authors ({len(record.authors):,})")
        authors = []
        for name in record.authors:
            name = clean_text(name, limit=MAX_AUTHOR_NAME, what="author name")
            if name:
                authors.append(name)
        record.authors = authors
    if record.categories is not None:
        cats = []
        for cat in record.categories:
            cat = (cat or "").strip()
            if not re.fullmatch(r"[a-zA-Z-]+(?:\.[a-zA-Z-]+)?", cat) or len(cat) > 32:
                raise RecordError(f"bad category {cat[:40]!r}")
            if cat not in cats:
                cats.append(cat)
        if len(cats) > MAX_CATEGORIES:
            raise RecordError(f"too many categories ({len(cats)})")
        record.categories = cats
    if record.withdrawn is None and record.comments is not None:
        record.withdrawn = is_withdrawn(record.comments)
    record.valid = True
    return record


# Paper fields that come from records, and the record attribute feeding each.
FIELDS = {
    "version": "version",
    "title": "title",
    "abstract": "abstract",
    "author_names": "authors",
    "categories": "categories",
    "published_at": "published_at",
    "updated_at": "updated_at",
    "versions": "versions",
    "comments": "comments",
    "journal_ref": "journal_ref",
    "doi": "doi",
    "report_no": "report_no",
    "license": "license",
    "withdrawn": "withdrawn",
}
EMPTY = {
    "version": None, "title": "", "abstract": "", "author_names": [], "categories": [],
    "published_at": None, "updated_at": None, "versions": [], "comments": "",
    "journal_ref": "", "doi": "", "report_no": "", "license": "", "withdrawn": False,
}  # fmt: skip


def content_hash(values: dict) -> str:
    payload = json.dumps([values[name] for name in FIELDS], default=str, ensure_ascii=False)
    return hashlib.sha1(payload.encode()).hexdigest()


def merge_into(current: dict, record: PaperRecord) -> dict:
    values = dict(current)
    for name, attribute in FIELDS.items():
        incoming = getattr(record, attribute)
        if incoming is not None:
            values[name] = incoming
    # The first-version date only moves earlier, the latest-version date only later.
    if current["published_at"] and record.published_at:
        values["published_at"] = min(current["published_at"], record.published_at)
    if current["updated_at"] and record.updated_at:
        values["updated_at"] = max(current["updated_at"], record.updated_at)
    if record.versions is not None and len(record.versions) < len(current["versions"]):
        values["versions"] = current["versions"]
    if values["published_at"] and not values["updated_at"]:
        values["updated_at"] = values["published_at"]
    return values


def record_hash(record: PaperRecord) -> str:
    """Content hash of the paper this record alone describes (cached on the record, so
    the parser process can compute it for the importing process)."""
    if record.digest is None:
        record.digest = content_hash(merge_into(EMPTY, record))
    return record.digest
