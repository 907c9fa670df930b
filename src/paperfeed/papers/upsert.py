"""The one way papers get into the database: `store_batch` merges records into papers.

Rules (docs/architecture.md explains why):
- a paper is keyed by its arXiv id without version, whatever the source;
- a field a source does not know (None) keeps the stored value;
- a record of an older version than the stored one changes nothing (it may still list);
- unchanged metadata (same content hash) writes nothing, so re-imports are cheap;
- votes, comments and listings hang off the paper row and are never touched here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from paperfeed.papers.bulk import insert_rows, select_in
from paperfeed.papers.links import classify, extract_links
from paperfeed.papers.models import (
    Author,
    CodeLink,
    Listing,
    Paper,
    PaperAuthor,
    PaperCategory,
)
from paperfeed.papers.records import (
    EMPTY,
    FIELDS,
    PaperRecord,
    author_slug,
    content_hash,
    merge_into,
    record_hash,
)
from paperfeed.papers.signals import papers_stored

NEW_PAPER_COLUMNS = [
    "arxiv_id", *FIELDS, "primary_category", "content_hash", "source",
    "upvotes", "num_comments", "created_at", "modified_at",
]  # fmt: skip
TEXT_LINK_SOURCE = "text"  # links found in the abstract or comments


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    listed: int = 0


def store_batch(records: list[PaperRecord]) -> BatchResult:
    """Merge validated records (one per arXiv id) into the database, in one transaction."""
    result = BatchResult()
    if not records:
        return result
    with transaction.atomic():
        stored = {
            arxiv_id: (pk, digest, version)
            for arxiv_id, pk, digest, version in select_in(
                Paper,
                "arxiv_id",
                [r.arxiv_id for r in records],
                ["arxiv_id", "id", "content_hash", "version"],
            )
        }
        now = timezone.now()
        created: list[tuple[PaperRecord, dict, str]] = []
        to_merge: list[PaperRecord] = []
        for record in records:
            known = stored.get(record.arxiv_id)
            if known is None:
                values = merge_into(EMPTY, record)
                created.append((record, values, record_hash(record)))
            elif record.version and known[2] and record.version < known[2]:
                result.unchanged += 1  # an older version than the one stored
            elif record_hash(record) == known[1]:
                result.unchanged += 1  # a complete record equal to what is stored
            else:
                to_merge.append(record)
        result.new = len(created)
        ids = _insert_papers(created, now)
        changed = _update_papers(to_merge, now, result)

        _index_authors([(ids[r.arxiv_id], v["author_names"]) for r, v, _ in created]
                       + [(p.pk, p.author_names) for p, *flags in changed if flags[0]],
                       replace=[p.pk for p, *flags in changed if flags[0]])  # fmt: skip
        _index_categories([(ids[r.arxiv_id], v["categories"]) for r, v, _ in created]
                          + [(p.pk, p.categories) for p, *flags in changed if flags[1]],
                          replace=[p.pk for p, *flags in changed if flags[1]])  # fmt: skip
        _index_links([(ids[r.arxiv_id], v["abstract"], v["comments"]) for r, v, _ in created]
                     + [(p.pk, p.abstract, p.comments) for p, *flags in changed if flags[2]],
                     replace=[p.pk for p, *flags in changed if flags[2]])  # fmt: skip
        if ids or changed:
            papers_stored.send(
                sender=Paper, created=list(ids.values()), changed=[p.pk for p, *_ in changed]
            )
        pks = {arxiv_id: known[0] for arxiv_id, known in stored.items()} | ids
        _add_stated_links(records, pks)
        result.listed = _add_listings(records, pks)
    return result


def _insert_papers(created: list[tuple[PaperRecord, dict, str]], now) -> dict[str, int]:
    """Insert new papers; returns their primary keys by arXiv id."""
    if not created:
        return {}
    rows = [
        (
            record.arxiv_id,
            *values.values(),
            (values["categories"] or [""])[0],
            digest,
            record.source,
            0,
            0,
            now,
            now,
        )
        for record, values, digest in created
    ]
    insert_rows(Paper, NEW_PAPER_COLUMNS, rows)
    return dict(
        select_in(Paper, "arxiv_id", [r.arxiv_id for r, _, _ in created], ["arxiv_id", "id"])
    )


def _update_papers(records: list[PaperRecord], now, result: BatchResult) -> list[tuple]:
    """Merge records into stored papers; returns (paper, authors?, categories?, text?) changed."""
    if not records:
        return []
    papers = Paper.objects.in_bulk([r.arxiv_id for r in records], field_name="arxiv_id")
    changed = []
    for record in records:
        paper = papers[record.arxiv_id]
        current = {name: getattr(paper, name) for name in FIELDS}
        values = merge_into(current, record)
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
                values["author_names"] != current["author_names"],
                values["categories"] != current["categories"],
                (values["abstract"], values["comments"])
                != (current["abstract"], current["comments"]),
            )
        )
        result.updated += 1
    if changed:
        Paper.objects.bulk_update(
            [item[0] for item in changed],
            [*FIELDS, "primary_category", "content_hash", "modified_at"],
        )
    return changed


def _index_authors(papers: list[tuple[int, list[str]]], replace: list[int]) -> None:
    if replace:
        PaperAuthor.objects.filter(paper_id__in=replace).delete()
    if not papers:
        return
    slugged = [(pk, [(author_slug(name), name) for name in names]) for pk, names in papers]
    names = {slug: name for _, pairs in slugged for slug, name in pairs}
    ids = dict(select_in(Author, "slug", list(names), ["slug", "id"]))
    missing = [(slug, name) for slug, name in names.items() if slug not in ids]
    if missing:
        insert_rows(Author, ["slug", "name"], missing, ignore_conflicts=True)
        ids.update(select_in(Author, "slug", [slug for slug, _ in missing], ["slug", "id"]))
    rows = []
    for pk, pairs in slugged:
        seen = set()
        for position, (slug, _) in enumerate(pairs):
            author_id = ids[slug]
            if author_id not in seen:  # the same person listed twice
                seen.add(author_id)
                rows.append((pk, author_id, position))
    insert_rows(PaperAuthor, ["paper_id", "author_id", "position"], rows)


def _index_categories(papers: list[tuple[int, list[str]]], replace: list[int]) -> None:
    if replace:
        PaperCategory.objects.filter(paper_id__in=replace).delete()
    rows = [(pk, cat, i == 0) for pk, categories in papers for i, cat in enumerate(categories)]
    insert_rows(PaperCategory, ["paper_id", "category", "is_primary"], rows)


def _index_links(papers: list[tuple[int, str, str]], replace: list[int]) -> None:
    if replace:
        CodeLink.objects.filter(paper_id__in=replace, source=TEXT_LINK_SOURCE).delete()
    rows = [
        (pk, kind, url, TEXT_LINK_SOURCE)
        for pk, abstract, comments in papers
        for kind, url in extract_links(abstract, comments)
    ]
    insert_rows(CodeLink, ["paper_id", "kind", "url", "source"], rows, ignore_conflicts=True)


def _record_links(record: PaperRecord) -> list[tuple[str, str]]:
    """Links a source states outright (HF's githubRepo, projectPage), normalised."""
    found = []
    for kind, url in record.links:
        normalised = classify(url)
        found.append(normalised if normalised else (kind, url.strip().rstrip("/")))
    return [(kind, url) for kind, url in found if url.startswith(("http://", "https://"))]


def _add_stated_links(records: list[PaperRecord], pks: dict[str, int]) -> None:
    rows = [
        (pks[r.arxiv_id], kind, url, r.source)
        for r in records
        if r.links and r.arxiv_id in pks
        for kind, url in _record_links(r)
    ]
    insert_rows(CodeLink, ["paper_id", "kind", "url", "source"], rows, ignore_conflicts=True)


def _add_listings(records: list[PaperRecord], pks: dict[str, int]) -> int:
    wanted = [(pks[r.arxiv_id], r.listing) for r in records if r.listing and r.arxiv_id in pks]
    if not wanted:
        return 0
    present = set(
        Listing.objects.filter(
            paper_id__in=[pk for pk, _ in wanted], date__in={listing.date for _, listing in wanted}
        ).values_list("paper_id", "date")
    )
    rows = []
    for pk, listing in wanted:
        if (pk, listing.date) in present:
            continue
        present.add((pk, listing.date))
        rows.append(
            Listing(
                paper_id=pk,
                date=listing.date,
                source=listing.source,
                submitter_name=listing.submitter_name,
                announce_type=listing.announce_type,
            )
        )
    Listing.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
