"""Property-based tests: every parser meets random and mutated input with clear rejections.

The rule: a parser either yields/returns only PaperRecord, Rejected and Checkpoint objects,
or raises RecordError for a broken document (oai_pmh.parse_page also UpstreamError for an
OAI error element). Nothing else escapes: no KeyError, TypeError, ValueError,
OverflowError, RecursionError, UnicodeError... Every PaperRecord it yields then goes
through validate(), which returns it (normalised) or raises RecordError, and a validated
record keeps the invariants the database and the pages rely on.

Inputs come in three kinds per parser: (a) random bytes/text, (b) mutations of the valid
fixture documents (byte flips, truncation, deleted/duplicated slices, hostile tokens,
element text/attributes or JSON values replaced by values of other types), and
(c) structurally valid documents built from strategies with random field values.

The explicit examples at the end pin down every bug the properties have found, with
minimal inputs. These tests never touch the database. PAPERFEED_FUZZ_SCALE multiplies the
number of examples (default 1: about 20 s on two cores once the parsers pass);
PAPERFEED_FUZZ_SHRINK=1 shrinks failing inputs (slow while several bugs are open).
"""

from __future__ import annotations

import copy
import email.utils
import io
import json
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from paperfeed.papers import records
from paperfeed.papers.http import UpstreamError
from paperfeed.papers.links import extract_links
from paperfeed.papers.records import (
    Checkpoint,
    PaperRecord,
    RecordError,
    Rejected,
    parse_arxiv_id,
    validate,
)
from paperfeed.papers.sources import arxiv_api, arxiv_listing, huggingface, oai_pmh, snapshot

pytestmark = [
    pytest.mark.nodb,
    # parse_rss reads feed.feed.get("updated"), which feedparser maps to "published" with
    # a DeprecationWarning; noise here, reported separately.
    pytest.mark.filterwarnings("ignore:To avoid breaking existing software:DeprecationWarning"),
]

FIXTURES = Path(__file__).parent / "fixtures"
SCALE = float(os.environ.get("PAPERFEED_FUZZ_SCALE", "1"))
# Shrinking a failure to a minimal input takes minutes when a test finds several bugs in
# large documents, so it is off unless PAPERFEED_FUZZ_SHRINK=1: failures show the input as
# found, and the fixed examples at the end give the minimal reproductions.
SHRINK = os.environ.get("PAPERFEED_FUZZ_SHRINK", "0") == "1"
PHASES = [p for p in Phase if SHRINK or p != Phase.shrink]


def fuzz(examples: int):
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        phases=PHASES,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


ATOM_DOCS = [
    fixture(n)
    for n in (
        "arxiv_api_three.atom",
        "arxiv_api_three_v3.atom",
        "arxiv_api_error.atom",
        "arxiv_api_empty.atom",
    )
]
OAI_DOCS = [
    fixture(n)
    for n in ("oai_page1.xml", "oai_page2.xml", "oai_arxiv_format.xml", "oai_no_records.xml")
]
OAI_HOSTILE_DOCS = [fixture("oai_malformed.xml"), fixture("oai_billion_laughs.xml")]
RSS_DOCS = [fixture("rss_cs_LG.xml"), fixture("rss_empty.xml")]
HF_DOCS = [fixture("hf_daily_2024-12-04.json")]
# Every line of the snapshot fixtures but the 300,000-character one (too slow to mutate).
SNAPSHOT_LINES = [
    line
    for name in ("snapshot_small.jsonl", "snapshot_bad.jsonl", "hostile.jsonl")
    for line in fixture(name).splitlines()
    if line.strip() and len(line) < 20_000
]
SNAPSHOT_OBJECTS: list[dict] = []
for _line in SNAPSHOT_LINES:
    try:
        _obj = json.loads(_line)
    except ValueError:
        continue
    if isinstance(_obj, dict):
        SNAPSHOT_OBJECTS.append(_obj)
HF_OBJECTS = [json.loads(doc) for doc in HF_DOCS]

# --------------------------------------------------------------------------------------
# The contract


def assert_clear(exc: BaseException) -> None:
    message = str(exc)
    assert isinstance(message, str) and message.strip(), f"{type(exc).__name__} without a message"


def check_record(record: PaperRecord) -> None:
    """validate() returns the record or raises RecordError; a valid record keeps invariants."""
    try:
        result = validate(record)
    except RecordError as exc:
        assert_clear(exc)
        return
    assert result is record
    check_valid_record(record)


def _texts(record: PaperRecord):
    yield "title", record.title
    for name in ("abstract", "comments", "journal_ref", "doi", "report_no", "license"):
        value = getattr(record, name)
        assert value is None or isinstance(value, str), f"{name} is {type(value).__name__}"
        if value is not None:
            yield name, value
    for name in record.authors or []:
        yield "author", name


