"""Network ingestion against a real HTTP server on loopback playing arXiv and Hugging Face:
batching, politeness, retries, Retry-After, truncated and slow bodies, resumable OAI-PMH."""

import pytest

from paperfeed.cli import main
from paperfeed.papers import http
from paperfeed.papers.models import CodeLink, IngestRun, Listing, Paper
from tests.upstream import fixture

pytestmark = pytest.mark.django_db(transaction=True)

ATOM = "application/atom+xml"


class FakeClock:
    """Mocked time: sleeping advances the clock instantly and is recorded."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(http, "clock", fake.clock)
    monkeypatch.setattr(http, "sleep", fake.sleep)
    monkeypatch.setattr(http.PoliteClient, "_last_call", {})
    return fake


def atom_feed(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        "<title>query</title>" + "".join(entries) + "</feed>"
    ).encode()


def atom_entry(arxiv_id: str, title: str, comment: str = "") -> str:
    return (
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}v1</id>"
        "<published>2024-12-02T18:00:00Z</published><updated>2024-12-02T18:00:00Z</updated>"
        f"<title>{title}</title><summary>An abstract written for this test.</summary>"
        "<author><name>Test Author</name></author>"
        f"<arxiv:comment>{comment}</arxiv:comment>"
        '<arxiv:primary_category term="cs.LG"/><category term="cs.LG"/></entry>'
    )


def test_ids_in_one_batched_call(upstream_settings, fake_time, capsys):
    upstream = upstream_settings
    upstream.add("/api/query", fixture("arxiv_api_three.atom"), content_type=ATOM)
    code = main(["ingest", "ids", "2409.01234v2", "https://arxiv.org/abs/2409.05678",
                 "arXiv:hep-th/9901001", "2409.01234"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert len(upstream.requests) == 1
    assert upstream.requests[0]["query"]["id_list"] == "2409.01234,2409.05678,hep-th/9901001"
    assert upstream.requests[0]["headers"]["user-agent"].startswith("paperfeed/")
    assert Paper.objects.count() == 3
    assert CodeLink.objects.filter(kind="huggingface").exists()


def test_ids_are_batched_and_spaced_three_seconds(upstream_settings, fake_time, settings, capsys):
    settings.PAPERFEED_ARXIV_DELAY = 3.0
    upstream_settings.add("/api/query", fixture("arxiv_api_three.atom"), content_type=ATOM)
    ids = [f"2409.{n:05d}" for n in range(1, 151)] + ["2409.01234", "2409.05678"]
    assert main(["ingest", "ids", *ids]) == 1  # the made-up ids are reported as not found
    assert len(upstream_settings.requests) == 2
    assert len(upstream_settings.requests[0]["query"]["id_list"].split(",")) == 100
    assert fake_time.sleeps == [3.0]
    err = capsys.readouterr().err
    assert "rejected 2409.00001: not found on arXiv" in err


def test_retry_after_is_honoured(upstream_settings, fake_time):
    upstream_settings.add("/api/query", "busy", status=503, headers={"Retry-After": "7"},
                          content_type="text/plain", times=1)  # fmt: skip
    upstream_settings.add("/api/query", fixture("arxiv_api_three.atom"), content_type=ATOM)
    assert main(["ingest", "ids", "2409.01234"]) == 0
    assert 7.0 in fake_time.sleeps
    assert len(upstream_settings.requests) == 2
    assert Paper.objects.filter(arxiv_id="2409.01234").exists()


def test_truncated_body_is_retried_never_half_written(upstream_settings, fake_time):
    upstream_settings.add("/api/query", fixture("arxiv_api_three.atom"), content_type=ATOM,
                          truncate=True, times=2)  # fmt: skip
    upstream_settings.add("/api/query", fixture("arxiv_api_three.atom"), content_type=ATOM)
    assert main(["ingest", "ids", "2409.01234"]) == 0
    assert len(upstream_settings.requests) == 3
    assert Paper.objects.count() == 3


def test_slow_upstream_times_out_and_fails_cleanly(upstream_settings, fake_time, settings, capsys):
    settings.PAPERFEED_HTTP_TIMEOUT = 0.3
    settings.PAPERFEED_HTTP_RETRIES = 1
    upstream_settings.add("/api/query", fixture("arxiv_api_three.atom"), delay=2.0)
    assert main(["ingest", "ids", "2409.01234"]) == 2
    out = capsys.readouterr().out
    assert "FAILED: arXiv API failed after 2 attempts (ReadTimeout" in out
    assert Paper.objects.count() == 0
    assert IngestRun.objects.get().status == "failed"


@pytest.mark.parametrize("status", [400, 404])
def test_client_errors_are_not_retried(upstream_settings, fake_time, status, capsys):
    upstream_settings.add("/api/query", "no", status=status, content_type="text/plain")
    assert main(["ingest", "ids", "2409.01234"]) == 2
    assert f"answered HTTP {status}" in capsys.readouterr().out
    assert len(upstream_settings.requests) == 1


def test_arxiv_api_error_entry_is_a_clear_rejection(upstream_settings, fake_time, capsys):
    upstream_settings.add("/api/query", fixture("arxiv_api_error.atom"), content_type=ATOM)
    assert main(["ingest", "ids", "2409.01234"]) == 1
    assert "arXiv API error: incorrect id format for 9999.bad" in capsys.readouterr().err


def test_oai_harvest_follows_resumption_tokens(upstream_settings, fake_time):
    upstream_settings.add(
        "/oai", fixture("oai_page1.xml"), query={"verb": "ListRecords", "set": "cs:cs:LG"}
    )
    upstream_settings.add("/oai", fixture("oai_page2.xml"), query={"resumptionToken": "tok-2"})
    code = main(
        ["ingest", "arxiv", "--category", "cs.LG", "--from", "2024-09-20", "--until", "2024-09-30"]
    )
    assert code == 0
    first = upstream_settings.requests[0]["query"]
    assert first == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs:cs:LG",
                     "from": "2024-09-20", "until": "2024-09-30"}  # fmt: skip
    assert upstream_settings.requests[1]["query"] == {
        "verb": "ListRecords",
        "resumptionToken": "tok-2",
    }
    assert Paper.objects.count() == 4
    assert IngestRun.objects.get().status == "done"


def test_oai_harvest_resumes_from_the_failed_page(upstream_settings, fake_time, settings, capsys):
    settings.PAPERFEED_HTTP_RETRIES = 1
    upstream_settings.add(
        "/oai", fixture("oai_page1.xml"), query={"verb": "ListRecords", "set": "cs:cs:LG"}
    )
    upstream_settings.add("/oai", "down", status=503, content_type="text/plain",
                          query={"resumptionToken": "tok-2"}, times=2)  # fmt: skip
    upstream_settings.add("/oai", fixture("oai_page2.xml"), query={"resumptionToken": "tok-2"})
    args = ["ingest", "arxiv", "--category", "cs.LG", "--from", "2024-09-20"]
    assert main(args) == 2
    failed = IngestRun.objects.get()
    assert (failed.status, failed.cursor, failed.new) == ("failed", "tok-2", 3)
    assert "HTTP 503" in failed.message

    upstream_settings.requests.clear()
    assert main(args) == 0
    assert [r["query"] for r in upstream_settings.requests] == [
        {"verb": "ListRecords", "resumptionToken": "tok-2"}
    ]
    resumed = IngestRun.objects.first()
    assert (resumed.status, resumed.new, resumed.resumed_from) == ("done", 1, failed)
    assert Paper.objects.count() == 4


def test_oai_no_records_is_not_an_error(upstream_settings, fake_time):
    upstream_settings.add("/oai", fixture("oai_no_records.xml"))
    assert main(["ingest", "arxiv", "--category", "math.AG", "--from", "2030-01-01"]) == 0
    assert upstream_settings.requests[0]["query"]["set"] == "math:math:AG"


def test_oai_malformed_page_fails_without_writing(upstream_settings, fake_time, capsys):
    upstream_settings.add("/oai", fixture("oai_malformed.xml"))
    assert main(["ingest", "arxiv", "--category", "cs.LG", "--oai"]) == 2
    assert "malformed XML" in capsys.readouterr().out
    assert Paper.objects.count() == 0


def test_daily_listing_then_enrichment(upstream_settings, fake_time):
    upstream_settings.add(
        "/rss/cs.LG", fixture("rss_cs_LG.xml"), content_type="application/rss+xml"
    )
    upstream_settings.add("/api/query", atom_feed(
        atom_entry("2412.01111", "Curriculum Dropout Schedules for Small Language Models",
                   "9 pages. Code: https://github.com/moravec-lab/curriculum-dropout"),
        atom_entry("2412.01234", "A listed paper"),
        atom_entry("2412.02222", "A cross-listed paper"),
    ), content_type=ATOM)  # fmt: skip
    assert main(["ingest", "arxiv", "--category", "cs.LG"]) == 0
    assert upstream_settings.requests[1]["query"]["id_list"] == "2412.01111,2412.01234,2412.02222"
    assert Listing.objects.filter(date="2024-12-04").count() == 3
    paper = Paper.objects.get(arxiv_id="2412.01111")
    assert paper.comments.startswith("9 pages")
    assert paper.code_links.filter(url="https://github.com/moravec-lab/curriculum-dropout").exists()


def test_holiday_listing_is_empty_not_an_error(upstream_settings, fake_time):
    upstream_settings.add(
        "/rss/cs.LG", fixture("rss_empty.xml"), content_type="application/rss+xml"
    )
    assert main(["ingest", "arxiv", "--category", "cs.LG"]) == 0
    assert Paper.objects.count() == 0


def test_hf_daily_papers(upstream_settings, fake_time):
    upstream_settings.add("/api/daily_papers", fixture("hf_daily_2024-12-04.json"),
                          content_type="application/json")  # fmt: skip
    assert main(["ingest", "hf", "--date", "2024-12-04"]) == 0
    query = upstream_settings.requests[0]["query"]
    assert (query["date"], query["limit"], query["p"]) == ("2024-12-04", "100", "0")
    assert Listing.objects.filter(date="2024-12-04", source="hf").count() == 3
    assert CodeLink.objects.filter(url="https://github.com/pixelprompt/pixelprompt").exists()
    # Importing the same day again changes nothing.
    assert main(["ingest", "hf", "--date", "2024-12-04"]) == 0
    run = IngestRun.objects.first()
    assert (run.new, run.updated, run.unchanged, run.listed) == (0, 0, 3, 0)


def test_hf_broken_json_fails_cleanly(upstream_settings, fake_time, capsys):
    upstream_settings.add(
        "/api/daily_papers", '[{"paper": {"id": "2412.0', content_type="application/json"
    )
    assert main(["ingest", "hf", "--date", "2024-12-04"]) == 2
    assert "not JSON" in capsys.readouterr().out
