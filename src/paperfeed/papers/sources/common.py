"""Small parsing helpers shared by the sources."""

from __future__ import annotations

import email.utils
import gzip
import re
from datetime import UTC, datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from paperfeed.papers.records import RecordError

VERSION_LABEL = re.compile(r"v?([0-9]{1,4})")


def open_binary(path):
    """(stream, raw file): the file's bytes, gunzipped when it is gzip; `raw` gives the
    position in the file itself and is what the caller closes."""
    raw = open(path, "rb")  # noqa: SIM115 - the caller closes it
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw), raw
    raw.seek(0)
    return raw, raw


def parse_xml(body: bytes, what: str):
    """Parse untrusted XML with no entity expansion; RecordError says why it failed."""
    try:
        return fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise RecordError(f"{what}: refused unsafe XML ({type(exc).__name__})") from exc
    except SyntaxError as exc:
        raise RecordError(f"{what}: malformed XML ({exc})") from exc
    except (ValueError, LookupError) as exc:  # unsupported or unknown declared encoding
        raise RecordError(f"{what}: unreadable XML ({exc})") from exc


MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}


def _rfc2822_gmt(value: str) -> datetime | None:
    """Fast path for arXiv's "Mon, 2 Apr 2007 19:18:42 GMT" (the snapshot's only form)."""
    parts = value.split()
    if len(parts) != 6 or parts[5] != "GMT" or parts[2] not in MONTHS:
        return None
    clock = parts[4].split(":")
    if len(clock) != 3 or not all(p.isdigit() for p in (parts[1], parts[3], *clock)):
        return None
    try:
        return datetime(
            int(parts[3]), MONTHS[parts[2]], int(parts[1]), *map(int, clock), tzinfo=UTC
        )
    except (ValueError, OverflowError):
        return None


def parse_datetime(value: str | None) -> datetime | None:
    """ISO 8601 (with Z) or RFC 2822 dates, returned timezone-aware in UTC."""
    if not value or not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if fast := _rfc2822_gmt(value):
        return fast
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            raise RecordError(f"bad date {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise RecordError(f"bad date {value[:40]!r}") from exc


def text_of(element, path: str, ns: dict[str, str]) -> str | None:
    found = element.find(path, ns)
    if found is None:
        return None
    return "".join(found.itertext())


def split_authors(value: str | None) -> list[str] | None:
    """Split arXiv's one-string author list: "A, B and C" (affiliations in parentheses)."""
    if value is None:
        return None
    depth, current, names = 0, [], []
    text = " ".join(value.split())
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and (ch == "," or text.startswith(" and ", i)):
            names.append("".join(current))
            current = []
            i += 5 if ch == " " else 1
            continue
        if depth == 0 and ch not in "()":
            current.append(ch)
        i += 1
    names.append("".join(current))
    cleaned = []
    for name in names:
        name = name.strip().removeprefix("and ").strip()
        if name:
            cleaned.append(name)
    return cleaned


def version_number(label) -> int:
    """1 from "v1" or 1; RecordError for anything else (ASCII digits, at most 4)."""
    match = VERSION_LABEL.fullmatch(str(label))
    if not match:
        raise RecordError(f"bad version label {str(label)[:20]!r}")
    return int(match.group(1))


def sorted_versions(
    entries: list[tuple[int, datetime | None]],
) -> list[tuple[int, datetime | None]]:
    """Versions by number, one entry per number (a dated entry wins over an undated one)."""
    best: dict[int, datetime | None] = {}
    for number, when in entries:
        if best.get(number) is None:
            best[number] = when
    return sorted(best.items(), key=lambda item: item[0])


def versions_from(entries: list[tuple[int, datetime | None]]) -> list[dict]:
    return [
        {"version": number, "date": when.isoformat() if when else None} for number, when in entries
    ]
