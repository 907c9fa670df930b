"""`paperfeed ingest file`: every file format through the real CLI, idempotency, the
version-update rule, one paper across sources, and bad input."""

from pathlib import Path

import pytest

from paperfeed.cli import main
from paperfeed.community.models import Comment, Vote
from paperfeed.community.services import add_comment, upvote
from paperfeed.papers.models import CodeLink, IngestRun, Listing, Paper, PaperAuthor

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent / "fixtures"


def ingest(*args: str) -> int:
    return main(["ingest", "file", *[str(FIXTURES / name) for name in args]])


def test_snapshot_imports_every_field(capsys):
    assert ingest("snapshot_small.jsonl") == 0
    assert "6 new, 0 updated, 0 unchanged, 0 rejected" in capsys.readouterr().out
    paper = Paper.objects.get(arxiv_id="2409.01234")
    assert paper.version == 2
    assert paper.title.startswith("SparseMixer: Token-Routed Mixing Layers")
    assert "\n" not in paper.title
    assert paper.author_names == [
        "Mara Quellen",
        "Tobias Ferreira-Lund",
        "Yuki Harrow",
        "Priya Venkatesan-Obi",
    ]
    assert [v["version"] for v in paper.versions] == [1, 2]
    assert paper.published_at.isoformat() == "2024-09-02T17:59:59+00:00"
    assert paper.updated_at.isoformat() == "2024-09-20T09:15:30+00:00"
    assert paper.doi == "10.5555/iwem.2024.0042"
    assert paper.primary_category == "cs.LG"
    assert set(paper.code_links.values_list("kind", "url")) == {
        ("github", "https://github.com/example-lab/sparse-mixer"),
        ("project", "https://example-lab.github.io/sparse-mixer"),
    }
    assert list(paper.authorships.values_list("author__slug", flat=True)) == [
        "mara-quellen", "tobias-ferreira-lund", "yuki-harrow", "priya-venkatesan-obi",
    ]  # fmt: skip
    old = Paper.objects.get(arxiv_id="math/0301001")
    assert old.license == "" and old.doi == ""
    suffix = Paper.objects.get(arxiv_id="2312.12345")
    assert "Rafael Ortega Jr." in suffix.author_names


def test_reimport_changes_nothing(capsys):
    assert ingest("snapshot_small.jsonl") == 0
    before = {p.arxiv_id: (p.content_hash, p.modified_at) for p in Paper.objects.all()}
    counts = (PaperAuthor.objects.count(), CodeLink.objects.count())
    assert ingest("snapshot_small.jsonl") == 0
    assert "0 new, 0 updated, 6 unchanged" in capsys.readouterr().out
    assert {p.arxiv_id: (p.content_hash, p.modified_at) for p in Paper.objects.all()} == before
    assert (PaperAuthor.objects.count(), CodeLink.objects.count()) == counts


def test_newer_version_updates_and_keeps_votes_comments_listing(django_user_model, capsys):
    assert ingest("arxiv_api_three.atom") == 0
    paper = Paper.objects.get(arxiv_id="2409.01234")
    assert paper.version == 2
    user = django_user_model.objects.create_user("reader")
    upvote(user, paper)
    add_comment(user, paper, "Good paper")
    Listing.objects.create(paper=paper, date="2024-09-21", source="submission")

    assert ingest("arxiv_api_three_v3.atom") == 0
    assert "0 new, 1 updated, 2 unchanged" in capsys.readouterr().out
    paper.refresh_from_db()
    assert paper.version == 3
    assert "512k tokens" in paper.abstract
    assert paper.updated_at.isoformat() == "2024-10-05T14:02:11+00:00"
    assert paper.published_at.isoformat() == "2024-09-02T17:59:59+00:00"
    assert (paper.upvotes, paper.num_comments) == (1, 1)
    assert Vote.objects.filter(paper=paper).count() == 1
    assert Comment.objects.filter(paper=paper).count() == 1
    assert paper.listings.count() == 1

    # An older version arriving later changes nothing.
    assert ingest("arxiv_api_three.atom") == 0
    assert "0 new, 0 updated, 3 unchanged" in capsys.readouterr().out
    paper.refresh_from_db()
    assert paper.version == 3


