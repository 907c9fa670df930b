"""The arXiv metadata snapshot: the public bulk dump, one JSON object per line.

Read as a stream (any size, bounded memory), gzip or plain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from paperfeed.papers.records import (
    Checkpoint,
    PaperRecord,
    RecordError,
    Rejected,
    record_hash,
    validate,
)
from paperfeed.papers.sources.common import (
    open_binary,
    parse_datetime,
    sorted_versions,
    split_authors,
    version_number,
    versions_from,
)

CHECKPOINT_EVERY = 2_000
CHUNK = 1_000  # items per message from the parser process
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
        return _parse_line(line, place)
    except (TypeError, AttributeError) as exc:  # a field of an unexpected JSON type
        raise RecordError(f"unexpected value types ({exc})") from exc


def _parse_line(line: bytes, place: str) -> PaperRecord:
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RecordError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise RecordError("not a JSON object")
    if not isinstance(data.get("id"), str):
        raise RecordError("no id")
    raw_versions = data.get("versions") or []
    if not isinstance(raw_versions, list) or not all(isinstance(v, dict) for v in raw_versions):
        raise RecordError("versions is not a list of objects")
    versions = sorted_versions(
        [
            (version_number(v.get("version", "")), parse_datetime(v.get("created")))
            for v in raw_versions
        ]
    )
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
            except RecordError as exc:
                yield Rejected(place, str(exc))
        if number % CHECKPOINT_EVERY == 0:
            yield Checkpoint(str(number))
    yield Checkpoint(str(max(number, start_line)))


def produce(path: str, start_line: int, queue) -> None:
    """Body of the parser process: read, parse and validate a snapshot, and send
    (file position, items) chunks on `queue`, then None; ("error", text) if it failed.

    It imports no models and touches no database, so it runs in a fresh interpreter.
    """
    try:
        stream, raw = open_binary(path)
        with raw:
            chunk: list = []
            for item in read_snapshot(stream, Path(path).name, start_line):
                if isinstance(item, PaperRecord):
                    try:
                        item = validate(item)
                        record_hash(item)  # spare the importing process this work
                    except RecordError as exc:
                        item = Rejected(item.place, str(exc))
                chunk.append(item)
                if isinstance(item, Checkpoint) or len(chunk) >= CHUNK:
                    queue.put((raw.tell(), chunk))
                    chunk = []
            queue.put((raw.tell(), chunk))
        queue.put(None)
    except Exception as exc:  # noqa: BLE001 - reported to the importing process
        queue.put(("error", f"{type(exc).__name__}: {exc}"))
