"""Lexical search on both engines: syntax, filters, sorting, index upkeep, the page, the
CLI, and random query strings that must never fail."""

import json
from datetime import date
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperfeed.cli import main
from paperfeed.papers.models import Paper
from paperfeed.search.backends import get_backend
from paperfeed.search.query import parse_query
from paperfeed.search.services import highlight
from paperfeed.search.services import search as any_search

FIXTURES = Path(__file__).parent / "fixtures"


def search(text: str, **options):
    """Lexical search: these tests pin the engines' behaviour (test_semantic.py has the rest)."""
    return any_search(text, mode="lexical", **options)


def ids(result) -> list[str]:
    return [p.arxiv_id for p in result.papers]


@pytest.fixture
def corpus(db):
    for name in ("snapshot_small.jsonl", "arxiv_api_three.atom", "rss_cs_LG.xml", "hostile.jsonl"):
        assert main(["ingest", "file", str(FIXTURES / name)]) == 0
    Paper.objects.filter(arxiv_id="2412.01234").update(upvotes=9)


@pytest.mark.nodb
def test_parse_query_syntax():
    query = parse_query('ti:diffusion au:"Jane Doe" "mixture of experts" -survey cat:cs.LG a OR b')
    assert [[(t.words, t.field) for t in g] for g in query.groups] == [
        [(["diffusion"], "title")],
        [(["jane", "doe"], "authors")],
        [(["mixture", "of", "experts"], None)],
        [(["a"], None), (["b"], None)],
    ]
    assert [t.words for t in query.excluded] == [["survey"]]
    assert query.categories == ["cs.LG"]
    assert parse_query("https://arxiv.org/pdf/2409.01234v2").arxiv_id == "2409.01234"
    assert parse_query("x" * 600).notices  # cut, with a notice


def test_words_rank_and_fall_back_to_any_word(corpus):
    assert ids(search("sparsemixer"))[0] == "2409.01234"
    # No paper has all of these words; papers with some of them still come back.
    loose = search("token routed mixing layers for quantum gravity")
    assert "2409.01234" in ids(loose)


def test_fields_phrases_and_exclusion(corpus):
    assert ids(search("au:quellen")) == ["2409.01234"]
    assert ids(search("ti:quellen")) == []
    assert "2409.01234" in ids(search('"token-routed mixing"'))
    with_word = set(ids(search("long context")))
    without = set(ids(search("long context -mixing")))
    assert "2409.01234" in with_word and "2409.01234" not in without
    only_excluded = ids(search("-sparsemixer"))  # only an exclusion: newest papers without it
    assert only_excluded and "2409.01234" not in only_excluded


def test_filters_and_sorting(corpus):
    assert set(ids(search("a OR the", categories=["hep-th"]))) <= {"hep-th/9901001"}
    assert ids(search("cat:math.OC OR cat:hep-th boundary"))[:1] == ["hep-th/9901001"]
    recent = ids(search("learning OR model OR models", date_from=date(2024, 1, 1), limit=50))
    assert recent and all(
        Paper.objects.get(arxiv_id=i).published_at.year >= 2024 for i in recent if
        Paper.objects.get(arxiv_id=i).published_at
    )  # fmt: skip
    by_votes = ids(search("gradient OR curriculum OR kernel", sort="votes", limit=50))
    assert len(by_votes) >= 3 and by_votes[0] == "2412.01234"  # the only upvoted paper


def test_arxiv_id_goes_to_the_paper(corpus, client):
    assert search("arXiv:2409.01234v1").redirect_to.arxiv_id == "2409.01234"
    assert client.get("/search?q=https://arxiv.org/abs/2409.01234v2").url == "/papers/2409.01234"
    missing = search("2501.99999")
    assert missing.redirect_to is None and "not here yet" in missing.query.notices[0]


def test_index_follows_new_versions(corpus):
    assert ids(search("512k")) == []
    assert main(["ingest", "file", str(FIXTURES / "arxiv_api_three_v3.atom")]) == 0
    assert ids(search("512k")) == ["2409.01234"]


def test_rebuild_restores_the_index(corpus, capsys):
    table = "search_paper_tsv" if connection.vendor == "postgresql" else "search_paper_fts"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    assert ids(search("sparsemixer")) == []
    assert main(["index", "--rebuild"]) == 0
    assert f"indexed {Paper.objects.count()} papers" in capsys.readouterr().out
    assert ids(search("sparsemixer")) == ["2409.01234"]