def test_one_paper_across_sources(capsys):
    for name in (
        "arxiv_api_three.atom",
        "oai_page1.xml",
        "oai_arxiv_format.xml",
        "snapshot_small.jsonl",
    ):
        assert ingest(name) == 0
    assert Paper.objects.filter(arxiv_id="2409.01234").count() == 1
    paper = Paper.objects.get(arxiv_id="2409.01234")
    # OAI arXivRaw brought the version list, the Atom feed the journal ref: both kept.
    assert [v["version"] for v in paper.versions] == [1, 2]
    assert paper.journal_ref.startswith("Proceedings of the Imaginary Workshop")
    assert paper.authorships.count() == 4

    assert ingest("rss_cs_LG.xml") == 0
    assert ingest("hf_daily_2024-12-04.json") == 0
    shared = Paper.objects.get(arxiv_id="2412.01111")
    assert set(shared.listings.values_list("source", flat=True)) == {"announcement"}
    assert shared.listings.get().date.isoformat() == "2024-12-04"
    assert set(shared.code_links.values_list("kind", flat=True)) == {"github", "project"}
    assert Listing.objects.filter(date="2024-12-04").count() == 5  # 3 from RSS + 2 only on HF


def test_rss_lists_new_and_cross_lists_but_not_replacements():
    assert ingest("rss_cs_LG.xml") == 0
    listed = set(Listing.objects.values_list("paper__arxiv_id", "announce_type"))
    assert listed == {("2412.01111", "new"), ("2412.01234", "new"), ("2412.02222", "cross")}
    assert Paper.objects.get(arxiv_id="2410.09876").version == 3
    assert Paper.objects.get(arxiv_id="2412.02222").primary_category == "stat.ML"


def test_hf_daily_file_records_submitters():
    assert ingest("hf_daily_2024-12-04.json") == 0
    listing = Listing.objects.get(paper__arxiv_id="2412.02468")
    assert (listing.source, listing.submitter_name, listing.date.isoformat()) == (
        "hf",
        "quinnreads",
        "2024-12-04",
    )


def test_oai_deleted_records_are_skipped():
    assert ingest("oai_page1.xml", "oai_page2.xml") == 0
    assert Paper.objects.count() == 4
    assert not Paper.objects.filter(arxiv_id="2409.09999").exists()
    three = Paper.objects.get(arxiv_id="2409.03131")
    assert three.version == 3 and len(three.versions) == 3


def test_bad_lines_are_reported_with_their_place_and_the_rest_imports(capsys):
    assert ingest("snapshot_small.jsonl") == 0
    before = {p.arxiv_id: p.content_hash for p in Paper.objects.all()}
    assert ingest("snapshot_bad.jsonl") == 1
    err = capsys.readouterr().err
    assert "snapshot_bad.jsonl:2: not JSON" in err
    assert "snapshot_bad.jsonl:4: no id" in err
    assert "snapshot_bad.jsonl:5: not an arXiv id: 'not-an-id'" in err
    assert "snapshot_bad.jsonl:7: title is too long (300,000 characters" in err
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) >= {
        "2412.10001", "2412.10003", "solv-int/9901002", "2412.10008"
    }  # fmt: skip
    assert not Paper.objects.filter(arxiv_id="2412.10007").exists()
    assert {
        a: h for a, h in Paper.objects.values_list("arxiv_id", "content_hash") if a in before
    } == before
    run = IngestRun.objects.first()
    assert (run.new, run.rejected, run.status) == (4, 4, "done")
    assert {e["place"] for e in run.errors} == {f"snapshot_bad.jsonl:{n}" for n in (2, 4, 5, 7)}


