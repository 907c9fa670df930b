"""The API of a real `paperfeed serve` process: the real Hugging Face client reads it as
it reads huggingface.co, and schemathesis tests every operation against the live OpenAPI
schema (no server error, no answer that breaks the schema)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.live import Server, live_environment
from tests.upstream import FIXTURES_DIR, Upstream, fixture

pytestmark = [pytest.mark.live, pytest.mark.django_db]

DAILY = FIXTURES_DIR / "hf_daily_2024-12-04.json"
# Members, tokens and a little community life on top of the imported daily list. The
# tokens are printed for the tests (made through the same function the settings page uses).
SETUP = """
from paperfeed.api.tokens import create_token
from paperfeed.accounts.models import User
from paperfeed.community import services
from paperfeed.papers.models import Paper, PaperAuthor

ada = User.objects.create_user("ada", "ada@example.invalid", "unused", display_name="Ada Quill")
bo = User.objects.create_user("bo", "bo@example.invalid", "unused")
mod = User.objects.create_user("mod", "mod@example.invalid", "unused", is_staff=True)
pixel = Paper.objects.get(arxiv_id="2412.00321")
services.set_vote(ada, pixel, True)
services.set_vote(bo, pixel, True)
services.set_vote(bo, Paper.objects.get(arxiv_id="2412.01111"), True)
first = PaperAuthor.objects.get(paper=pixel, position=0).author
services.decide_claim(services.claim_authorship(ada, pixel, first.pk), mod, approve=True)
services.add_comment(ada, pixel, "Author here: ask away.")
services.create_collection(ada, "Editing", "Image editing papers", paper=pixel)
print("WRITE", create_token(ada, "tests", "write")[1])
print("READ", create_token(bo, "tests", "read")[1])
"""


class Instance:
    def __init__(self, server: Server, lines: list[str]):
        self.server = server
        self.url = server.url
        secrets = dict(line.split(" ", 1) for line in lines if line.startswith(("WRITE", "READ")))
        self.write_token = secrets["WRITE"]
        self.read_token = secrets["READ"]


def start_instance(home: Path, upstream: Upstream) -> Instance:
    """`paperfeed serve` with the Hugging Face fixture's daily list and two members; arXiv
    is the loopback upstream (it knows no paper), semantic search is off (no model to
    load), and the rate limits are out of the way of a fuzzer."""
    env = live_environment(home)
    env.update(
        PAPERFEED_SEMANTIC="off",
        PAPERFEED_API_RATE_ANON="100000/m",
        PAPERFEED_API_RATE_TOKEN="100000/m",
        PAPERFEED_RATE_VOTES="100000/m",
        PAPERFEED_RATE_COMMENTS="100000/m",
        PAPERFEED_RATE_SUBMISSIONS="100000/m",
        PAPERFEED_ARXIV_API_URL=f"{upstream.url}/api/query",
    )
    server = Server(env, "--no-fetch", "--no-worker", "--threads", "8")
    try:
        server.cli("ingest", "file", str(DAILY))
        lines = server.manage("shell", "-c", SETUP).splitlines()
    except BaseException:
        server.stop()
        raise
    return Instance(server, lines)


@pytest.fixture(scope="module")
def arxiv():
    with Upstream() as upstream:
        upstream.add("/api/query", fixture("arxiv_api_empty.atom"),
                     content_type="application/atom+xml")  # fmt: skip
        yield upstream


@pytest.fixture(scope="module")
def instance(tmp_path_factory, arxiv):
    # The test database must exist first on PostgreSQL, where each instance gets its own.
    site = start_instance(tmp_path_factory.mktemp("api") / "home", arxiv)
    yield site
    output = site.server.stop()
    assert "Traceback" not in output, output


@pytest.fixture
def hf(instance, monkeypatch):
    """The real Hugging Face client, pointed at the instance, with no saved token."""
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    from huggingface_hub import HfApi

    return HfApi(endpoint=instance.url, token=False)


IDS = {"2412.00321", "2412.01111", "2412.02468"}


def test_hf_client_lists_a_day_a_week_and_a_month(hf):
    day = {paper.id: paper for paper in hf.list_daily_papers(date="2024-12-04")}
    assert set(day) == IDS
    pixel = day["2412.00321"]
    assert pixel.title == "PixelPrompt: Editing Images with Point-Level Instructions"
    assert pixel.summary.startswith("Text-driven image editors struggle to localise an edit.")
    assert pixel.published_at == datetime(2024, 11, 29, 17, 30, tzinfo=UTC)
    assert pixel.submitted_at == datetime(2024, 12, 4, tzinfo=UTC)  # the list's day
    assert pixel.upvotes == 2 and pixel.comments == 1
    assert pixel.github_repo == "https://github.com/pixelprompt/pixelprompt"
    assert pixel.submitted_by.username == "patcurator"
    assert re.fullmatch(r"[0-9a-f]{24}", pixel.discussion_id)
    names = [author.name for author in pixel.authors]
    assert names == ["Sun-hee Park", "Oren Castellanos", "Bea Nakashima-Roy", "Ilya Fenwick"]
    verified = pixel.authors[0]
    assert verified.status == "claimed_verified" and verified.user.username == "ada"
    assert verified.user.fullname == "Ada Quill" and pixel.authors[1].user is None
    curriculum = day["2412.01111"]
    assert curriculum.project_page == "https://moravec-lab.github.io/curriculum-dropout"
    assert curriculum.github_repo == "https://github.com/moravec-lab/curriculum-dropout"
    assert day["2412.02468"].github_repo is None and day["2412.02468"].submitted_by.username == (
        "quinnreads"
    )
    week = list(hf.list_daily_papers(week="2024-W49"))
    month = list(hf.list_daily_papers(month="2024-12", sort="trending"))
    assert {p.id for p in week} == {p.id for p in month} == IDS
    assert [p.id for p in month][:2] == ["2412.00321", "2412.01111"]  # most upvoted first
    assert [p.id for p in hf.list_daily_papers(submitter="quinnreads")] == ["2412.02468"]
    assert len(list(hf.list_daily_papers(date="2024-12-04", limit=1, p=1))) == 1
    assert list(hf.list_daily_papers(date="2024-12-05")) == []


def test_hf_client_reads_a_paper_and_searches(hf):
    paper = hf.paper_info("2412.01111")
    assert paper.id == "2412.01111"
    assert paper.title == "Curriculum Dropout Schedules for Small Language Models"
    assert paper.upvotes == 1 and paper.comments == 0
    assert [a.name for a in paper.authors][0] and paper.published_at.tzinfo is not None
    assert paper.submitted_at == datetime(2024, 12, 4, tzinfo=UTC)
    assert paper.submitted_by.username == "patcurator"
    assert hf.paper_info("2412.00321v2").comments == 1
    found = list(hf.list_papers(query="speculative decoding drafters"))
    assert found[0].id == "2412.02468"
    assert found[0].title == "Speculative Decoding with Tiny Drafters"
    assert len(list(hf.list_papers(query="editing", limit=1))) == 1
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as missing:
        hf.paper_info("2412.09999")
    assert missing.value.response.status_code == 404
    assert "No paper 2412.09999 here" in str(missing.value)
    page = hf.read_paper("2412.01111")
    assert page.startswith("# Curriculum Dropout Schedules for Small Language Models\n")
    assert "## Abstract" in page and "https://arxiv.org/abs/2412.01111" in page
    with pytest.raises(HfHubHTTPError):
        hf.read_paper("2412.09999")


def test_hf_client_with_tokens(instance, hf):
    from huggingface_hub import HfApi

    me = HfApi(endpoint=instance.url, token=instance.write_token).whoami()
    assert me["name"] == "ada" and me["auth"]["accessToken"]["role"] == "write"
    reader = HfApi(endpoint=instance.url, token=instance.read_token).whoami()
    assert reader["name"] == "bo" and reader["auth"]["accessToken"]["role"] == "read"
    # A Hugging Face token the client sends by itself does not stop reads.
    stranger = HfApi(endpoint=instance.url, token="hf_" + "x" * 34)
    assert {p.id for p in stranger.list_daily_papers(date="2024-12-04")} == IDS


# Half the path and body values schemathesis makes are ids the instance has (the rest are
# whatever the schema allows), so that writes reach the rules and the database. 413 (body
# too large) and 414 (URL too long, from gunicorn) are right answers to broken input too.
FUZZ_CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "413", "414", "429"]

[phases.coverage]
generate-duplicate-query-parameters = false

[dictionaries.papers]
values = ["2412.00321", "2412.01111", "2412.02468"]

[dictionaries.members]
values = ["ada", "bo"]

[dictionaries.authors]
values = ["sun-hee-park", "oren-castellanos"]

[dictionaries.rows]
values = [1, 2]

[parameters]
"path.arxiv_id" = { dictionary = "papers", probability = 0.5 }
"body.arxivId" = { dictionary = "papers", probability = 0.5 }
"path.username" = { dictionary = "members", probability = 0.5 }
"path.slug" = { dictionary = "authors", probability = 0.5 }
"path.collection_id" = { dictionary = "rows", probability = 0.5 }
"path.comment_id" = { dictionary = "rows", probability = 0.5 }
"body.parent" = { dictionary = "rows", probability = 0.5 }
"""
CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
]


