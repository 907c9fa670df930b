"""arXiv OAI-PMH: bulk harvesting of a category over a date range, resumable by token.

Both metadata formats arXiv offers are read: `arXivRaw` (the default: it lists every
version with its date) and `arXiv` (structured author names, no versions).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.conf import settings

from paperfeed.papers.http import PoliteClient, UpstreamError
from paperfeed.papers.records import Checkpoint, PaperRecord, RecordError, Rejected
from paperfeed.papers.sources.common import (
    parse_datetime,
    parse_xml,
    sorted_versions,
    split_authors,
    text_of,
    version_number,
    versions_from,
)

NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "raw": "http://arxiv.org/OAI/arXivRaw/",
    "arxiv": "http://arxiv.org/OAI/arXiv/",
}
PHYSICS_ARCHIVES = {
    "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph",
    "nlin", "nucl-ex", "nucl-th", "physics", "quant-ph",
}  # fmt: skip


def set_spec(category: str) -> str:
    """OAI set of a category: cs.LG -> cs:cs:LG, hep-th -> physics:hep-th, math -> math."""
    archive, _, subject = category.partition(".")
    group = "physics" if archive in PHYSICS_ARCHIVES else archive
    if subject:
        return f"{group}:{archive}:{subject}"
    return group if group == archive else f"{group}:{archive}"


def parse_page(body: bytes, where: str) -> tuple[list[PaperRecord | Rejected], str | None]:
    """Records of one ListRecords page and the resumption token (None at the end)."""
    root = parse_xml(body, where)
    if root.tag != f"{{{NS['oai']}}}OAI-PMH":
        raise RecordError(f"{where}: not an OAI-PMH response (root {root.tag!r})")
    error = root.find("oai:error", NS)
    if error is not None:
        if error.get("code") == "noRecordsMatch":
            return [], None
        raise UpstreamError(
            f"{where}: OAI-PMH error {error.get('code')}: {(error.text or '').strip()}"
        )
    listing = root.find("oai:ListRecords", NS)
    if listing is None:
        raise RecordError(f"{where}: no ListRecords element")
    items: list[PaperRecord | Rejected] = []
    for index, record in enumerate(listing.findall("oai:record", NS), start=1):
        header = record.find("oai:header", NS)
        identifier = text_of(header, "oai:identifier", NS) if header is not None else None
        place = f"{where} record {index} ({(identifier or '?').strip()})"
        if header is not None and header.get("status") == "deleted":
            continue
        try:
            items.append(_record(record, place))
        except RecordError as exc:
            items.append(Rejected(place, str(exc)))
    token_el = listing.find("oai:resumptionToken", NS)
    token = (token_el.text or "").strip() if token_el is not None else ""
    return items, token or None


def _record(record, place: str) -> PaperRecord:
    raw = record.find("oai:metadata/raw:arXivRaw", NS)
    if raw is not None:
        return _raw_record(raw, place)
    structured = record.find("oai:metadata/arxiv:arXiv", NS)
    if structured is not None:
        return _arxiv_record(structured, place)
    raise RecordError("no arXivRaw or arXiv metadata")


def _raw_record(meta, place: str) -> PaperRecord:
    versions = sorted_versions(
        [
            (
                version_number(element.get("version") or ""),
                parse_datetime(text_of(element, "raw:date", NS)),
            )
            for element in meta.findall("raw:version", NS)
        ]
    )
    return PaperRecord(
        arxiv_id=(text_of(meta, "raw:id", NS) or "").strip(),
        version=versions[-1][0] if versions else None,
        title=text_of(meta, "raw:title", NS) or "",
        abstract=text_of(meta, "raw:abstract", NS),
        authors=split_authors(text_of(meta, "raw:authors", NS)),
        categories=(text_of(meta, "raw:categories", NS) or "").split(),
        published_at=versions[0][1] if versions else None,
        updated_at=versions[-1][1] if versions else None,
        versions=versions_from(versions) if versions else None,
        comments=text_of(meta, "raw:comments", NS),
        journal_ref=text_of(meta, "raw:journal-ref", NS),
        doi=text_of(meta, "raw:doi", NS),
        report_no=text_of(meta, "raw:report-no", NS),
        license=text_of(meta, "raw:license", NS),
        source="oai-pmh",
        place=place,
    )


def _arxiv_record(meta, place: str) -> PaperRecord:
    authors = []
    for author in meta.findall("arxiv:authors/arxiv:author", NS):
        parts = [text_of(author, f"arxiv:{p}", NS) for p in ("forenames", "keyname", "suffix")]
        authors.append(" ".join(p.strip() for p in parts if p and p.strip()))
    created = parse_datetime(text_of(meta, "arxiv:created", NS))
    updated = parse_datetime(text_of(meta, "arxiv:updated", NS))
    return PaperRecord(
        arxiv_id=(text_of(meta, "arxiv:id", NS) or "").strip(),
        title=text_of(meta, "arxiv:title", NS) or "",
        abstract=text_of(meta, "arxiv:abstract", NS),
        authors=authors,
        categories=(text_of(meta, "arxiv:categories", NS) or "").split(),
        published_at=created,
        updated_at=updated or created,
        comments=text_of(meta, "arxiv:comments", NS),
        journal_ref=text_of(meta, "arxiv:journal-ref", NS),
        doi=text_of(meta, "arxiv:doi", NS),
        report_no=text_of(meta, "arxiv:report-no", NS),
        license=text_of(meta, "arxiv:license", NS),
        source="oai-pmh",
        place=place,
    )


def harvest(
    category: str,
    *,
    from_date: date | None = None,
    until_date: date | None = None,
    resume_token: str | None = None,
    metadata_prefix: str = "arXivRaw",
    client: PoliteClient | None = None,
) -> Iterator[PaperRecord | Rejected | Checkpoint]:
    """Every record of a category in the date range, page by page.

    After each page a Checkpoint carries the next resumption token, so an interrupted
    harvest resumes from the page it had not finished.
    """
    own_client = client is None
    client = client or PoliteClient("arXiv OAI-PMH", min_interval=settings.PAPERFEED_ARXIV_DELAY)
    if resume_token:
        params = {"verb": "ListRecords", "resumptionToken": resume_token}
    else:
        params = {
            "verb": "ListRecords",
            "metadataPrefix": metadata_prefix,
            "set": set_spec(category),
        }
        if from_date:
            params["from"] = from_date.isoformat()
        if until_date:
            params["until"] = until_date.isoformat()
    page = 0
    try:
        while True:
            page += 1
            body = client.get(settings.PAPERFEED_ARXIV_OAI_URL, params=params)
            try:
                items, token = parse_page(body, f"OAI-PMH {category} page {page}")
            except RecordError as exc:
                # A broken page is an upstream failure: nothing of it is stored, and the
                # run can resume from the token that fetched it.
                raise UpstreamError(str(exc)) from exc
            yield from items
            yield Checkpoint(token or "")
            if not token:
                return
            params = {"verb": "ListRecords", "resumptionToken": token}
    finally:
        if own_client:
            client.close()