def test_cli_json(corpus, capsys):
    capsys.readouterr()
    assert main(["search", "sparsemixer", "--json", "--limit", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == "2409.01234"
    assert {"id", "title", "score"} <= set(rows[0])


def test_search_page_highlights_and_stays_inert(corpus, client):
    body = client.get("/search", {"q": "robust script"}).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "<mark>" in body
    assert "&lt;<mark>script</mark>&gt;" in body or "&lt;script&gt;" in body
    assert client.get("/search").status_code == 200
    assert client.get("/search", {"q": "x", "page": "nope", "from": "bad"}).status_code == 200


@pytest.mark.nodb
def test_highlight_escapes_first():
    query = parse_query("script")
    marked = "&lt;<mark>script</mark>&gt;x&lt;/<mark>script</mark>&gt;"
    assert str(highlight("<script>x</script>", query)) == marked


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(['"', "-", "OR", "AND", "NOT", "NEAR(", "*", "ti:", "au:", "cat:",
                              "abs:", "(", ")", "^", ":", "'", "sparse", "é", "注意", "\x00",
                              "\u202e", " "]), max_size=12).map("".join),
))  # fmt: skip
def test_random_queries_never_fail(corpus_once, text):
    result = any_search(text, limit=5)
    assert isinstance(result.papers, list)


@pytest.fixture
def corpus_once(db):
    if not Paper.objects.exists():
        assert main(["ingest", "file", str(FIXTURES / "snapshot_small.jsonl")]) == 0
    assert get_backend().name


def test_random_queries_through_the_page(corpus, client):
    for text in ['"', "-", 'ti:"', "OR OR", "NEAR(a b", "*", "\x00", "a" * 5000, "cat:", "au:-x"]:
        assert client.get("/search", {"q": text}).status_code == 200


def test_common_words_leave_the_any_word_pass_when_rarer_ones_remain(corpus, settings):
    from paperfeed.search.query import Term

    backend = get_backend()
    words = [Term([w]) for w in ("sparsemixer", "model", "learning", "quasar")]
    counts = {t.words[0]: backend.postings(t, 10_000) for t in words}
    assert counts["sparsemixer"] == 1 and counts["quasar"] == 0
    assert counts["model"] > 2, "the fixtures should have a common word"
    assert backend.loose_terms(words) == words  # within the default bounds: every word
    # A budget of 2 postings: the rarest words up to it, the common ones left out.
    settings.PAPERFEED_SEARCH_LOOSE_POSTINGS = 2
    kept = [t.words[0] for t in backend.loose_terms(words)]
    assert "sparsemixer" in kept and "quasar" in kept and "model" not in kept
    # The rarest word is always kept, even over the budget.
    assert len(backend.loose_terms(words[1:3])) == 1
    # The rare word still finds its paper, first, through the any-word pass.
    assert ids(search("sparsemixer model quasar"))[0] == "2409.01234"


def test_postgresql_takes_large_word_counts_from_the_planner(corpus, monkeypatch):
    """Counting a common word's papers reads each of them on PostgreSQL: above a few
    thousand, the count is ANALYZE's estimate (what the bounds need is common or not)."""
    from paperfeed.search.backends import postgres
    from paperfeed.search.query import Term

    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL engine's word counts")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_paper_tsv")
    backend = get_backend()
    exact = backend.count_matches(Term(["model"]), 10_000)
    monkeypatch.setattr(postgres, "EXACT_COUNT_BELOW", 0)
    estimate = backend.count_matches(Term(["model"]), 10_000)
    assert exact > 2 and 1 <= estimate <= 10_000
    assert backend.count_matches(Term(["model"]), 1) == 1  # never over the cap


def test_common_words_beside_rarer_ones_only_add_to_the_score(corpus, settings):
    settings.PAPERFEED_SEARCH_COMMON_POSTINGS = 2  # "model" is common, "sparsemixer" not
    found = search("sparsemixer model")
    assert ids(found)[0] == "2409.01234"
    # "model" no longer has to be there: papers with only the rarer word match too.
    settings.PAPERFEED_SEARCH_COMMON_POSTINGS = 10_000
    assert set(ids(search("sparsemixer model"))) <= set(ids(found))


def test_a_pass_of_only_common_words_ranks_the_newest_matches(corpus, settings):
    everything = ids(search("model", limit=100))
    assert len(everything) > 2
    settings.PAPERFEED_SEARCH_RANK_LIMIT = 2
    assert ids(search("model", limit=100)) == everything  # a rare enough word: all ranked
    settings.PAPERFEED_SEARCH_COMMON_POSTINGS = 1
    newest = Paper.objects.filter(arxiv_id__in=everything).order_by("-pk")[:2]
    assert sorted(ids(search("model", limit=100))) == sorted(p.arxiv_id for p in newest)
    # The count still covers every match.
    assert search("model").total == len(everything)


def test_word_counts_are_read_again_after_this_process_indexes(corpus):
    from paperfeed.search.query import Term

    backend = get_backend()
    before = backend.postings(Term(["quasar"]), 100)
    assert before == 0
    paper = Paper.objects.get(arxiv_id="2409.01234")
    Paper.objects.filter(pk=paper.pk).update(title="Quasar light curves")
    backend.index([paper.pk])
    assert backend.postings(Term(["quasar"]), 100) == 1