def test_schemathesis_finds_no_server_error_and_no_answer_off_schema(tmp_path, arxiv):
    """Every operation, with a write token, fed schema-made and schema-breaking input by
    schemathesis (its CLI, in a process of its own) against a fresh instance: it writes."""
    site = start_instance(tmp_path / "home", arxiv)
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(config),
        "run", f"{site.url}/api/openapi.json",
        "--checks", ",".join(CHECKS),
        "--max-examples", os.environ.get("PAPERFEED_FUZZ_EXAMPLES", "12"),
        "--seed", os.environ.get("PAPERFEED_FUZZ_SEED", "20241204"),
        # One worker: schemathesis's threads trip a CPython 3.11 parser race (SystemError).
        "--workers", "1",
        "--no-shrink",
        "--request-timeout", "20",
        "--header", f"Authorization: Bearer {site.write_token}",
        "--suppress-health-check", "all",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1"},
        )
    finally:
        output = site.server.stop()
    report = done.stdout + done.stderr
    (tmp_path / "schemathesis.txt").write_text(report)
    assert done.returncode == 0, f"report in {tmp_path / 'schemathesis.txt'}\n{report[-15_000:]}"
    assert "passed" in report and "Traceback" not in output, output[-15_000:]


def test_docs_page_and_its_files_come_from_the_instance(instance):
    """Swagger UI from Django Ninja's bundled files, served by the instance (no CDN)."""
    import httpx

    page = httpx.get(f"{instance.url}/api/docs", timeout=10)
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/static/") for url in assets), assets
    for url in assets:
        assert httpx.get(f"{instance.url}{url}", timeout=10).status_code == 200, url
    schema = httpx.get(f"{instance.url}/api/openapi.json", timeout=10).json()
    assert schema["info"]["title"] == "paperfeed API"
