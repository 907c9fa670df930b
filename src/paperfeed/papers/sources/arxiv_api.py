"""The arXiv API (Atom): metadata for any list of ids, and saved Atom files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from django.conf import settings

from paperfeed.papers.http import PoliteClient, UpstreamError
from paperfeed.papers.records import PaperRecord, RecordError, Rejected, parse_arxiv_id
from paperfeed.papers.sources.common import parse_datetime, parse_xml, text_of

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
BATCH = 100  # ids per API call
ARXIV_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")


def parse_atom(body: bytes, where: str = "arXiv API") -> Iterator[PaperRecord | Rejected]:
    """Records from one arXiv API Atom document. A broken document raises RecordError."""
    root = parse_xml(body, where)
    if root.tag != f"{{{NS['atom']}}}feed":
        raise RecordError(f"{where}: not an Atom feed (root element {root.tag!r})")
    for index, entry in enumerate(root.findall("atom:entry", NS), start=1):
        place = f"{where} entry {index}"
        try:
            yield _entry_record(entry, place)
        except RecordError as exc:
            yield Rejected(place, str(exc))


def _entry_record(entry, place: str) -> PaperRecord:
    entry_id = (text_of(entry, "atom:id", NS) or "").strip()
    title = text_of(entry, "atom:title", NS)
    if "/api/errors" in entry_id or (title or "").strip() == "Error":
        raise RecordError(f"arXiv API error: {(text_of(entry, 'atom:summary', NS) or '').strip()}")
    arxiv_id, version = parse_arxiv_id(entry_id)
    place = f"{place} ({arxiv_id})"
    categories = [c.get("term", "") for c in entry.findall("atom:category", NS)]
    primary = entry.find("arxiv:primary_category", NS)
    if primary is not None and primary.get("term"):
        term = primary.get("term")
        categories = [term] + [c for c in categories if c != term]
    published = parse_datetime(text_of(entry, "atom:published", NS))
    updated = parse_datetime(text_of(entry, "atom:updated", NS))
    license_link = next(
        (
            link.get("href")
            for link in entry.findall("atom:link", NS)
            if link.get("rel") == "license"
        ),
        None,
    )
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title or "",
        abstract=text_of(entry, "atom:summary", NS),
        authors=[text_of(a, "atom:name", NS) or "" for a in entry.findall("atom:author", NS)],
        # The API also lists ACM and MSC codes as categories ("I.2.6", "68T05"): drop them.
        categories=[c for c in categories if ARXIV_CATEGORY.fullmatch(c)],
        published_at=published,
        updated_at=updated if version and version > 1 else published,
        comments=text_of(entry, "arxiv:comment", NS),
        journal_ref=text_of(entry, "arxiv:journal_ref", NS),
        doi=text_of(entry, "arxiv:doi", NS),
        license=license_link,
        source="arxiv-api",
        place=place,
    )


def fetch_ids(ids: Iterable[str], client: PoliteClient | None = None) -> Iterator:
    """Records for the given ids (versions and URLs accepted), BATCH ids per call.

    Ids arXiv does not know come back as Rejected with a clear reason.
    """
    wanted: list[str] = []
    for raw in ids:
        try:
            arxiv_id, _ = parse_arxiv_id(raw)
        except RecordError as exc:
            yield Rejected(raw, str(exc))
            continue
        if arxiv_id not in wanted:
            wanted.append(arxiv_id)
    own_client = client is None
    client = client or PoliteClient("arXiv API", min_interval=settings.PAPERFEED_ARXIV_DELAY)
    try:
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            body = client.get(
                settings.PAPERFEED_ARXIV_API_URL,
                params={"id_list": ",".join(batch), "max_results": str(len(batch))},
            )
            try:
                items = list(parse_atom(body, f"arXiv API ({batch[0]}..)"))
            except RecordError as exc:
                raise UpstreamError(str(exc)) from exc
            seen = set()
            for item in items:
                if isinstance(item, PaperRecord):
                    seen.add(item.arxiv_id)
                yield item
            for missing in batch:
                if missing not in seen and not any(isinstance(i, Rejected) for i in items):
                    yield Rejected(missing, "not found on arXiv")
    finally:
        if own_client:
            client.close()