def check_valid_record(record: PaperRecord) -> None:
    arxiv_id = record.arxiv_id
    assert isinstance(arxiv_id, str)
    try:
        canonical = parse_arxiv_id(arxiv_id)
    except RecordError as exc:  # a RecordError here is a failed invariant, not a rejection
        raise AssertionError(f"validated id {arxiv_id!r} does not parse: {exc}") from exc
    assert canonical == (arxiv_id, None), f"id {arxiv_id!r} is not canonical: {canonical}"
    assert arxiv_id.isascii(), f"non-ASCII arXiv id accepted: {arxiv_id!r}"
    assert record.version is None or (type(record.version) is int and 0 < record.version < 1000), (
        record.version
    )

    assert isinstance(record.title, str) and record.title
    assert len(record.title) <= records.MAX_TITLE
    assert record.abstract is None or len(record.abstract) <= records.MAX_ABSTRACT
    if record.authors is not None:
        assert isinstance(record.authors, list)
        assert len(record.authors) <= records.MAX_AUTHORS
        for name in record.authors:
            assert isinstance(name, str) and name.strip(), f"bad author {name!r}"
            assert len(name) <= records.MAX_AUTHOR_NAME
    for name, value in _texts(record):
        assert value == value.strip(), f"{name} not stripped: {value[:60]!r}"
        assert not records.CONTROL_CHARS.search(value), f"control character in {name}"
    for name, value in _texts(record):
        controls = sorted({c for c in value if unicodedata.category(c) == "Cc"})
        assert not controls, f"control characters {controls} left in {name}: {value[:60]!r}"
    for name, value in _texts(record):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise AssertionError(f"{name} cannot be stored as UTF-8: {value[:60]!r}") from exc

    if record.categories is not None:
        assert len(record.categories) <= records.MAX_CATEGORIES
        assert len(set(record.categories)) == len(record.categories)
        for cat in record.categories:
            assert re.fullmatch(r"[a-zA-Z-]+(?:\.[a-zA-Z-]+)?", cat) and len(cat) <= 32, cat
    assert record.withdrawn in (None, True, False)
    for stamp in (record.published_at, record.updated_at):
        assert stamp is None or (isinstance(stamp, datetime) and stamp.utcoffset() == timedelta(0))
    if record.versions is not None:
        for entry in record.versions:
            assert type(entry["version"]) is int
            assert entry["date"] is None or isinstance(entry["date"], str)
    assert isinstance(record.links, list)
    for link in record.links:
        assert isinstance(link, tuple) and len(link) == 2 and all(isinstance(x, str) for x in link)
    if record.listing is not None:
        assert isinstance(record.listing.date, date)
        assert isinstance(record.listing.submitter_name, str)
        assert len(record.listing.submitter_name) <= 150
    assert isinstance(record.source, str) and record.source
    assert isinstance(record.place, str)


def check_item(item, *, checkpoints: bool = False) -> None:
    allowed = (PaperRecord, Rejected, Checkpoint) if checkpoints else (PaperRecord, Rejected)
    assert type(item) in allowed, f"parser yielded {type(item).__name__}: {item!r:.200}"
    if isinstance(item, Rejected):
        assert isinstance(item.place, str)
        assert isinstance(item.reason, str) and item.reason.strip(), f"empty reason: {item!r}"
    elif isinstance(item, Checkpoint):
        assert isinstance(item.cursor, str)
    else:
        check_record(item)


def expect_contract(produce, *, allowed=(RecordError,), checkpoints=False) -> list:
    """Run a parser (produce() returns an iterable) and check everything it yields.

    A RecordError (or another allowed exception) for the whole document is fine, also
    after some items; anything else propagates and fails the test with its traceback.
    """
    items = []
    try:
        for item in produce():
            items.append(item)
            check_item(item, checkpoints=checkpoints)
    except allowed as exc:
        assert_clear(exc)
    return items


def run_snapshot(body: bytes, start_line: int = 0) -> list:
    return expect_contract(
        lambda: snapshot.read_snapshot(io.BytesIO(body), "fuzz.jsonl", start_line),
        checkpoints=True,
    )


def run_parse_line(line: bytes) -> None:
    expect_contract(lambda: [snapshot.parse_line(line, "fuzz.jsonl:1")])


def run_atom(body: bytes) -> list:
    return expect_contract(lambda: arxiv_api.parse_atom(body, "fuzz atom"))


def _oai_items(body: bytes):
    result = oai_pmh.parse_page(body, "fuzz oai")
    assert isinstance(result, tuple) and len(result) == 2
    items, token = result
    assert isinstance(items, list)
    assert token is None or (isinstance(token, str) and token.strip() == token and token)
    return items


def run_oai(body: bytes) -> list:
    return expect_contract(lambda: _oai_items(body), allowed=(RecordError, UpstreamError))


def run_rss(body: bytes) -> list:
    return expect_contract(lambda: arxiv_listing.parse_rss(body, "fuzz rss"))


def run_hf(body: bytes | str, list_date: date | None = None) -> list:
    return expect_contract(lambda: huggingface.parse_daily(body, "fuzz hf", list_date))


# --------------------------------------------------------------------------------------
# Strategies: text, values, ids, dates

C0 = "".join(map(chr, range(32))) + "\x7f"
C1 = "".join(map(chr, range(0x80, 0xA0)))
INTERESTING_TEXT = [
    "", " ", "\n", "\t", "\r\n", "\x00", "\x1b[31mred", "\x9b31m", "\x85", "\u2028", "\u202e",
    "\ufeff", "\u200b", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>', "javascript:alert(1)", "]]>", "<![CDATA[x]]>", "&amp;", "&#0;",
    "&lol;", "{{7*7}}", "${x}", "Ω≈ç√", "日本語のタイトル", "العربية", "עברית", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "😀",
    "e\u0301", "²", "v²", "١٢", "２４０９.０１２３４", "NaN", "-1", "0", "1e999", "null",
    "true", "[]", "{}", "2409.01234", "2409.01234v2", "hep-th/9901001", "arXiv:2409.01234v3",
    "http://arxiv.org/abs/2409.01234v2", "oai:arXiv.org:2409.01234", "2413.00001",
    "Mon, 2 Sep 2024 17:59:59 GMT", "2024-09-02T17:59:59Z", "cs.LG", "cs.LG cs.CL", "I.2.6",
    "68T05", "https://github.com/a/b", "This paper has been withdrawn", "A, B and C (X, Y)",
    "((((", "))))", " and ", ",,,",
]  # fmt: skip
EXTREME_DATES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01",
    "9999-12-31T23:59:59.999999Z",
    "Mon, 1 Jan 99999999999999999999 00:00:00 GMT",
    "Mon, 2 Sep 2024 17:59:59 +99999999999",
    "Mon, 2 Sep 2024 17:59:59 -2400",
    "Fri, 31 Dec 9999 23:59:59 -0100",
    "Sat, 01 Jan 0001 00:00:00 +0100",
    "Mon, 32 Foo 2024 25:61:61 GMT",
    "2024-02-30T00:00:00Z",
    "2024-09-02T17:59:59ZZ",
    "Z",
    " ",
]
SURROGATES = ["\ud800", "a\udfffb"]


def xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry at all (C0 but tab/LF/CR, FFFE, FFFF)."""
    return "".join(
        c
        for c in text
        if not (c in C0 and c not in "\t\n\r")
        and c not in "\ufffe\uffff"
        and not 0xD800 <= ord(c) <= 0xDFFF
    )


huge_text = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["a", "é", "<", " ", "\n", "\x00", "ab ", "日"]),
    st.integers(1, 90_000),
)
any_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(INTERESTING_TEXT),
    st.text(alphabet=st.sampled_from(C0 + C1 + "ab <>&\"'\u2028"), max_size=30),
    st.lists(st.sampled_from(INTERESTING_TEXT), max_size=4).map(" ".join),
    huge_text,
)
json_text = st.one_of(any_text, st.sampled_from(SURROGATES))
# Mostly well-formed XML, so that the record code is reached; sometimes not.
xml_text = st.one_of(
    any_text.map(xml_safe), any_text.map(xml_safe), any_text.map(xml_safe), any_text
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.floats(),
    json_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(["id", "name"])), inner, max_size=4
        ),
    ),
    max_leaves=10,
)

new_ids = st.builds(
    lambda yy, mm, num, width: f"{yy:02d}{mm:02d}.{num % 10**width:0{width}d}",
    st.integers(0, 99),
    st.integers(1, 12),
    st.integers(0, 99_999),
    st.sampled_from([4, 5]),
)
archives = st.one_of(
    st.sampled_from(["hep-th", "math", "cond-mat", "solv-int", "astro-ph", "q-bio", "cs"]),
    st.from_regex(r"[a-z]{1,8}(-[a-z]{1,6})?", fullmatch=True),
)
old_ids = st.builds(
    lambda archive, num: f"{archive}/{num:07d}", archives, st.integers(0, 9_999_999)
)
canonical_ids = st.one_of(new_ids, old_ids)
ID_PREFIXES = [
    "", "arXiv:", "arxiv:", "ARXIV:", "oai:arXiv.org:", "https://arxiv.org/abs/",
    "http://arxiv.org/abs/", "https://arxiv.org/pdf/", "http://export.arxiv.org/abs/",
    "https://www.arxiv.org/html/", "arxiv.org/abs/", "HTTPS://ARXIV.ORG/ABS/",
]  # fmt: skip
# Real versions stay far below 100; ids with more than four version digits are rejected.
versions_ = st.one_of(st.none(), st.integers(1, 999), st.integers(1000, 9_999))


@st.composite
def written_ids(draw):
    """(text, expected id, expected version) for any way arXiv ids are written."""
    if draw(st.booleans()):
        arxiv_id = draw(new_ids)
        written = arxiv_id
    else:
        archive, num = draw(archives), draw(st.integers(0, 9_999_999))
        arxiv_id = f"{archive}/{num:07d}"
        subject = draw(st.one_of(st.just(""), st.from_regex(r"\.[A-Z]{2}", fullmatch=True)))
        written = f"{archive}{subject}/{num:07d}"
    version = draw(versions_)
    text = draw(st.sampled_from(ID_PREFIXES)) + written
    if version is not None:
        text += f"v{version}"
    text += draw(st.sampled_from(["", "", "/", ".pdf"]))
    text = (
        draw(st.sampled_from(["", " ", "\n", "\t"])) + text + draw(st.sampled_from(["", " ", "\n"]))
    )
    return text, arxiv_id, version


id_text = st.one_of(
    canonical_ids,
    written_ids().map(lambda t: t[0]),
    st.sampled_from(
        [
            "2413.00001",
            "2400.00001",
            "2409.1234567",
            "٢٤٠٩.٠١٢٣٤",
            "2409.01234v",
            "2409.01234v0",
            "2409.01234v²",
            "HEP-TH/9901001",
            "hep-th/990100",
        ]
    ),
    any_text,
)

offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=offsets
)
date_text = st.one_of(
    st.one_of(
        aware_datetimes.map(lambda d: d.isoformat()),
        aware_datetimes.map(lambda d: d.replace(tzinfo=None).isoformat()),
        aware_datetimes.map(lambda d: d.isoformat().replace("+00:00", "Z")),
        aware_datetimes.map(email.utils.format_datetime),
    ),
    st.sampled_from(EXTREME_DATES),
    any_text,
)
version_labels = st.one_of(
    st.integers(0, 2000).map(lambda n: f"v{n}"),
    st.integers(0, 2000).map(str),
    st.sampled_from(["v²", "²", "v", "", "v-1", "v1.5", "v١", "V1", "v" + "9" * 5000, "v 1"]),
    any_text,
)
category_text = st.one_of(
    st.lists(
        st.sampled_from(
            [
                "cs.LG",
                "cs.CL",
                "stat.ML",
                "hep-th",
                "math.AG",
                "cond-mat.soft",
                "I.2.6",
                "68T05",
                "",
                "x" * 40,
                "cs.LG<script>",
                "a.b.c",
                "cs..LG",
            ]
        ),
        max_size=35,
    ).map(" ".join),
    any_text,
)

# --------------------------------------------------------------------------------------
# Strategies: byte and tree mutations of the fixtures

HOSTILE_TOKENS = [
    b"<script>alert(1)</script>", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3", b"\xed\xa0\x80",
    b"&amp;", b"&#0;", b"&#x9b;", b"&#xD800;", b"&lol;", b"&#99999999;", b"]]>", b"<![CDATA[",
    b"<!DOCTYPE x [<!ENTITY e 'e'>]>", b'<!ENTITY x SYSTEM "file:///etc/passwd">', b"<?pi x?>",
    b"<!-- -->", b'"', b"'", b"<", b">", b"</", b"/>", b"{", b"}", b"[", b"]", b",", b":", b"null",
    b"true", b"1e999", b"-0", b"NaN", b"99999999999999999999", b'"\\ud800"', b"\\", b"\n", b"\r",
    b"\x85", b"\xe2\x80\xa8", b"v\xc2\xb2", b"[" * 5000, b"<a>" * 2000, b"a" * 10_000,
    b'encoding="shift_jis"', b'encoding="foo"', b"https://gitlab.com ",
]  # fmt: skip
XML_ENCODINGS = [
    b"UTF-8", b"utf-16", b"utf-32", b"shift_jis", b"euc-jp", b"big5", b"latin-1", b"us-ascii",
    b"foo", b"",
]  # fmt: skip
xml_declarations = st.sampled_from(XML_ENCODINGS).map(
    lambda e: b'<?xml version="1.0" encoding="' + e + b'"?>'
)
deep_nesting = st.builds(
    lambda opener, n: opener * n,
    st.sampled_from([b"[", b'{"a":', b"[{", b'{"paper":']),
    st.integers(1, 20_000),
)


@st.composite
def mutated_bytes(draw, docs):
    """A fixture document after 1-4 random byte-level edits."""
    data = bytearray(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        op = draw(
            st.sampled_from(
                ["flip", "truncate", "delete", "duplicate", "insert", "token", "token", "prolog"]
            )
        )
        at = draw(st.integers(0, size))
        if op == "flip" and size:
            at = min(at, size - 1)
            data[at] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[at:]
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "duplicate":
            piece = data[at : at + draw(st.integers(1, 500))]
            data[at:at] = piece * draw(st.integers(1, 3))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif op == "prolog":  # a new XML declaration, or JSON nested deeply
            if data.lstrip().startswith((b"{", b"[")):
                data[0:0] = draw(deep_nesting)
            else:
                declared = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data[:declared] = draw(xml_declarations)
        else:
            token = draw(st.sampled_from(HOSTILE_TOKENS))
            if draw(st.booleans()):
                data[at:at] = token
            else:
                data[at : at + len(token)] = token
    return bytes(data)


XML_ATTRS = ["version", "status", "code", "term", "rel", "href", "cursor", "completeListSize"]


@st.composite
def mutated_xml(draw, docs):
    """A fixture document with random elements' text/attributes replaced, removed or copied."""
    root = ET.fromstring(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, 6))):
        elements = list(root.iter())
        parents = {child: parent for parent in elements for child in parent}
        target = draw(st.sampled_from(elements))
        op = draw(st.sampled_from(["text", "text", "attr", "remove", "copy", "children"]))
        if op == "text":
            target.text = draw(xml_text)
        elif op == "attr":
            name = draw(
                st.one_of(st.sampled_from(XML_ATTRS), st.sampled_from(list(target.attrib) or ["x"]))
            )
            target.set(name, draw(st.one_of(version_labels.map(xml_safe), xml_text)))
        elif op == "remove" and target in parents:
            parents[target].remove(target)
        elif op == "copy" and target in parents:
            parent = parents[target]
            parent.insert(list(parent).index(target), copy.deepcopy(target))
        elif op == "children":
            for child in list(target):
                target.remove(child)
            target.text = draw(xml_text)
    try:
        return ET.tostring(root, encoding="utf-8")
    except (ValueError, UnicodeEncodeError):  # text ElementTree refuses to write
        return ET.tostring(root, encoding="unicode").encode("utf-8", "surrogatepass")


