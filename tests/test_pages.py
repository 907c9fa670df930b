"""The first pages: the daily list and the paper page, with hostile metadata shown inert."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paperfeed.cli import main
from paperfeed.papers.demo import fill_demo
from paperfeed.papers.models import IngestRun, Listing, Paper

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def test_front_page_shows_the_latest_day(client):
    fill_demo(days=2, per_day=5, users=5)
    response = client.get("/papers/")
    assert response.status_code == 200
    latest = Listing.objects.order_by("-date").first().date
    assert latest.strftime("%-d %B %Y") in response.content.decode()
    assert response.content.decode().count('class="card"') == 5


def test_daily_list_is_ranked_by_upvotes(client):
    fill_demo(days=1, per_day=10, users=10)
    day = Listing.objects.first().date
    body = client.get(f"/papers/date/{day.isoformat()}").content.decode()
    ranked = sorted(Paper.objects.all(), key=lambda p: (-p.upvotes, p.listings.get().id))
    positions = [body.index(p.get_absolute_url()) for p in ranked]
    assert positions == sorted(positions)


def test_empty_day_links_to_nearest_days(client):
    fill_demo(days=3, per_day=2, users=2)
    dates = sorted(set(Listing.objects.values_list("date", flat=True)))
    Listing.objects.filter(date=dates[1]).delete()
    body = client.get(f"/papers/date/{dates[1].isoformat()}").content.decode()
    assert "No papers listed on this day" in body
    assert f"/papers/date/{dates[0].isoformat()}" in body
    assert f"/papers/date/{dates[2].isoformat()}" in body


def test_failed_fetch_is_explained_on_an_empty_site(client):
    IngestRun.objects.create(source="arxiv-listing", key="cs.LG", status="failed",
                             message="could not reach arXiv")  # fmt: skip
    body = client.get("/papers/").content.decode()
    assert "The last fetch from arXiv failed: could not reach arXiv" in body


def test_bad_date_is_404(client):
    assert client.get("/papers/date/2024-13-45").status_code == 404


def test_paper_page_and_redirects(client):
    main(["ingest", "file", str(FIXTURES / "snapshot_small.jsonl")])
    response = client.get("/papers/2409.01234")
    body = response.content.decode()
    assert response.status_code == 200
    assert "SparseMixer" in body
    assert "https://arxiv.org/pdf/2409.01234v2" in body
    assert "https://github.com/example-lab/sparse-mixer" in body
    assert client.get("/papers/2409.01234v2").url == "/papers/2409.01234"
    assert client.get("/papers/math/0301001").status_code == 200
    assert client.get("/papers/math.AG/0301001").url == "/papers/math/0301001"
    assert client.get("/papers/2409.99999").status_code == 404
    assert client.get("/papers/not-an-id").status_code == 404


def test_hostile_metadata_renders_inert(client):
    main(["ingest", "file", str(FIXTURES / "hostile.jsonl")])
    paper = Paper.objects.get(arxiv_id="2412.66601")
    Listing.objects.create(paper=paper, date="2024-12-04", source="submission")
    for url in ("/papers/2412.66601", "/papers/2412.66602", "/papers/date/2024-12-04"):
        body = client.get(url).content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "<svg onload" not in body
        assert 'href="javascript:' not in body.lower()
    body = client.get("/papers/2412.66601").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Robust Learning" in body


def test_paper_page_as_markdown_for_scripts(client, django_user_model):
    """/papers/<id>.md (what the Hugging Face client's read_paper reads): the page as
    Markdown, with stored HTML as entities and comments quoted."""
    from paperfeed.community.models import Comment

    main(["ingest", "file", str(FIXTURES / "hostile.jsonl")])
    paper = Paper.objects.get(arxiv_id="2412.66601")
    user = django_user_model.objects.create_user("mal", "mal@example.invalid", "x")
    top = Comment.objects.create(paper=paper, user=user, body="# Not a heading\n<script>x</script>")
    Comment.objects.create(paper=paper, user=user, parent=top, body="a reply")
    Comment.objects.create(paper=paper, user=user, body="hidden one", hidden=True)
    response = client.get("/papers/2412.66601.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# &lt;script&gt;alert(1)&lt;/script&gt; Robust Learning with ")
    assert "<script>" not in text and "<img" not in text and "<svg" not in text
    assert "## Abstract" in text and "- arXiv: <https://arxiv.org/abs/2412.66601>" in text
    assert "  > # Not a heading" in text and "  > &lt;script&gt;x&lt;/script&gt;" in text
    assert "(reply):" in text and "hidden one" not in text
    assert client.get("/papers/2412.66601v1.md").url == "/papers/2412.66601.md"
    assert client.get("/papers/2412.99999.md").status_code == 404
    assert client.get("/papers/nonsense!.md").status_code == 404


def test_daily_page_query_count_is_bounded(client):
    fill_demo(days=1, per_day=60, users=10)
    day = Listing.objects.first().date
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/papers/date/{day.isoformat()}").status_code == 200
    assert len(queries) <= 8
