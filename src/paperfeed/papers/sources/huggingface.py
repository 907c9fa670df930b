"""Hugging Face daily papers (`/api/daily_papers`), live or from a saved JSON file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from django.conf import settings

from paperfeed.papers.http import PoliteClient, UpstreamError
from paperfeed.papers.records import ListingInfo, PaperRecord, RecordError, Rejected
from paperfeed.papers.sources.common import parse_datetime

PAGE_SIZE = 100


def parse_daily(body: bytes | str, where: str, list_date: date | None = None) -> Iterator:
    """Records (with their listing) from one daily_papers JSON answer."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RecordError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(items, list):
        raise RecordError(f"{where}: expected a JSON list of daily papers")
    for index, item in enumerate(items, start=1):
        place = f"{where} item {index}"
        try:
            yield _record(item, place, list_date)
        except (RecordError, AttributeError, TypeError, KeyError) as exc:
            reason = str(exc) if isinstance(exc, RecordError) else f"unexpected shape ({exc})"
            yield Rejected(place, reason)


def _record(item: dict, place: str, list_date: date | None) -> PaperRecord:
    paper = item.get("paper")
    if not isinstance(paper, dict) or not isinstance(paper.get("id"), str):
        raise RecordError("no paper.id")
    place = f"{place} ({paper['id']})"
    authors = paper.get("authors") or []
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    submitted = parse_datetime(paper.get("submittedOnDailyAt"))
    day = list_date or (submitted.date() if submitted else None)
    submitter = item.get("submittedBy") or paper.get("submittedOnDailyBy") or {}
    links = []
    if isinstance(paper.get("githubRepo"), str) and paper["githubRepo"]:
        links.append(("github", paper["githubRepo"]))
    if isinstance(paper.get("projectPage"), str) and paper["projectPage"]:
        links.append(("project", paper["projectPage"]))
    record = PaperRecord(
        arxiv_id=paper["id"],
        title=paper.get("title") or item.get("title") or "",
        abstract=paper.get("summary") or item.get("summary"),
        authors=names,
        published_at=parse_datetime(paper.get("publishedAt") or item.get("publishedAt")),
        links=links,
        source="hf",
        place=place,
    )
    if day:
        name = submitter.get("name") if isinstance(submitter, dict) else None
        record.listing = ListingInfo(date=day, source="hf", submitter_name=str(name or "")[:150])
    return record


def fetch_daily(list_date: date, client: PoliteClient | None = None) -> Iterator:
    own_client = client is None
    client = client or PoliteClient("Hugging Face API", min_interval=0.5)
    url = settings.PAPERFEED_HF_API_URL.rstrip("/") + "/api/daily_papers"
    try:
        page = 0
        while True:
            body = client.get(
                url, params={"date": list_date.isoformat(), "limit": PAGE_SIZE, "p": page}
            )
            try:
                items = list(
                    parse_daily(body, f"HF daily papers {list_date} page {page}", list_date)
                )
            except RecordError as exc:
                raise UpstreamError(str(exc)) from exc
            yield from items
            if len(items) < PAGE_SIZE:
                return
            page += 1
    finally:
        if own_client:
            client.close()