def _json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _json_paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _json_paths(child, prefix + (index,))


def _json_get(value, path):
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated_json(draw, docs, keys=()):
    """A fixture JSON value with random values replaced by values of other types."""
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, 5))):
        path = draw(st.sampled_from(list(_json_paths(doc))))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap"]))
        new = draw(st.one_of(json_values, huge_text, st.sampled_from(INTERESTING_TEXT)))
        if not path:
            doc = new if op == "replace" else doc
            continue
        parent, last = _json_get(doc, path[:-1]), path[-1]
        if op == "replace":
            parent[last] = new
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent[last], dict):
            key = draw(st.one_of(st.sampled_from(list(keys) or ["x"]), st.text(max_size=6)))
            parent[last][key] = new
        elif op == "add" and isinstance(parent[last], list):
            parent[last].insert(draw(st.integers(0, len(parent[last]))), new)
        else:
            parent[last] = draw(st.sampled_from([[parent[last]], {"value": parent[last]}]))
    return doc


def dump_json(value, ensure_ascii: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


random_documents = st.one_of(
    st.binary(max_size=3000),
    deep_nesting,
    st.tuples(
        xml_declarations, st.sampled_from([b"<feed/>", b"<OAI-PMH/>", b"<rss/>", b"<a>x</a>"])
    ).map(b"".join),
    st.text(max_size=1000).map(lambda t: t.encode("utf-8")),
    st.tuples(
        st.sampled_from(
            [
                b"<?xml version='1.0'?>",
                b"<rss version='2.0'>",
                b"<feed>",
                b"{",
                b"[",
                b"<OAI-PMH>",
                b"\xef\xbb\xbf",
                b"\xff\xfe<",
            ]
        ),
        st.binary(max_size=1000),
    ).map(b"".join),
)

# --------------------------------------------------------------------------------------
# Strategies: structurally valid documents


def el(tag: str, text: str | None = None, attrs: str = "") -> str:
    if text is None:
        return f"<{tag}{attrs}/>"
    return f"<{tag}{attrs}>{escape(text)}</{tag}>"


def opt_el(tag: str, values=xml_text):
    """An element that is absent, empty, or holds a drawn text."""
    return st.one_of(st.just(""), st.just(el(tag)), values.map(lambda t: el(tag, t)))


def attr(name: str, values=xml_text):
    return st.one_of(st.just(""), values.map(lambda v: f" {name}={quoteattr(xml_safe(v))}"))


def joined(*parts):
    return st.tuples(*parts).map("".join)


def repeated(part, max_size=3):
    return st.lists(part, max_size=max_size).map("".join)


xml_ids = st.one_of(canonical_ids, written_ids().map(lambda t: t[0].strip()), id_text.map(xml_safe))
xml_dates = date_text.map(xml_safe)
xml_versions = version_labels.map(xml_safe)

atom_entries = joined(
    st.just("<entry>"),
    st.one_of(
        st.tuples(
            st.sampled_from(["http://arxiv.org/abs/", "", "http://arxiv.org/api/errors#"]), xml_ids
        ).map(lambda t: el("id", t[0] + t[1])),
        opt_el("id"),
    ),
    opt_el("updated", xml_dates),
    opt_el("published", xml_dates),
    opt_el("title", st.one_of(xml_text, st.just("Error"))),
    opt_el("summary"),
    repeated(
        st.one_of(opt_el("name").map(lambda n: f"<author>{n}</author>"), st.just("<author/>")), 4
    ),
    repeated(
        joined(
            st.just("<link"),
            attr("rel", st.sampled_from(["license", "alternate", "related"]) | xml_text),
            attr("href"),
            st.just("/>"),
        )
    ),
    st.one_of(
        st.just(""), attr("term", category_text).map(lambda a: f"<arxiv:primary_category{a}/>")
    ),
    repeated(attr("term", category_text).map(lambda a: f"<category{a}/>"), 4),
    opt_el("arxiv:comment"),
    opt_el("arxiv:journal_ref"),
    opt_el("arxiv:doi"),
    st.just("</entry>"),
)
atom_feeds = joined(
    st.just(
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
        ' xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
    ),
    opt_el("title"),
    opt_el("opensearch:totalResults"),
    repeated(atom_entries, 4),
    st.just("</feed>"),
).map(lambda s: s.encode("utf-8", "surrogatepass"))

raw_versions = joined(
    attr("version", xml_versions).map(lambda a: f"<version{a}>"),
    opt_el("date", xml_dates),
    opt_el("size"),
    st.just("</version>"),
)
arxiv_raw = joined(
    st.just('<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">'),
    opt_el("id", xml_ids),
    opt_el("submitter"),
    repeated(raw_versions, 4),
    opt_el("title"),
    opt_el("authors"),
    opt_el("categories", category_text.map(xml_safe)),
    opt_el("comments"),
    opt_el("journal-ref"),
    opt_el("doi"),
    opt_el("report-no"),
    opt_el("license"),
    opt_el("abstract"),
    st.just("</arXivRaw>"),
)
arxiv_structured = joined(
    st.just('<arXiv xmlns="http://arxiv.org/OAI/arXiv/">'),
    opt_el("id", xml_ids),
    opt_el("created", xml_dates),
    opt_el("updated", xml_dates),
    st.one_of(
        st.just(""),
        repeated(
            joined(
                st.just("<author>"),
                opt_el("keyname"),
                opt_el("forenames"),
                opt_el("suffix"),
                opt_el("affiliation"),
                st.just("</author>"),
            ),
            4,
        ).map(lambda a: f"<authors>{a}</authors>"),
    ),
    opt_el("title"),
    opt_el("categories", category_text.map(xml_safe)),
    opt_el("comments"),
    opt_el("journal-ref"),
    opt_el("doi"),
    opt_el("license"),
    opt_el("abstract"),
    st.just("</arXiv>"),
)
oai_records = joined(
    st.just("<record>"),
    st.one_of(
        st.just(""),
        joined(
            attr("status", st.sampled_from(["deleted", ""]) | xml_text).map(
                lambda a: f"<header{a}>"
            ),
            opt_el("identifier", xml_ids.map(lambda i: "oai:arXiv.org:" + i) | xml_text),
            opt_el("datestamp", xml_dates),
            st.just("</header>"),
        ),
    ),
    st.one_of(
        st.just(""),
        st.just("<metadata/>"),
        st.one_of(arxiv_raw, arxiv_structured).map(lambda m: f"<metadata>{m}</metadata>"),
    ),
    st.just("</record>"),
)
oai_pages = joined(
    st.just(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2024-09-23T10:00:00Z</responseDate>"
    ),
    st.one_of(
        joined(
            st.just("<ListRecords>"),
            repeated(oai_records, 4),
            st.one_of(
                st.just(""),
                joined(
                    attr("cursor").map(lambda a: f"<resumptionToken{a}>"),
                    xml_text.map(escape),
                    st.just("</resumptionToken>"),
                ),
            ),
            st.just("</ListRecords>"),
        ),
        st.just("<error/>"),
        joined(
            st.just("<error"),
            attr("code", st.sampled_from(["noRecordsMatch", "badVerb"]) | xml_text),
            st.just(">"),
            xml_text.map(escape),
            st.just("</error>"),
        ),
    ),
    st.just("</OAI-PMH>"),
).map(lambda s: s.encode("utf-8", "surrogatepass"))

rss_descriptions = st.one_of(
    xml_text,
    st.tuples(xml_ids, st.sampled_from(["new", "cross", "replace"]) | xml_text, xml_text).map(
        lambda t: f"arXiv:{t[0]} Announce Type: {t[1]} \nAbstract: {t[2]}"
    ),
)
rss_items = joined(
    st.just("<item>"),
    opt_el("title"),
    opt_el("link", xml_ids.map(lambda i: "https://arxiv.org/abs/" + i) | xml_text),
    opt_el("description", rss_descriptions.map(xml_safe)),
    opt_el("guid", xml_ids.map(lambda i: "oai:arXiv.org:" + i) | xml_text),
    repeated(opt_el("category", category_text.map(xml_safe)), 4),
    opt_el("pubDate", xml_dates),
    opt_el(
        "arxiv:announce_type",
        st.sampled_from(["new", "cross", "replace", "replace-cross"]) | xml_text,
    ),
    opt_el("dc:rights"),
    opt_el("dc:creator"),
    st.just("</item>"),
)
rss_feeds = joined(
    st.just(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
        ' xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel>"
    ),
    opt_el("title"),
    opt_el("pubDate", xml_dates),
    repeated(rss_items, 4),
    st.just("</channel></rss>"),
).map(lambda s: s.encode("utf-8", "surrogatepass"))

SNAPSHOT_KEYS = [
    "id", "submitter", "authors", "title", "comments", "journal-ref", "doi", "report-no",
    "categories", "license", "abstract", "versions", "update_date", "authors_parsed",
]  # fmt: skip
text_or_any = st.one_of(json_text, json_text, json_values)
snapshot_objects = st.fixed_dictionaries(
    {"id": st.one_of(id_text, id_text, json_values)},
    optional={
        "title": text_or_any,
        "abstract": text_or_any,
        "submitter": text_or_any,
        "authors": text_or_any,
        "authors_parsed": st.one_of(
            st.lists(st.lists(st.one_of(json_text, json_values), max_size=4), max_size=5),
            json_values,
        ),
        "categories": st.one_of(category_text, json_values),
        "versions": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "version": st.one_of(version_labels, json_values),
                            "created": st.one_of(date_text, json_values),
                        },
                    ),
                    json_values,
                ),
                max_size=4,
            ),
            json_values,
        ),
        "comments": text_or_any,
        "journal-ref": text_or_any,
        "doi": text_or_any,
        "report-no": text_or_any,
        "license": text_or_any,
        "update_date": text_or_any,
        "extra": json_values,
    },
)

