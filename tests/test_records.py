"""Ids, names and links: the normalisation every source relies on."""

import pytest

from paperfeed.papers.links import extract_links
from paperfeed.papers.records import (
    PaperRecord,
    RecordError,
    author_slug,
    is_withdrawn,
    parse_arxiv_id,
    validate,
)
from paperfeed.papers.sources.common import split_authors

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2409.01234", ("2409.01234", None)),
        ("2409.01234v2", ("2409.01234", 2)),
        ("arXiv:2409.01234v12", ("2409.01234", 12)),
        ("0704.0001", ("0704.0001", None)),
        ("https://arxiv.org/abs/2409.01234v3", ("2409.01234", 3)),
        ("http://arxiv.org/pdf/2409.01234v1.pdf", ("2409.01234", 1)),
        ("https://arxiv.org/pdf/2409.01234", ("2409.01234", None)),
        ("https://www.arxiv.org/html/2409.01234v2/", ("2409.01234", 2)),
        ("oai:arXiv.org:2409.01234", ("2409.01234", None)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("math.AG/0601001", ("math/0601001", None)),
        ("https://arxiv.org/abs/cond-mat/0102536v1", ("cond-mat/0102536", 1)),
        ("  2409.01234\n", ("2409.01234", None)),
    ],
)
def test_parse_arxiv_id(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text", ["", "not-an-id", "2413.01234", "12345.6789", "hep-th/99", "https://example.org/abs/1"]
)
def test_parse_arxiv_id_rejects(text):
    with pytest.raises(RecordError, match="not an arXiv id"):
        parse_arxiv_id(text)


def test_author_slug_ignores_case_accents_and_dots():
    assert author_slug("José  Núñez") == author_slug("jose nunez") == "jose-nunez"
    assert author_slug("J. R. R. Tolkien") == "j-r-r-tolkien"
    assert author_slug("王小明") == "王小明"
    assert author_slug("...") == "author"


def test_split_authors_handles_and_and_affiliations():
    assert split_authors("A. One, B. Two (Lab X, Univ Y) and C. Three") == [
        "A. One",
        "B. Two",
        "C. Three",
    ]


def test_extract_links_normalises_and_deduplicates():
    text = (
        "Code: https://GitHub.com/Lab/Repo.git, also github.com/lab/repo/tree/main. "
        "Models at https://huggingface.co/lab/model-7b and the project page "
        "https://lab.example.org/repo/. See https://arxiv.org/abs/2401.00001 and "
        "https://gitlab.com/group/sub/proj/-/blob/main/x.py and bitbucket.org/a/b."
    )
    assert extract_links(text) == [
        ("github", "https://github.com/lab/repo"),
        ("huggingface", "https://huggingface.co/lab/model-7b"),
        ("project", "https://lab.example.org/repo"),
        ("gitlab", "https://gitlab.com/group/sub/proj"),
        ("bitbucket", "https://bitbucket.org/a/b"),
    ]


def test_extract_links_ignores_plain_urls_and_hf_papers():
    assert (
        extract_links("see https://example.com/foo and https://huggingface.co/papers/2401.1") == []
    )


def test_withdrawn_detection():
    assert is_withdrawn("This paper has been withdrawn by the author due to an error")
    assert is_withdrawn("Withdrawn: duplicate submission")
    assert not is_withdrawn("12 pages; withdrawal dynamics of fluids")


def test_validate_rejects_oversized_and_empty_fields():
    with pytest.raises(RecordError, match="title is too long"):
        validate(PaperRecord(arxiv_id="2401.00001", title="x" * 10_000))
    with pytest.raises(RecordError, match="title is empty"):
        validate(PaperRecord(arxiv_id="2401.00001", title=" \n "))
    with pytest.raises(RecordError, match="abstract is too long"):
        validate(PaperRecord(arxiv_id="2401.00001", title="t", abstract="a" * 30_000))


def test_validate_strips_control_characters_and_keeps_html_as_text():
    record = validate(
        PaperRecord(
            arxiv_id="2401.00001v2", title="<b>Bold</b>\x00 claim\n  here", authors=["\x07Eve"]
        )
    )
    assert record.title == "<b>Bold</b> claim here"
    assert record.authors == ["Eve"]
    assert record.version == 2