@pytest.mark.parametrize(
    ("name", "reason"),
    [("oai_malformed.xml", "malformed XML"), ("oai_billion_laughs.xml", "refused unsafe XML")],
)
def test_broken_and_hostile_xml_is_rejected_whole(name, reason, capsys):
    assert ingest("oai_page1.xml") == 0
    before = list(Paper.objects.values_list("arxiv_id", "content_hash"))
    assert ingest(name) == 1
    assert reason in capsys.readouterr().err
    assert list(Paper.objects.values_list("arxiv_id", "content_hash")) == before


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path, capsys):
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    assert main(["ingest", "file", str(odd)]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert main(["ingest", "file", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_gzip_snapshot_and_explicit_format(tmp_path):
    import gzip

    packed = tmp_path / "snap.jsonl.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "snapshot_small.jsonl").read_bytes()))
    assert main(["ingest", "file", str(packed), "--format", "arxiv-snapshot"]) == 0
    assert Paper.objects.count() == 6


def test_interrupted_snapshot_resumes_where_it_stopped(tmp_path, monkeypatch, capsys):
    from paperfeed.papers.sources import snapshot

    monkeypatch.setattr(snapshot, "CHECKPOINT_EVERY", 2)
    lines = (FIXTURES / "snapshot_small.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "snap.jsonl"
    path.write_bytes(b"".join(lines))

    calls = {"n": 0}
    real_parse = snapshot.parse_line

    def dying_parse(line, place):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # the operator pressed Ctrl+C on line 5
        return real_parse(line, place)

    monkeypatch.setattr(snapshot, "parse_line", dying_parse)
    assert main(["ingest", "file", str(path)]) == 130
    stopped = IngestRun.objects.first()
    assert (stopped.status, stopped.cursor) == ("failed", "4")
    assert Paper.objects.count() == 4

    monkeypatch.setattr(snapshot, "parse_line", real_parse)
    assert main(["ingest", "file", str(path)]) == 0
    resumed = IngestRun.objects.first()
    assert resumed.resumed_from == stopped
    assert (resumed.new, resumed.unchanged) == (2, 0)  # lines 5 and 6 only
    assert Paper.objects.count() == 6


def test_stats_json(capsys):
    import json

    ingest("snapshot_small.jsonl")
    ingest("rss_cs_LG.xml")
    capsys.readouterr()
    assert main(["stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["papers"] == 11
    assert stats["listings"] == 3
    assert stats["categories"]["cs.LG"] >= 5
    assert stats["code_links"] >= 2
    assert stats["authors"] > 10


def test_over_long_line_is_rejected_without_stopping_the_file(tmp_path, monkeypatch, capsys):
    from paperfeed.papers.sources import snapshot

    monkeypatch.setattr(snapshot, "MAX_LINE", 10_000)
    lines = (FIXTURES / "snapshot_small.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "long.jsonl"
    too_long = b'{"id": "2401.00001", "title": "' + b"x" * 50_000 + b'"}\n'
    path.write_bytes(lines[0] + too_long + lines[1])
    assert main(["ingest", "file", str(path)]) == 1
    assert "long.jsonl:2: line longer than 10,000 bytes" in capsys.readouterr().err
    assert Paper.objects.count() == 2


def test_parser_process_path_gives_the_same_result(monkeypatch, capsys):
    """Big snapshots are parsed in a second process; small ones here. Same outcome."""
    from paperfeed.papers import ingest as ingest_module

    monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0)
    assert ingest("snapshot_bad.jsonl") == 1
    err = capsys.readouterr().err
    assert "snapshot_bad.jsonl:2: not JSON" in err
    assert "snapshot_bad.jsonl:7: title is too long" in err
    run = IngestRun.objects.get()
    assert (run.new, run.rejected, run.cursor, run.status) == (4, 4, "8", "done")
    assert ingest("snapshot_small.jsonl") == 0
    assert Paper.objects.count() == 10


def test_progress_is_logged_plainly_when_not_on_a_terminal(monkeypatch, caplog):
    import itertools
    import logging

    from paperfeed.papers import ingest as ingest_module
    from paperfeed.papers.sources import snapshot

    monkeypatch.setattr(snapshot, "CHECKPOINT_EVERY", 2)
    ticks = itertools.count(step=11.0)  # mocked time: 11 s pass between two looks
    monkeypatch.setattr(ingest_module.time, "monotonic", lambda: next(ticks))
    with caplog.at_level(logging.INFO, logger="paperfeed.papers.ingest"):
        outcome = ingest_module.ingest_file(FIXTURES / "snapshot_small.jsonl")
    assert outcome.exit_code == 0
    lines = [r.getMessage() for r in caplog.records if "records" in r.getMessage()]
    assert lines and "% done, ETA" in lines[-1]
    assert "6 new, 0 updated, 0 unchanged, 0 rejected" in outcome.summary()