hf_authors = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"name": st.one_of(json_text, json_values)},
            optional={"hidden": json_values, "user": json_values},
        ),
        json_values,
    ),
    max_size=4,
)
hf_papers = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(id_text, id_text, json_values),
        "title": text_or_any,
        "summary": text_or_any,
        "authors": st.one_of(hf_authors, json_values),
        "publishedAt": st.one_of(date_text, json_values),
        "submittedOnDailyAt": st.one_of(date_text, json_values),
        "submittedOnDailyBy": json_values,
        "githubRepo": text_or_any,
        "projectPage": text_or_any,
        "upvotes": json_values,
    },
)
hf_items = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "paper": st.one_of(hf_papers, hf_papers, json_values),
            "title": text_or_any,
            "summary": text_or_any,
            "publishedAt": st.one_of(date_text, json_values),
            "submittedBy": st.one_of(
                st.fixed_dictionaries({}, optional={"name": st.one_of(json_text, json_values)}),
                json_values,
            ),
            "numComments": json_values,
        },
    ),
    json_values,
)
list_dates = st.one_of(st.none(), st.dates())

# --------------------------------------------------------------------------------------
# arXiv metadata snapshot (JSON lines)


@fuzz(300)
@given(body=random_documents, start_line=st.integers(0, 3))
def test_snapshot_random_bytes(body, start_line):
    run_snapshot(body, start_line)


