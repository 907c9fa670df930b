"""The search box language, parsed once into a structure every backend translates.

    sparse attention            both words (ranked by relevance; papers with fewer of the
                                words still come after, so long questions work too)
    "mixture of experts"        the exact phrase
    -survey                     without the word
    ti:diffusion au:"Jane Doe"  in the title / author names; abs: for the abstract
    cat:cs.LG                   in a category (repeatable: any of them)
    vision OR language          either word
    2409.01234, arXiv URLs      go straight to the paper

Nothing a person types is an error: unbalanced quotes close at the end, operators the
engines know are taken as plain words, and overlong queries are cut with a notice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from paperfeed.papers.records import RecordError, parse_arxiv_id

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
FIELDS = {"ti": "title", "title": "title", "au": "authors", "author": "authors",
          "abs": "abstract", "abstract": "abstract"}  # fmt: skip
TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
WORD = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)
CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")


@dataclass(slots=True)
class Term:
    words: list[str]  # one word, or several for a phrase
    field: str | None = None  # title, abstract, authors; None = any
    negated: bool = False

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(slots=True)
class ParsedQuery:
    text: str
    groups: list[list[Term]] = field(default_factory=list)  # AND of ORs of terms
    excluded: list[Term] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    arxiv_id: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.groups and not self.excluded

    @property
    def positive_words(self) -> list[str]:
        return [w for group in self.groups for term in group for w in term.words]


def words_of(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def parse_query(text: str) -> ParsedQuery:
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    query = ParsedQuery(text=text)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        query.text = text
        query.notices.append(f"Your query was cut to its first {MAX_QUERY_CHARS} characters.")
    try:
        query.arxiv_id = parse_arxiv_id(text)[0] if text else None
    except RecordError:
        query.arxiv_id = None
    if query.arxiv_id:
        return query

    join_next = False
    count = 0
    for match in TOKEN.finditer(text):
        minus, prefix, quoted, bare = match.groups()
        if bare == "OR" and not minus and not prefix:
            join_next = bool(query.groups)
            continue
        field_name = FIELDS.get((prefix or "").lower())
        if prefix and prefix.lower() == "cat":
            value = (quoted if quoted is not None else bare or "").strip()
            if CATEGORY.fullmatch(value):
                query.categories.append(value)
                continue
        raw = quoted if quoted is not None else bare or ""
        if prefix and not field_name and prefix.lower() != "cat":
            raw = f"{prefix} {raw}"  # "foo:bar" that is no field: both words
        words = words_of(raw)
        if not words or count >= MAX_TERMS:
            continue
        count += 1
        terms = (
            [Term(words, field_name, bool(minus))]
            if quoted is not None
            else [Term([w], field_name, bool(minus)) for w in words]
        )
        for term in terms:
            if term.negated:
                query.excluded.append(term)
            elif join_next:
                query.groups[-1].append(term)
                join_next = False
            else:
                query.groups.append([term])
    if count >= MAX_TERMS:
        query.notices.append(f"Only the first {MAX_TERMS} terms were used.")
    return query
