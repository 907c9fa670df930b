"""arXiv's daily announcements ("what is new today"), read from its per-category RSS.

The feed gives title, authors, abstract and categories; the comments field (where code
links usually are) and exact dates come from the arXiv API afterwards (see ingest.py).
"""

from __future__ import annotations

import email.utils
import io
import re
from collections.abc import Iterator

import feedparser
from django.conf import settings

from paperfeed.papers.http import PoliteClient
from paperfeed.papers.records import ListingInfo, PaperRecord, RecordError, Rejected
from paperfeed.papers.sources.common import split_authors

ABSTRACT = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:)?\s*", re.I)
LISTED_TYPES = {"new", "cross"}  # replacements update papers but are not new today


def listing_url(category: str) -> str:
    return settings.PAPERFEED_ARXIV_LISTING_URL.rstrip("/") + "/" + category


def parse_rss(body: bytes, where: str) -> Iterator[PaperRecord | Rejected]:
    try:
        # A BytesIO, never the bytes: given a str or bytes, feedparser would first try
        # to open it as a file name or URL.
        feed = feedparser.parse(io.BytesIO(body))
    except Exception as exc:  # noqa: BLE001 - feedparser's fallback parser raises anything
        raise RecordError(f"{where}: unreadable feed ({type(exc).__name__}: {exc})") from exc
    if feed.bozo and not feed.entries:
        raise RecordError(f"{where}: malformed feed ({feed.get('bozo_exception')})")
    if "title" not in feed.feed and not feed.entries:
        raise RecordError(f"{where}: not an RSS feed")
    published = feed.feed.get("published")
    try:
        announced = email.utils.parsedate_to_datetime(published).date() if published else None
    except (TypeError, ValueError, OverflowError, IndexError):
        announced = None
    for index, item in enumerate(feed.entries, start=1):
        place = f"{where} item {index}"
        try:
            guid = item.get("id") or item.get("link") or ""
            announce_type = (item.get("arxiv_announce_type") or "new").strip().lower()
            record = PaperRecord(
                arxiv_id=guid,
                title=item.get("title", ""),
                abstract=ABSTRACT.sub("", item.get("summary", "")),
                authors=split_authors(item.get("author")),
                categories=[tag.get("term", "") for tag in item.get("tags", [])],
                license=item.get("rights"),
                source="arxiv-listing",
                place=f"{place} ({guid})",
            )
            if announced and announce_type in LISTED_TYPES:
                record.listing = ListingInfo(
                    date=announced, source="announcement", announce_type=announce_type
                )
            yield record
        except RecordError as exc:
            yield Rejected(place, str(exc))


def fetch_listing(category: str, client: PoliteClient | None = None):
    """Records of today's announcement for one category."""
    own_client = client is None
    client = client or PoliteClient("arXiv listing", min_interval=settings.PAPERFEED_ARXIV_DELAY)
    try:
        body = client.get(listing_url(category))
    finally:
        if own_client:
            client.close()
    return parse_rss(body, f"arXiv listing {category}")