@fuzz(300)
@given(lines=st.lists(mutated_bytes(SNAPSHOT_LINES), min_size=1, max_size=3))
def test_snapshot_mutated_bytes(lines):
    run_snapshot(b"\n".join(lines))


@fuzz(300)
@given(doc=mutated_json(SNAPSHOT_OBJECTS, SNAPSHOT_KEYS), ensure_ascii=st.booleans())
def test_snapshot_mutated_values(doc, ensure_ascii):
    run_snapshot(dump_json(doc, ensure_ascii))


@fuzz(300)
@given(objs=st.lists(snapshot_objects, min_size=1, max_size=3), ensure_ascii=st.booleans())
def test_snapshot_generated_objects(objs, ensure_ascii):
    run_snapshot(b"\n".join(dump_json(obj, ensure_ascii) for obj in objs))


@fuzz(200)
@given(
    line=st.one_of(
        random_documents,
        mutated_bytes(SNAPSHOT_LINES),
        snapshot_objects.map(lambda o: dump_json(o, True)),
    )
)
def test_snapshot_parse_line_raises_only_record_error(line):
    """parse_line on its own (read_snapshot turns its TypeError/AttributeError into Rejected)."""
    run_parse_line(line)


# --------------------------------------------------------------------------------------
# arXiv API (Atom)


@fuzz(300)
@given(body=random_documents)
def test_atom_random_bytes(body):
    run_atom(body)


@fuzz(300)
@given(body=mutated_bytes(ATOM_DOCS))
def test_atom_mutated_bytes(body):
    run_atom(body)


@fuzz(200)
@given(body=mutated_xml(ATOM_DOCS))
def test_atom_mutated_elements(body):
    run_atom(body)


@fuzz(250)
@given(body=atom_feeds)
def test_atom_generated_feeds(body):
    run_atom(body)


# --------------------------------------------------------------------------------------
# arXiv OAI-PMH


@fuzz(300)
@given(body=random_documents)
def test_oai_random_bytes(body):
    run_oai(body)


@fuzz(300)
@given(body=mutated_bytes(OAI_DOCS + OAI_HOSTILE_DOCS))
def test_oai_mutated_bytes(body):
    run_oai(body)


@fuzz(200)
@given(body=mutated_xml(OAI_DOCS))
def test_oai_mutated_elements(body):
    run_oai(body)


@fuzz(300)
@given(body=oai_pages)
def test_oai_generated_pages(body):
    run_oai(body)


# --------------------------------------------------------------------------------------
# arXiv listing (RSS, through feedparser: slower, fewer examples)


@fuzz(150)
@given(body=random_documents)
def test_rss_random_bytes(body):
    run_rss(body)


@fuzz(80)
@given(body=mutated_bytes(RSS_DOCS))
def test_rss_mutated_bytes(body):
    run_rss(body)


@fuzz(100)
@given(body=mutated_xml(RSS_DOCS))
def test_rss_mutated_elements(body):
    run_rss(body)


@fuzz(120)
@given(body=rss_feeds)
def test_rss_generated_feeds(body):
    run_rss(body)


# --------------------------------------------------------------------------------------
# Hugging Face daily papers (JSON)


@fuzz(300)
@given(body=random_documents, as_text=st.booleans(), list_date=list_dates)
def test_hf_random_bytes(body, as_text, list_date):
    run_hf(body.decode("utf-8", "replace") if as_text else body, list_date)


