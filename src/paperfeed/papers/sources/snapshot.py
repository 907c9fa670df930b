"""The arXiv metadata snapshot: the public bulk dump, one JSON object per line.

Read as a stream (any size, bounded memory), gzip or plain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from paperfeed.papers.records import Checkpoint, PaperRecord, RecordError, Rejected
from paperfeed.papers.sources.common import parse_datetime, split_authors, versions_from

CHECKPOINT_EVERY = 2_000
# Real lines are a few KB (a few hundred KB for papers with thousands of authors); a longer
# "line" is a broken or hostile file, and is skipped without holding it in memory.
MAX_LINE = 4 * 1024 * 1024


def _lines(stream):
    """Lines of a binary stream; an over-long line comes back as None, consumed in chunks."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def parse_line(line: bytes, place: str) -> PaperRecord:
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise RecordError("not a JSON object")
    if not isinstance(data.get("id"), str):
        raise RecordError("no id")
    versions = []
    for entry in data.get("versions") or []:
        if not isinstance(entry, dict):
            raise RecordError("bad versions list")
        label = str(entry.get("version", "")).lstrip("v")
        if not label.isdigit():
            raise RecordError(f"bad version label {entry.get('version')!r}")
        versions.append((int(label), parse_datetime(entry.get("created"))))
    versions.sort()
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed and all(isinstance(p, list) for p in parsed):
        authors = [
            " ".join(
                x.strip() for x in (p[1] if len(p) > 1 else "", p[0], *p[2:3]) if x and x.strip()
            )
            for p in parsed
            if p and all(isinstance(x, str) for x in p)
        ]
    else:
        authors = split_authors(data.get("authors") if isinstance(data.get("authors"), str) else "")
    categories = data.get("categories")
    return PaperRecord(
        arxiv_id=data["id"],
        version=versions[-1][0] if versions else None,
        title=data.get("title") or "",
        abstract=data.get("abstract"),
        authors=authors,
        categories=categories.split() if isinstance(categories, str) else None,
        published_at=versions[0][1] if versions else None,
        updated_at=versions[-1][1] if versions else None,
        versions=versions_from(versions) if versions else None,
        comments=data.get("comments"),
        journal_ref=data.get("journal-ref"),
        doi=data.get("doi"),
        report_no=data.get("report-no"),
        license=data.get("license"),
        source="arxiv-snapshot",
        place=place,
    )


def read_snapshot(stream, name: str, start_line: int = 0) -> Iterator:
    """Records from a binary line stream, skipping the first `start_line` lines.

    Every CHECKPOINT_EVERY lines a Checkpoint carries the number of lines read so far.
    """
    number = 0
    for number, line in enumerate(_lines(stream), start=1):
        if number <= start_line:
            continue
        if line is None:
            yield Rejected(f"{name}:{number}", f"line longer than {MAX_LINE:,} bytes")
        elif line.strip():
            place = f"{name}:{number}"
            try:
                yield parse_line(line, place)
            except (RecordError, TypeError, AttributeError) as exc:
                yield Rejected(place, str(exc))
        if number % CHECKPOINT_EVERY == 0:
            yield Checkpoint(str(number))
    yield Checkpoint(str(max(number, start_line)))
