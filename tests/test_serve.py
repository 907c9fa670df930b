"""`paperfeed serve` as a real process tree: gunicorn, the background worker, migrations on
start, the demo, the first fetch from (loopback) arXiv, and the offline message."""

import time

import httpx
import pytest

from tests.live import free_port
from tests.upstream import fixture

# The fixtures come from the tests.live plugin. These names remain for tests that still
# import the fixtures from this module; new tests need no import.

pytestmark = [pytest.mark.live, pytest.mark.django_db]


def test_serve_demo_is_a_living_site(start):
    server = start("--demo")
    page = httpx.get(f"{server.url}/papers/", timeout=10)
    assert page.status_code == 200
    assert page.text.count('class="card"') == 40
    assert "demo data" in server.text
    paper = httpx.get(f"{server.url}/papers/9912.00001", timeout=10)
    assert paper.status_code == 200 and "Abstract" in paper.text
    assert httpx.get(f"{server.url}/static/paperfeed/site.css", timeout=10).status_code == 200
    assert httpx.get(f"{server.url}/", timeout=10, follow_redirects=False).status_code == 302
    output = server.stop()
    assert server.process.returncode == 0, output
    assert "Started background worker" in output


def test_fresh_home_fetches_announcements_in_the_background(start, upstream):
    upstream.add("/rss/cs.LG", fixture("rss_cs_LG.xml"), content_type="application/rss+xml")
    upstream.add("/api/query", fixture("arxiv_api_empty.atom"), content_type="application/atom+xml")
    server = start(
        PAPERFEED_CATEGORIES="cs.LG",
        PAPERFEED_ARXIV_LISTING_URL=f"{upstream.url}/rss/",
        PAPERFEED_ARXIV_API_URL=f"{upstream.url}/api/query",
    )
    assert "fetching today's arXiv announcements for cs.LG" in server.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = httpx.get(f"{server.url}/papers/date/2024-12-04", timeout=10)
        if page.text.count('class="card"') == 3:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("announcements never appeared:\n" + server.stop())
    assert any(r["path"] == "/rss/cs.LG" for r in upstream.requests)


def test_fresh_home_offline_says_so(start):
    closed = free_port()
    server = start(PAPERFEED_ARXIV_LISTING_URL=f"http://127.0.0.1:{closed}/rss/")
    output = server.text
    assert "OFFLINE: cannot reach arXiv" in output
    assert "paperfeed serve --demo" in output
    page = httpx.get(f"{server.url}/papers/", timeout=10)
    assert page.status_code == 200 and "No papers listed" in page.text


def test_chatty_server_keeps_serving_and_its_output_can_be_searched(start):
    """The access log goes to the test's pipe: far more than the pipe holds (64 KB) must
    not stall the server, and every line stays searchable."""
    server = start("--no-fetch", "--no-worker")
    mark = server.mark()
    agent = "chatty-" + "x" * 2000
    with httpx.Client(base_url=server.url, headers={"User-Agent": agent}, timeout=10) as client:
        for n in range(100):  # about 200 KB of access log
            assert client.get(f"/static/paperfeed/site.css?n={n}").status_code == 200
    assert server.wait_for(r"site\.css\?n=99 ", since=mark)
    assert server.text.count(agent) >= 100


def test_manage_runs_against_the_live_instance(start):
    server = start("--no-fetch", "--no-worker")
    code = (
        "from django.conf import settings; from paperfeed.accounts.models import User; "
        "User.objects.create_user('ada', 'ada@example.org'); "
        "print(settings.SETTINGS_MODULE, settings.PAPERFEED_BASE_URL, settings.HOME)"
    )
    assert server.manage("shell", "--verbosity", "0", "-c", code).split() == [
        "paperfeed.settings",
        server.url,
        server.env["PAPERFEED_HOME"],
    ]
    listed = server.manage("shell", "-c", "print(*User.objects.values_list('username', flat=True))")
    assert listed.splitlines()[-1] == "ada"  # models are imported automatically
