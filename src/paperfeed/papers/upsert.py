"""The one way papers get into the database: `store_batch` merges records into papers.

Rules (docs/architecture.md explains why):
- a paper is keyed by its arXiv id without version, whatever the source;
- a field a source does not know (None) keeps the stored value;
- a record of an older version than the stored one changes nothing (it may still list);
- unchanged metadata (same content hash) writes nothing, so re-imports are free;
- votes, comments and listings hang off the paper row and are never touched here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from paperfeed.papers.links import classify, extract_links
from paperfeed.papers.models import (
    Author,
    CodeLink,
    Listing,
    Paper,
    PaperAuthor,
    PaperCategory,
)
from paperfeed.papers.records import PaperRecord, author_slug

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
TEXT_LINK_SOURCE = "text"  # links found in the abstract or comments


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    listed: int = 0


def content_hash(values: dict) -> str:
    payload = json.dumps([values[name] for name in FIELDS], default=str, ensure_ascii=False)
    return hashlib.sha1(payload.encode()).hexdigest()


def _merge(current: dict, record: PaperRecord) -> dict:
    values = dict(current)
    for field, attribute in FIELDS.items():
        incoming = getattr(record, attribute)
        if incoming is not None:
            values[field] = incoming
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


def _is_stale(paper: Paper, record: PaperRecord) -> bool:
    return bool(record.version and paper.version and record.version < paper.version)


def store_batch(records: list[PaperRecord]) -> BatchResult:
    """Merge validated records (one per arXiv id) into the database, in one transaction."""
    result = BatchResult()
    if not records:
        return result
    with transaction.atomic():
        existing = {
            p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=[r.arxiv_id for r in records])
        }
        now = timezone.now()
        created: list[tuple[Paper, PaperRecord]] = []
        changed: list[tuple[Paper, PaperRecord, bool, bool, bool]] = []
        for record in records:
            paper = existing.get(record.arxiv_id)
            if paper is None:
                values = _merge(EMPTY, record)
                paper = Paper(
                    arxiv_id=record.arxiv_id,
                    source=record.source,
                    content_hash=content_hash(values),
                    primary_category=(values["categories"] or [""])[0],
                    created_at=now,
                    modified_at=now,
                    **values,
                )
                created.append((paper, record))
                result.new += 1
                continue
            if _is_stale(paper, record):
                result.unchanged += 1
                continue
            current = {name: getattr(paper, name) for name in FIELDS}
            values = _merge(current, record)
            digest = content_hash(values)
            if digest == paper.content_hash:
                result.unchanged += 1
                continue
            for name, value in values.items():
                setattr(paper, name, value)
            paper.primary_category = (values["categories"] or [""])[0]
            paper.content_hash = digest
            paper.modified_at = now
            changed.append(
                (
                    paper,
                    record,
                    values["author_names"] != current["author_names"],
                    values["categories"] != current["categories"],
                    (values["abstract"], values["comments"])
                    != (current["abstract"], current["comments"]),
                )
            )
            result.updated += 1

        Paper.objects.bulk_create([paper for paper, _ in created])
        if changed:
            Paper.objects.bulk_update(
                [item[0] for item in changed],
                [*FIELDS, "primary_category", "content_hash", "modified_at"],
            )
        new_papers = [paper for paper, _ in created]
        _index_authors(
            new_papers + [c[0] for c in changed if c[2]], replace=[c[0] for c in changed if c[2]]
        )
        _index_categories(
            new_papers + [c[0] for c in changed if c[3]], replace=[c[0] for c in changed if c[3]]
        )
        _index_links(new_papers, changed)
        papers_by_id = {p.arxiv_id: p for p in existing.values()} | {
            p.arxiv_id: p for p in new_papers
        }
        _add_stated_links(records, papers_by_id)
        result.listed = _add_listings(records, papers_by_id)
    return result


def _index_authors(papers: list[Paper], replace: list[Paper]) -> None:
    if not papers:
        return
    if replace:
        PaperAuthor.objects.filter(paper__in=replace).delete()
    names: dict[str, str] = {}
    for paper in papers:
        for name in paper.author_names:
            names.setdefault(author_slug(name), name)
    ids = dict(Author.objects.filter(slug__in=list(names)).values_list("slug", "id"))
    missing = [Author(slug=slug, name=name) for slug, name in names.items() if slug not in ids]
    if missing:
        Author.objects.bulk_create(missing, ignore_conflicts=True)
        ids.update(
            Author.objects.filter(slug__in=[a.slug for a in missing]).values_list("slug", "id")
        )
    rows = []
    for paper in papers:
        seen = set()
        for position, name in enumerate(paper.author_names):
            author_id = ids[author_slug(name)]
            if author_id in seen:  # the same person listed twice
                continue
            seen.add(author_id)
            rows.append(PaperAuthor(paper_id=paper.pk, author_id=author_id, position=position))
    PaperAuthor.objects.bulk_create(rows)


def _index_categories(papers: list[Paper], replace: list[Paper]) -> None:
    if replace:
        PaperCategory.objects.filter(paper__in=replace).delete()
    PaperCategory.objects.bulk_create(
        [
            PaperCategory(paper_id=paper.pk, category=category, is_primary=(i == 0))
            for paper in papers
            for i, category in enumerate(paper.categories)
        ]
    )


def _index_links(new_papers: list[Paper], changed: list) -> None:
    rows = []
    text_changed = [paper for paper, _, _, _, text in changed if text]
    if text_changed:
        CodeLink.objects.filter(paper__in=text_changed, source=TEXT_LINK_SOURCE).delete()
    for paper in new_papers + text_changed:
        for kind, url in extract_links(paper.abstract, paper.comments):
            rows.append(CodeLink(paper_id=paper.pk, kind=kind, url=url, source=TEXT_LINK_SOURCE))
    if rows:
        CodeLink.objects.bulk_create(rows, ignore_conflicts=True)


def _record_links(record: PaperRecord) -> list[tuple[str, str]]:
    """Links a source states outright (HF's githubRepo, projectPage), normalised."""
    found = []
    for kind, url in record.links:
        normalised = classify(url)
        found.append(normalised if normalised else (kind, url.strip().rstrip("/")))
    return [(kind, url) for kind, url in found if url.startswith(("http://", "https://"))]


def _add_stated_links(records: list[PaperRecord], papers: dict[str, Paper]) -> None:
    rows = [
        CodeLink(paper_id=papers[r.arxiv_id].pk, kind=k, url=u, source=r.source)
        for r in records
        if r.links and r.arxiv_id in papers
        for k, u in _record_links(r)
    ]
    if rows:
        CodeLink.objects.bulk_create(rows, ignore_conflicts=True)


def _add_listings(records: list[PaperRecord], papers: dict[str, Paper]) -> int:
    wanted = [(papers[r.arxiv_id], r) for r in records if r.listing and r.arxiv_id in papers]
    if not wanted:
        return 0
    dates = {r.listing.date for _, r in wanted}
    present = set(
        Listing.objects.filter(paper__in=[p for p, _ in wanted], date__in=dates).values_list(
            "paper_id", "date"
        )
    )
    rows = []
    for paper, record in wanted:
        key = (paper.pk, record.listing.date)
        if key in present:
            continue
        present.add(key)
        rows.append(
            Listing(
                paper_id=paper.pk,
                date=record.listing.date,
                source=record.listing.source,
                submitter_name=record.listing.submitter_name,
                announce_type=record.listing.announce_type,
            )
        )
    Listing.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