@fuzz(200)
@given(body=mutated_bytes(HF_DOCS), list_date=list_dates)
def test_hf_mutated_bytes(body, list_date):
    run_hf(body, list_date)


@fuzz(300)
@given(
    doc=mutated_json(HF_OBJECTS, ["paper", "id", "title", "authors", "name", "submittedBy"]),
    ensure_ascii=st.booleans(),
    list_date=list_dates,
)
def test_hf_mutated_values(doc, ensure_ascii, list_date):
    run_hf(dump_json(doc, ensure_ascii), list_date)


@fuzz(300)
@given(
    items=st.one_of(st.lists(hf_items, max_size=4), json_values),
    ensure_ascii=st.booleans(),
    as_text=st.booleans(),
    list_date=list_dates,
)
def test_hf_generated_items(items, ensure_ascii, as_text, list_date):
    body = dump_json(items, ensure_ascii)
    run_hf(body.decode("utf-8", "surrogatepass") if as_text else body, list_date)


# --------------------------------------------------------------------------------------
# parse_arxiv_id and extract_links


def check_parse_arxiv_id(text: str):
    try:
        result = parse_arxiv_id(text)
    except RecordError as exc:
        assert_clear(exc)
        return None
    assert isinstance(result, tuple) and len(result) == 2
    arxiv_id, version = result
    assert isinstance(arxiv_id, str) and arxiv_id
    assert version is None or (type(version) is int and version >= 0)
    assert parse_arxiv_id(arxiv_id) == (arxiv_id, None)
    return result


@fuzz(500)
@given(
    text=st.one_of(
        st.text(), id_text, st.text(alphabet="0123456789.v/:-abcdefhimnoprstx", max_size=30)
    )
)
@example(text="2409.01234v" + "1" * 5000)
def test_parse_arxiv_id_arbitrary_text(text):
    check_parse_arxiv_id(text)


@fuzz(300)
@given(case=written_ids())
def test_parse_arxiv_id_round_trips(case):
    text, arxiv_id, version = case
    assert parse_arxiv_id(text) == (arxiv_id, version)
    assert parse_arxiv_id(arxiv_id) == (arxiv_id, None)


LINK_KINDS = {"github", "gitlab", "bitbucket", "huggingface", "project"}
url_pieces = st.sampled_from(
    [
        "https://",
        "http://",
        "github.com/",
        "gitlab.com/",
        "bitbucket.org/",
        "huggingface.co/",
        "www.",
        "datasets/",
        "spaces/",
        "-/",
        ".git",
        "/",
        "a",
        "B-c",
        "x.github.io",
        "project page ",
        "website: ",
        "Code: ",
        "[",
        "]",
        "(",
        ")",
        ".",
        ",",
        "?q=1",
        "#frag",
        "@",
        ":",
        "\uff0f",
        "\uff03",
        "\u2100",
        "ａ",
        "日本",
        " ",
        "\n",
        "<",
        ">",
        "%2F",
        "[::1]",
        "xn--",
        "arxiv.org/abs/",
    ]
)


@fuzz(400)
@given(
    texts=st.lists(
        st.one_of(st.none(), st.text(), st.lists(url_pieces, max_size=12).map("".join)), max_size=3
    )
)
@example(texts=["https://a\uff0fb"])
@example(texts=["Code: https://gitlab.com"])
def test_extract_links_never_raises(texts):
    result = extract_links(*texts)
    assert isinstance(result, list)
    for kind, url in result:
        assert kind in LINK_KINDS
        assert isinstance(url, str) and url.startswith("https://")
    assert len({url for _, url in result}) == len(result)


# --------------------------------------------------------------------------------------
# Every crash found so far, as a fixed example (the properties above find them too)


def atom_with(entry: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (
        f'{prolog}\n<feed xmlns="http://www.w3.org/2005/Atom"><title>q</title>'
        f"<entry>{entry}</entry></feed>"
    ).encode()


def oai_with(metadata: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (
        f'{prolog}\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record>'
        "<header><identifier>oai:arXiv.org:2409.01234</identifier></header>"
        f"<metadata>{metadata}</metadata></record></ListRecords></OAI-PMH>"
    ).encode()


def raw_versions_xml(*versions: tuple[str, str | None]) -> str:
    parts = "".join(
        f'<version version="{label}">' + (f"<date>{when}</date>" if when else "") + "</version>"
        for label, when in versions
    )
    return (
        '<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>2409.01234</id>'
        f"{parts}<title>T</title></arXivRaw>"
    )


def rss_with(pub_date: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>c</title>'
        f"<pubDate>{pub_date}</pubDate><item><title>t</title>"
        "<guid>oai:arXiv.org:2412.01111v1</guid></item></channel></rss>"
    ).encode()


def rss_with_title(title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>c</title>'
        f"<item><title>{title}</title><guid>oai:arXiv.org:2412.01111v1</guid></item>"
        "</channel></rss>"
    ).encode()


def snapshot_line(**fields) -> bytes:
    return json.dumps({"id": "2409.01234", "title": "T", **fields}).encode()


ATOM_ENTRY = "<id>http://arxiv.org/abs/2409.01234v1</id><title>T</title>"
KNOWN = [
    # OverflowError from common.parse_datetime: astimezone() leaves datetime's range.
    (
        "atom-date-year-1-east",
        run_atom,
        atom_with(ATOM_ENTRY + "<published>0001-01-01T00:00:00+01:00</published>"),
    ),
    (
        "atom-date-year-9999-west",
        run_atom,
        atom_with(ATOM_ENTRY + "<published>9999-12-31T23:59:59-01:00</published>"),
    ),
    # OverflowError from email.utils.parsedate_to_datetime: a year too large for C.
    (
        "atom-date-huge-year",
        run_atom,
        atom_with(ATOM_ENTRY + "<updated>Mon, 1 Jan 99999999999999999999 00:00:00 GMT</updated>"),
    ),
    # ValueError (int max str digits) from parse_arxiv_id on a 5000-digit version.
    (
        "atom-id-5000-digit-version",
        run_atom,
        atom_with(f"<id>http://arxiv.org/abs/2409.01234v{'1' * 5000}</id><title>T</title>"),
    ),
    # ValueError / LookupError from expat: an encoding ElementTree cannot use.
    (
        "atom-xml-multibyte-encoding",
        run_atom,
        atom_with(ATOM_ENTRY, '<?xml version="1.0" encoding="shift_jis"?>'),
    ),
    (
        "atom-xml-unknown-encoding",
        run_atom,
        atom_with(ATOM_ENTRY, '<?xml version="1.0" encoding="foo"?>'),
    ),
    (
        "oai-xml-multibyte-encoding",
        run_oai,
        oai_with(raw_versions_xml(), '<?xml version="1.0" encoding="utf-32"?>'),
    ),
    (
        "oai-xml-unknown-encoding",
        run_oai,
        oai_with(raw_versions_xml(), '<?xml version="1.0" encoding="x-nope"?>'),
    ),
    # ValueError: "²".isdigit() is True but int("²") fails.
    ("oai-version-superscript", run_oai, oai_with(raw_versions_xml(("v²", None)))),
    ("oai-version-5000-digits", run_oai, oai_with(raw_versions_xml(("v" + "1" * 5000, None)))),
    # TypeError: two versions with one number, one dated and one not, cannot be sorted.
    (
        "oai-duplicate-version-one-undated",
        run_oai,
        oai_with(raw_versions_xml(("v1", None), ("v1", "Mon, 2 Sep 2024 17:59:59 GMT"))),
    ),
    (
        "oai-date-year-1-east",
        run_oai,
        oai_with(raw_versions_xml(("v1", "0001-01-01T00:00:00+01:00"))),
    ),
    # OverflowError in parse_rss's own parsedate_to_datetime (catches only TypeError/ValueError).
    (
        "rss-channel-date-huge-year",
        run_rss,
        rss_with("Wed, 04 Dec 99999999999999999999 00:30:00 -0500"),
    ),
    # feedparser's loose (sgmllib) parser, used when the XML is not well-formed, raises
    # ValueError / UnicodeEncodeError for character references outside Unicode.
    ("rss-charref-beyond-unicode", run_rss, rss_with_title("&#99999999;")),
    ("rss-charref-surrogate", run_rss, rss_with_title("&#xD800;")),
    # RecursionError from json.loads on deep nesting.
    ("snapshot-deep-nesting", run_snapshot, b"[" * 100_000),
    ("hf-deep-nesting", run_hf, b"[" * 100_000),
    (
        "snapshot-version-superscript",
        run_snapshot,
        snapshot_line(versions=[{"version": "v\u00b2"}]),
    ),
    (
        "snapshot-version-5000-digits",
        run_snapshot,
        snapshot_line(versions=[{"version": "v" + "1" * 5000}]),
    ),
    (
        "snapshot-date-year-1-east",
        run_snapshot,
        snapshot_line(versions=[{"version": "v1", "created": "0001-01-01T00:00:00+01:00"}]),
    ),
    (
        "hf-date-year-1-east",
        run_hf,
        json.dumps(
            [
                {
                    "paper": {
                        "id": "2412.00001",
                        "title": "T",
                        "publishedAt": "0001-01-01T00:00:00+01:00",
                    }
                }
            ]
        ).encode(),
    ),
    # Invariants of validated records: C1 controls kept, lone surrogates kept, non-ASCII
    # digits accepted as an arXiv id (a second id for the same paper).
    ("snapshot-c1-control-in-title", run_snapshot, snapshot_line(title="a\x9b31mb")),
    ("snapshot-lone-surrogate-in-title", run_snapshot, snapshot_line(title="a\ud800b")),
    (
        "snapshot-fullwidth-digit-id",
        run_snapshot,
        json.dumps({"id": "２４０９.０１２３４", "title": "T"}).encode(),
    ),
]


@pytest.mark.parametrize(("run", "body"), [pytest.param(r, b, id=n) for n, r, b in KNOWN])
def test_known_hostile_inputs(run, body):
    run(body)


def test_parse_line_type_errors_are_record_errors():
    # read_snapshot catches TypeError/AttributeError and reports Python's own message
    # ("'int' object is not iterable"); parse_line should say what is wrong itself.
    run_parse_line(snapshot_line(versions=5))
    run_parse_line(snapshot_line(versions=[{"version": "v1", "created": 5}]))


def test_extract_links_fullwidth_solidus_in_host():
    # urlsplit raises ValueError for a host that NFKC-normalises to contain "/".
    assert extract_links("see https://a\uff0fb and https://github.com/a/b") == [
        ("github", "https://github.com/a/b")
    ]


@pytest.mark.parametrize("text", ["https://gitlab.com", "see gitlab.com/ for code", "GITLAB.COM/"])
def test_extract_links_gitlab_without_path(text):
    # classify(): _repo_path(project, 0) indexes parts[-1] of an empty list (IndexError).
    assert extract_links(text) == []


def test_parse_arxiv_id_accepts_only_ascii_digits():
    for text in ["２４０９.０１２３４", "٢٤٠٩.٠١٢٣٤", "2409.01234v٢"]:
        try:
            arxiv_id, version = parse_arxiv_id(text)
        except RecordError:
            continue
        assert arxiv_id.isascii() and (version is None or str(version).isascii()), text
        assert arxiv_id == "2409.01234"


def test_parse_rss_reads_the_body_not_a_file(tmp_path):
    # feedparser.parse(bytes) first tries open(bytes): a body that names a local file
    # (or /dev/zero, /dev/stdin) is read from disk instead of parsed.
    path = tmp_path / "feed.xml"
    path.write_bytes(fixture("rss_cs_LG.xml"))
    with pytest.raises(RecordError):
        list(arxiv_listing.parse_rss(str(path).encode(), "fuzz rss"))
