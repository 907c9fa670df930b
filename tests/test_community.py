"""Votes, discussion, submissions, collections and authorship claims: the rules in
`community.services` called directly, the pages and endpoints through the test client,
arXiv played by the loopback server, and concurrent votes against a real `paperfeed serve`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

import paperfeed
from paperfeed.community import selectors, services
from paperfeed.community.markdown import render_markdown
from paperfeed.community.models import AuthorClaim, Collection, CollectionItem, Comment, Vote
from paperfeed.community.services import Refused
from paperfeed.papers.models import IngestRun, Listing, Paper
from paperfeed.papers.records import PaperRecord, validate
from paperfeed.papers.upsert import store_batch

# The live-server fixtures of test_serve, found by pytest in this module's namespace.
from tests.upstream import fixture

pytestmark = pytest.mark.django_db

ATOM = "application/atom+xml"
FROZEN = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)
HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(2)>',
    "[click](javascript:alert(3))",
    "[data](data:text/html,<b>x</b>)",
]


# --- helpers ---------------------------------------------------------------------------


def make_paper(arxiv_id="2412.00001", title="Ordinary Paper", authors=None, published=None):
    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract="An abstract about nothing in particular.",
        authors=authors or ["Ada Abara", "Bo Berg"],
        categories=["cs.LG"],
        published_at=published or datetime(2024, 12, 9, 18, tzinfo=UTC),
        source="test",
        place=arxiv_id,
    )
    store_batch([validate(record)])
    return Paper.objects.get(arxiv_id=arxiv_id)


def make_user(name="ada", **extra):
    return get_user_model().objects.create_user(
        username=name, email=f"{name}@example.invalid", password="not-used-here", **extra
    )


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def parse_elements(html: str) -> list[tuple[str, dict]]:
    """Every element of an HTML fragment with its attributes, as a browser would see them."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_inert(page: str) -> None:
    """No script but the site's own, no event handler, no javascript: or data: link."""
    for tag, attrs in parse_elements(page):
        assert tag not in {"img", "svg", "iframe"}, (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").endswith("paperfeed/site.js"), attrs
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)


def counters(paper):
    paper.refresh_from_db()
    return paper.upvotes, paper.num_comments


def json_post(client, url, data):
    return client.post(url, data, HTTP_ACCEPT="application/json")


@pytest.fixture
def paper():
    return make_paper()


@pytest.fixture
def ada():
    return make_user("ada", display_name="Ada A.")


@pytest.fixture
def bo():
    return make_user("bo")


@pytest.fixture
def moderator():
    return make_user("mod", is_staff=True)


@pytest.fixture
def frozen(monkeypatch):
    """Today is 10 December 2024 (time is the one thing tests mock)."""
    monkeypatch.setattr(services, "now", lambda: FROZEN)
    return FROZEN


# --- votes -----------------------------------------------------------------------------


def test_votes_are_idempotent_and_counted_exactly(paper, ada, bo):
    assert services.set_vote(ada, paper, True) == services.VoteState(True, 1)
    assert services.set_vote(ada, paper, True) == services.VoteState(True, 1)
    assert services.set_vote(bo, paper, True).upvotes == 2
    assert services.set_vote(ada, paper, False) == services.VoteState(False, 1)
    assert services.set_vote(ada, paper, False) == services.VoteState(False, 1)
    assert services.toggle_vote(ada, paper) == services.VoteState(True, 2)
    assert services.toggle_vote(ada, paper) == services.VoteState(False, 1)
    assert counters(paper)[0] == Vote.objects.filter(paper=paper).count() == 1
    assert services.upvote(ada, paper) is True and services.upvote(ada, paper) is False
    assert services.unvote(ada, paper) is True and services.unvote(ada, paper) is False
    assert counters(paper)[0] == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_count_exactly():
    paper = make_paper()
    users = [make_user(f"voter{i}") for i in range(12)]
    barrier = threading.Barrier(24)

    def vote(user, on):
        barrier.wait()
        try:
            services.set_vote(user, paper, on)
        finally:
            connection.close()

    with ThreadPoolExecutor(24) as pool:  # every user votes twice at the same moment
        list(pool.map(vote, users + users, [True] * 24))
    assert counters(paper)[0] == Vote.objects.count() == 12
    barrier = threading.Barrier(24)
    with ThreadPoolExecutor(24) as pool:  # half take it back twice, half vote again
        list(pool.map(vote, users + users, [i % 2 == 0 for i in range(12)] * 2))
    assert counters(paper)[0] == Vote.objects.count() == 6


def test_vote_without_javascript_redirects_back(client, paper, ada):
    client.force_login(ada)
    url = f"/papers/{paper.arxiv_id}/vote"
    response = client.post(url, {"on": "1", "next": "/papers/date/2024-12-09"})
    assert response.status_code == 302 and response.url == "/papers/date/2024-12-09"
    assert counters(paper)[0] == 1
    # A `next` pointing elsewhere is ignored: back to the paper page.
    response = client.post(url, {"on": "0", "next": "https://evil.example/"})
    assert response.url == f"/papers/{paper.arxiv_id}"
    assert counters(paper)[0] == 0
    response = client.post(url, {"next": "//evil.example/x"})  # no `on`: toggles
    assert response.url == f"/papers/{paper.arxiv_id}"
    assert counters(paper)[0] == 1
    assert client.get(url).status_code == 405


def test_vote_with_javascript_answers_json(client, paper, ada):
    client.force_login(ada)
    url = f"/papers/{paper.arxiv_id}/vote"
    assert json_post(client, url, {"on": "1"}).json() == {"voted": True, "upvotes": 1}
    assert json_post(client, url, {"on": "1"}).json() == {"voted": True, "upvotes": 1}
    assert json_post(client, url, {"on": "0"}).json() == {"voted": False, "upvotes": 0}


def test_anonymous_vote_asks_to_log_in(client, paper):
    url = f"/papers/{paper.arxiv_id}/vote"
    response = client.post(url, {"on": "1", "next": "/papers/date/2024-12-09"})
    assert response.status_code == 302
    assert response.url == "/accounts/login?next=%2Fpapers%2Fdate%2F2024-12-09"
    response = json_post(client, url, {"on": "1"})
    assert response.status_code == 401
    assert response.json()["login"] == f"/accounts/login?next=%2Fpapers%2F{paper.arxiv_id}"
    assert counters(paper)[0] == 0


def test_vote_button_shows_state_on_list_and_paper_page(client, paper, ada):
    Listing.objects.create(paper=paper, date="2024-12-09", source="announcement")
    services.set_vote(make_user("bo"), paper, True)
    client.force_login(ada)
    for url in ("/papers/date/2024-12-09", f"/papers/{paper.arxiv_id}"):
        body = client.get(url).content.decode()
        assert 'aria-pressed="false"' in body and '<span class="vote-count">1</span>' in body
        assert 'name="on" value="1"' in body
    services.set_vote(ada, paper, True)
    body = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert 'aria-pressed="true"' in body and '<span class="vote-count">2</span>' in body
    assert 'aria-label="Upvote (2)"' in body and 'name="on" value="0"' in body


def test_old_style_ids_work_in_community_urls(client, ada):
    paper = make_paper("hep-th/9901001", "Folded Branes Again")
    client.force_login(ada)
    assert json_post(client, "/papers/hep-th/9901001/vote", {"on": "1"}).json()["upvotes"] == 1
    assert client.post("/papers/hep-th/9901001/comments", {"body": "old!"}).status_code == 302
    assert counters(paper) == (1, 1)


def test_votes_are_rate_limited(client, paper, ada, settings):
    settings.PAPERFEED_RATE_VOTES = "3/d"  # a day-long window: no boundary inside the test
    client.force_login(ada)
    url = f"/papers/{paper.arxiv_id}/vote"
    for on in "101":
        assert json_post(client, url, {"on": on}).status_code == 200
    response = client.post(url, {"on": "0"})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "Too many requests" in response.content.decode()
    assert json_post(client, url, {"on": "0"}).status_code == 429
    assert counters(paper)[0] == 1  # the refused requests changed nothing


# --- discussion ------------------------------------------------------------------------


@pytest.mark.nodb
def test_markdown_subset():
    html = render_markdown("Hello *there* **you** `x`\nnext line\n\n> quoted\n\n- a\n- b")
    assert "<em>there</em>" in html and "<strong>you</strong>" in html
    assert "<code>x</code>" in html and "<br>" in html and "<blockquote>" in html
    assert "<ul>\n<li>a</li>" in html
    assert render_markdown("1. one\n2. two").startswith("<ol>")
    assert render_markdown("```\ncode <b>\n```") == "<pre><code>code &lt;b&gt;\n</code></pre>"
    assert render_markdown("# not a heading") == "<p># not a heading</p>"
    link = render_markdown('[site](https://example.org "t") <mailto:a@example.org>')
    assert '<a href="https://example.org" rel="nofollow ugc noopener">site</a>' in link
    assert '<a href="mailto:a@example.org" rel="nofollow ugc noopener">' in link
    assert "title=" not in link


@pytest.mark.nodb
@pytest.mark.parametrize(
    "text",
    [
        *HOSTILE,
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[rel](/admin/)",
        "<a href='javascript:alert(1)'>raw</a>",
        "![img](https://example.org/x.png)",
        "<iframe src=https://example.org></iframe>",
        "[x](<javascript:alert(1)>)",
        "[x](java&#x09;script:alert(1))",
        ">" * 500 + " deep",
    ],
)
def test_markdown_output_is_inert(text):
    elements = parse_elements(render_markdown(text))
    allowed = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
    assert {tag for tag, _ in elements} <= allowed, (text, elements)
    for tag, attrs in elements:
        if tag == "a":
            assert set(attrs) <= {"href", "rel"} and attrs["rel"] == "nofollow ugc noopener"
            assert attrs.get("href", "https:").startswith(("https:", "http:", "mailto:"))
        else:
            assert attrs == {}, (text, tag, attrs)


def test_comments_and_one_level_of_replies(paper, ada, bo):
    top = services.add_comment(ada, paper, "  First *thoughts*  ")
    assert top.body == "First *thoughts*" and top.body_html == "<p>First <em>thoughts</em></p>"
    reply = services.add_comment(bo, paper, "A reply", parent=top)
    deeper = services.add_comment(ada, paper, "A reply to the reply", parent=reply)
    assert reply.parent == top and deeper.parent == top  # threads are one level deep
    assert counters(paper)[1] == 3
    threads = selectors.discussion(ada, paper)
    assert threads == [top] and threads[0].shown_replies == [reply, deeper]
    other = make_paper("2412.00002")
    with pytest.raises(Refused, match="another paper"):
        services.add_comment(ada, other, "wrong thread", parent=top)


def test_empty_and_oversized_comments_are_refused(paper, ada):
    with pytest.raises(Refused, match="cannot be empty"):
        services.add_comment(ada, paper, " \n\t ")
    with pytest.raises(Refused, match="limited to 10,000 characters; this one has 10,001"):
        services.add_comment(ada, paper, "x" * 10_001)
    assert services.add_comment(ada, paper, "x" * 10_000).body_html
    assert counters(paper)[1] == 1


def test_a_refused_comment_keeps_its_text(client, paper, ada):
    client.force_login(ada)
    url = f"/papers/{paper.arxiv_id}/comments"
    long_text = "my careful words " * 700
    response = client.post(url, {"body": long_text})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Comments are limited to 10,000 characters" in body
    assert long_text.strip() in body
    response = client.post(url, {"body": "   "})
    assert "A comment cannot be empty" in response.content.decode()
    response = json_post(client, url, {"body": ""})
    assert response.status_code == 400 and "cannot be empty" in response.json()["error"]
    assert counters(paper)[1] == 0


def test_posting_comments_through_the_page(client, paper, ada, bo):
    client.force_login(ada)
    url = f"/papers/{paper.arxiv_id}/comments"
    response = client.post(url, {"body": "Nice **result**"})
    top = Comment.objects.get()
    assert response.url == f"/papers/{paper.arxiv_id}#comment-{top.pk}"
    client.force_login(bo)
    response = json_post(client, url, {"body": "Agreed", "parent": str(top.pk)})
    assert response.status_code == 201
    data = response.json()
    assert data["parent"] == top.pk and data["num_comments"] == 2
    assert f'id="comment-{data["id"]}"' in data["html"] and "<p>Agreed</p>" in data["html"]
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "Nice <strong>result</strong>" in page and "Ada A." in page
    assert page.index("Nice <strong>") < page.index("<p>Agreed</p>")
    assert f'name="parent" value="{top.pk}"' in page  # reply forms, in <details>
    assert json_post(client, url, {"body": "x", "parent": "999999"}).status_code == 404
    assert client.get(url).status_code == 405


def test_anonymous_visitors_read_but_do_not_post(client, paper, ada):
    services.add_comment(ada, paper, "Visible to all")
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "Visible to all" in page and "to join the discussion" in page
    assert "<textarea" not in page
    response = client.post(f"/papers/{paper.arxiv_id}/comments", {"body": "sneaky"})
    assert response.status_code == 302 and response.url.startswith("/accounts/login?next=")
    assert Comment.objects.count() == 1


def test_editing_own_comments(client, paper, ada, bo):
    comment = services.add_comment(ada, paper, "tpyo")
    with pytest.raises(Refused, match="your own"):
        services.edit_comment(bo, comment, "vandalised")
    services.edit_comment(ada, comment, "typo *fixed*")
    comment.refresh_from_db()
    assert comment.body_html == "<p>typo <em>fixed</em></p>" and comment.edited_at
    client.force_login(ada)
    url = f"/comments/{comment.pk}/edit"
    assert "typo *fixed*" in client.get(url).content.decode()
    response = json_post(client, url, {"body": "final"})
    assert response.json() == {"id": comment.pk, "html": "<p>final</p>"}
    response = client.post(url, {"body": ""})
    assert response.status_code == 400 and "cannot be empty" in response.content.decode()
    assert client.post(url, {"body": "done"}).status_code == 302
    assert "edited" in client.get(f"/papers/{paper.arxiv_id}").content.decode()
    client.force_login(bo)
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "mine now"}).status_code == 404
    comment.refresh_from_db()
    assert comment.body == "done"


def test_deleting_comments(client, paper, ada, bo):
    lonely = services.add_comment(ada, paper, "nobody answers")
    top = services.add_comment(ada, paper, "start of a thread")
    reply = services.add_comment(bo, paper, "an answer", parent=top)
    assert counters(paper)[1] == 3
    with pytest.raises(Refused, match="your own"):
        services.delete_comment(bo, lonely)
    # Without replies a comment goes entirely.
    assert services.delete_comment(ada, lonely) is True
    assert not Comment.objects.filter(pk=lonely.pk).exists()
    # With replies it stays as a placeholder, text erased, so the replies keep context.
    client.force_login(ada)
    assert client.post(f"/comments/{top.pk}/delete").status_code == 302
    top.refresh_from_db()
    assert top.deleted_at and top.body == "" and top.body_html == ""
    assert counters(paper)[1] == 1
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "This comment was deleted." in page and "start of a thread" not in page
    assert "an answer" in page
    with pytest.raises(Refused, match="takes no new replies"):
        services.add_comment(bo, paper, "late reply", parent=top)
    assert services.delete_comment(ada, top) is False  # twice is harmless
    # The placeholder goes with its last reply.
    assert services.delete_comment(bo, reply) is True
    assert not Comment.objects.exists() and counters(paper)[1] == 0


def test_moderators_hide_and_unhide(client, paper, ada, bo, moderator):
    top = services.add_comment(ada, paper, "rude words")
    reply = services.add_comment(bo, paper, "a calm answer", parent=top)
    with pytest.raises(Refused, match="Only moderators"):
        services.set_hidden(bo, top, True)
    client.force_login(bo)
    assert client.post(f"/comments/{top.pk}/hide").status_code == 403
    client.force_login(moderator)
    assert client.post(f"/comments/{top.pk}/hide", {"hidden": "1"}).status_code == 302
    assert services.set_hidden(moderator, top, True) is False  # already hidden
    assert counters(paper)[1] == 1
    client.force_login(bo)
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "rude words" not in page and "hidden by a moderator" in page
    assert "a calm answer" in page
    client.force_login(moderator)
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "rude words" in page and "Unhide" in page
    with pytest.raises(Refused, match="cannot be edited"):
        services.edit_comment(ada, top, "sorry")
    # A hidden reply disappears for everyone but moderators.
    services.set_hidden(moderator, reply, True)
    assert counters(paper)[1] == 0
    assert selectors.discussion(bo, paper) == []
    assert json_post(client, f"/comments/{top.pk}/hide", {"hidden": "0"}).json() == {
        "hidden": False
    }
    assert counters(paper)[1] == 1
    # Deleting a hidden comment does not count it twice.
    assert services.delete_comment(bo, reply) is True
    assert counters(paper)[1] == 1


def test_comments_are_rate_limited(client, paper, ada, settings):
    settings.PAPERFEED_RATE_COMMENTS = "2/d"
    client.force_login(ada)
    url = f"/papers/{paper.arxiv_id}/comments"
    assert client.post(url, {"body": "one"}).status_code == 302
    assert client.post(url, {"body": "two"}).status_code == 302
    response = client.post(url, {"body": "three"})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert counters(paper)[1] == 2


def test_hostile_comments_render_inert(client, paper, ada):
    for text in HOSTILE:
        services.add_comment(ada, paper, text)
    client.force_login(ada)
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, in the body
    assert_inert(page)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "<svg onload" not in page and 'href="javascript:' not in page.lower()
    assert 'href="data:' not in page


# --- submissions -----------------------------------------------------------------------


def test_submit_fetches_from_arxiv_and_lists_today(upstream_settings, frozen, ada):
    upstream_settings.add("/api/query", fixture("arxiv_api_submit_recent.atom"), content_type=ATOM)
    listing = services.submit_paper(ada, "https://arxiv.org/pdf/2412.04321v1")
    assert upstream_settings.requests[0]["query"]["id_list"] == "2412.04321"
    assert listing.date.isoformat() == "2024-12-10"
    assert listing.source == Listing.Source.SUBMISSION
    assert (listing.submitter, listing.submitter_name) == (ada, "Ada A.")
    paper = listing.paper
    assert paper.title.startswith("Lantern Probes") and paper.version == 2
    assert paper.authorships.count() == 3


@pytest.mark.parametrize(
    "text",
    ["2412.04321", "2412.04321v2", "arXiv:2412.04321", "https://arxiv.org/abs/2412.04321v1",
     "http://arxiv.org/pdf/2412.04321.pdf", "https://arxiv.org/html/2412.04321v2",
     "  arxiv.org/abs/2412.04321  "],
)  # fmt: skip
def test_submit_accepts_ids_and_links(frozen, ada, text):
    make_paper("2412.04321", published=datetime(2024, 12, 5, tzinfo=UTC))
    assert services.submit_paper(ada, text).paper.arxiv_id == "2412.04321"


def test_submit_a_stored_paper_needs_no_network(upstream_settings, frozen, ada):
    make_paper("hep-th/9901001", published=datetime(2024, 12, 1, tzinfo=UTC))
    assert services.submit_paper(ada, "hep-th/9901001v1").paper.arxiv_id == "hep-th/9901001"
    assert upstream_settings.requests == []


def test_submit_refuses_a_paper_already_listed_today(frozen, ada, bo):
    paper = make_paper("2412.04321")
    services.submit_paper(ada, "2412.04321")
    with pytest.raises(Refused, match="already on today's list") as refused:
        services.submit_paper(bo, "https://arxiv.org/abs/2412.04321")
    assert refused.value.link == "/papers/2412.04321"
    assert Listing.objects.filter(paper=paper).count() == 1
    # Yesterday's list does not count.
    Listing.objects.update(date="2024-12-09")
    assert services.submit_paper(bo, "2412.04321").submitter == bo


def test_submit_refuses_old_papers(upstream_settings, frozen, ada, settings):
    upstream_settings.add("/api/query", fixture("arxiv_api_submit_old.atom"), content_type=ATOM)
    with pytest.raises(Refused, match="first appeared on 14 October 2024; only papers from"):
        services.submit_paper(ada, "2410.07070")
    assert not Listing.objects.exists()
    assert Paper.objects.filter(arxiv_id="2410.07070").exists()  # fetched, just not listed
    settings.PAPERFEED_SUBMIT_MAX_AGE_DAYS = 60
    assert services.submit_paper(ada, "2410.07070").date.isoformat() == "2024-12-10"
    # The limit counts whole days in the site's time zone.
    make_paper("2411.00001", published=datetime(2024, 11, 26, 23, 59, tzinfo=UTC))
    settings.PAPERFEED_SUBMIT_MAX_AGE_DAYS = 14
    assert services.submit_paper(ada, "2411.00001")
    make_paper("2411.00002", published=datetime(2024, 11, 25, 23, 59, tzinfo=UTC))
    with pytest.raises(Refused, match="last 14 days"):
        services.submit_paper(ada, "2411.00002")


def test_submit_daily_cap(frozen, ada, bo, settings, monkeypatch):
    settings.PAPERFEED_SUBMIT_DAILY_CAP = 2
    for n in range(1, 5):
        make_paper(f"2412.1000{n}")
    services.submit_paper(ada, "2412.10001")
    services.submit_paper(ada, "2412.10002")
    with pytest.raises(Refused, match="submitted 2 papers today, the daily limit"):
        services.submit_paper(ada, "2412.10003")
    assert services.submit_paper(bo, "2412.10003")  # the cap is per person
    assert services.submissions_left_today(ada) == 0
    monkeypatch.setattr(services, "now", lambda: datetime(2024, 12, 11, 9, tzinfo=UTC))
    assert services.submit_paper(ada, "2412.10004").date.isoformat() == "2024-12-11"


def test_submit_unknown_id(upstream_settings, frozen, ada):
    upstream_settings.add("/api/query", fixture("arxiv_api_empty.atom"), content_type=ATOM)
    with pytest.raises(Refused, match="arXiv has no paper 2412.99999"):
        services.submit_paper(ada, "2412.99999")
    assert not Paper.objects.exists() and not Listing.objects.exists()


def test_submit_when_arxiv_is_unreachable(settings, frozen, ada, sleeps):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.PAPERFEED_ARXIV_API_URL = f"http://127.0.0.1:{closed_port}/api/query"
    with pytest.raises(Refused, match="arXiv could not be reached just now") as refused:
        services.submit_paper(ada, "2412.04321")
    assert refused.value.status == 503
    assert not Paper.objects.exists() and not Listing.objects.exists()
    assert IngestRun.objects.get().status == IngestRun.Status.FAILED
    assert len(sleeps) == services.SUBMIT_FETCH_RETRIES  # no long waits inside a request


def test_submit_arxiv_busy_for_long_is_not_waited_for(upstream_settings, frozen, ada, sleeps):
    upstream_settings.add("/api/query", "busy", status=503, headers={"Retry-After": "120"},
                          content_type="text/plain")  # fmt: skip
    with pytest.raises(Refused, match="could not be reached"):
        services.submit_paper(ada, "2412.04321")
    assert sleeps == []


def test_submit_refuses_what_is_not_an_id(ada):
    for text in ("", "hello", "https://example.org/abs/2412.04321", "2413.00001"):
        with pytest.raises(Refused, match="not an arXiv id or link"):
            services.submit_paper(ada, text)


def test_submit_page(client, upstream_settings, frozen, ada):
    assert client.get("/papers/submit").url == "/accounts/login?next=%2Fpapers%2Fsubmit"
    client.force_login(ada)
    page = client.get("/papers/submit").content.decode()
    assert "in the last 14 days" in page and "you have 5 left today" in page
    upstream_settings.add("/api/query", fixture("arxiv_api_submit_recent.atom"), content_type=ATOM)
    response = client.post("/papers/submit", {"id": "https://arxiv.org/abs/2412.04321v2"})
    assert response.status_code == 302 and response.url == "/papers/2412.04321"
    page = client.get(response.url).content.decode()
    assert "Thank you: the paper is on today&#x27;s list." in page
    response = client.post("/papers/submit", {"id": "2412.04321"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "is already on today&#x27;s list" in page and 'href="/papers/2412.04321"' in page
    assert "you have 4 left today" in page
    response = client.post("/papers/submit", {"id": "<script>alert(1)</script>"})
    assert "not an arXiv id or link" in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    listing = Listing.objects.get()
    day = client.get("/papers/date/2024-12-10").content.decode()
    assert "Lantern Probes" in day
    profile = listing.submitter.get_absolute_url()
    assert f'submitted by <a href="{profile}">{listing.submitter_name}</a>' in day


def test_submissions_are_rate_limited(client, frozen, ada, settings):
    settings.PAPERFEED_RATE_SUBMISSIONS = "1/d"
    client.force_login(ada)
    assert client.post("/papers/submit", {"id": "nonsense"}).status_code == 400
    response = client.post("/papers/submit", {"id": "nonsense"})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert client.get("/papers/submit").status_code == 200  # reading the form is not limited


# --- collections -----------------------------------------------------------------------


def test_collections_rules(paper, ada, bo):
    reading = services.create_collection(ada, "  To  read ", "later", is_public=False)
    assert (reading.name, reading.slug) == ("To read", "to-read")
    with pytest.raises(Refused, match="already have a collection called 'To read'"):
        services.create_collection(ada, "To read")
    assert services.create_collection(bo, "To read")  # names are per person
    with pytest.raises(Refused, match="Give the collection a name"):
        services.create_collection(ada, "   ")
    with pytest.raises(Refused, match="limited to 120 characters"):
        services.create_collection(ada, "x" * 121)
    assert services.add_to_collection(ada, reading, paper) is True
    assert services.add_to_collection(ada, reading, paper) is False
    with pytest.raises(Refused, match="No such collection"):
        services.add_to_collection(bo, reading, paper)
    with pytest.raises(Refused, match="No such collection"):
        services.delete_collection(bo, reading)
    assert services.remove_from_collection(ada, reading, paper) is True
    assert services.remove_from_collection(ada, reading, paper) is False
    unicode = services.create_collection(ada, "Lectures d'été")
    assert unicode.slug == "lectures-dété"


def test_collections_pages(client, paper, ada, bo):
    assert client.get("/collections/").status_code == 302
    client.force_login(ada)
    response = client.post(
        "/collections/", {"name": "Weekend", "description": "for Saturday", "is_public": "1"}
    )
    weekend = Collection.objects.get()
    assert response.url == weekend.get_absolute_url() == f"/collections/{weekend.pk}/weekend"
    response = client.post("/collections/", {"name": "Weekend"})
    assert response.status_code == 400
    assert "already have a collection called" in response.content.decode()
    services.add_to_collection(ada, weekend, paper)
    page = client.get("/collections/").content.decode()
    assert "Weekend" in page and "1 paper" in page
    page = client.get(weekend.get_absolute_url()).content.decode()
    assert paper.title in page and "Remove" in page and "for Saturday" in page
    assert client.get(f"/collections/{weekend.pk}/old-name").url == weekend.get_absolute_url()
    # Others see a public collection, without the owner's buttons.
    client.force_login(bo)
    page = client.get(weekend.get_absolute_url()).content.decode()
    assert paper.title in page and "Remove" not in page and "Edit this collection" not in page
    assert client.post(weekend.get_absolute_url(), {"action": "delete"}).status_code == 403
    # The owner renames it, makes it private, removes the paper, then deletes it.
    client.force_login(ada)
    response = client.post(
        weekend.get_absolute_url(),
        {"action": "update", "name": "Sunday", "description": "moved"},
    )
    weekend.refresh_from_db()
    assert (weekend.name, weekend.slug, weekend.is_public) == ("Sunday", "sunday", False)
    assert response.url == weekend.get_absolute_url()
    client.logout()
    assert client.get(weekend.get_absolute_url()).status_code == 404
    client.force_login(bo)
    assert client.get(weekend.get_absolute_url()).status_code == 404
    client.force_login(ada)
    assert client.get(weekend.get_absolute_url()).status_code == 200
    client.post(weekend.get_absolute_url(), {"action": "remove", "paper": paper.pk})
    assert not CollectionItem.objects.exists()
    response = client.post(weekend.get_absolute_url(), {"action": "delete"})
    assert response.url == "/collections/" and not Collection.objects.exists()
    assert Paper.objects.filter(pk=paper.pk).exists()


def test_paper_collections_endpoint_and_box(client, paper, ada, bo):
    mine = services.create_collection(ada, "Mine")
    theirs = services.create_collection(bo, "Theirs", is_public=True, paper=paper)
    url = f"/papers/{paper.arxiv_id}/collections"
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "Theirs" in page and "by bo" in page  # public collections, for anyone
    client.force_login(ada)
    response = client.post(url, {"collection": mine.pk, "action": "add"})
    assert response.url == f"/papers/{paper.arxiv_id}#collections"
    assert mine.papers.get() == paper
    response = json_post(client, url, {"collection": mine.pk, "action": "remove"})
    assert response.json() == {"collection": mine.pk, "name": "Mine", "contains": False}
    assert not mine.papers.exists()
    response = json_post(client, url, {"name": "Fresh one", "is_public": "1"})
    fresh = Collection.objects.get(name="Fresh one")
    assert response.json()["contains"] is True and fresh.papers.get() == paper
    response = json_post(client, url, {"collection": theirs.pk, "action": "remove"})
    assert response.status_code == 404 and theirs.papers.exists()
    response = json_post(client, url, {"name": "Mine"})
    assert response.status_code == 400 and "already have" in response.json()["error"]
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    box = page[page.index('id="collections"') :]
    assert re.search(r'aria-pressed="true"[^>]*>.*Fresh one', box)
    assert re.search(r'aria-pressed="false"[^>]*>.*Mine', box)


# --- authorship claims -----------------------------------------------------------------


def test_claims_from_request_to_verified_mark(client, ada, bo, moderator):
    paper = make_paper(authors=["Ada Abara", "Bo Berg", "Cy Castillo"])
    author = paper.authorships.get(position=0).author
    client.force_login(ada)
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "Are you one of the authors?" in page and f'value="{author.pk}">Ada Abara' in page
    response = client.post(f"/papers/{paper.arxiv_id}/claim", {"author": author.pk})
    assert response.url == f"/papers/{paper.arxiv_id}#claim"
    claim = AuthorClaim.objects.get()
    assert (claim.user, claim.author, claim.status) == (ada, author, "pending")
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert "You claimed to be <strong>Ada Abara</strong>" in page and "pending" in page
    assert "✓ verified" not in page
    with pytest.raises(Refused, match="already claimed this paper"):
        services.claim_authorship(ada, paper, paper.authorships.get(position=1).author_id)
    # A moderator approves in the admin.
    client.force_login(moderator)
    moderator.is_superuser = True
    moderator.save()
    response = client.post(
        "/admin/community/authorclaim/",
        {"action": "approve", "_selected_action": [claim.pk]},
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "approved" and claim.decided_by == moderator and claim.decided_at
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert '<a class="verified" href="/users/ada"' in page
    assert page.count("✓ verified") == 1
    # Nobody else can be verified as the same author of this paper.
    with pytest.raises(Refused, match="Ada Abara is already verified"):
        services.claim_authorship(bo, paper, author.pk)
    with pytest.raises(Refused, match="Choose one of this paper's authors"):
        services.claim_authorship(bo, paper, 999_999)


def test_claim_decisions_and_withdrawal(ada, bo, moderator):
    paper = make_paper(authors=["Ada Abara", "Bo Berg"])
    author = paper.authorships.get(position=0).author
    first = services.claim_authorship(ada, paper, author.pk)
    second = services.claim_authorship(bo, paper, author.pk)  # both pending: a moderator picks
    with pytest.raises(Refused, match="Only moderators"):
        services.decide_claim(first, bo, True)
    services.decide_claim(first, moderator, True)
    with pytest.raises(Refused, match="already verified as Ada Abara"):
        services.decide_claim(second, moderator, True)
    services.decide_claim(second, moderator, False)
    assert AuthorClaim.objects.get(pk=second.pk).status == "rejected"
    assert services.withdraw_claim(bo, paper) is False  # decided claims stay on record
    claim = services.claim_authorship(ada, make_paper("2412.00002", authors=["Ada Abara"]),
                                      author.pk)  # fmt: skip
    assert services.withdraw_claim(ada, claim.paper) is True
    assert selectors.paper_page(bo, paper)["verified_authors"] == {author.pk: ada}
    assert selectors.paper_page(bo, paper)["my_claim"] == second


def test_claim_form_escapes_hostile_author_names(client, ada):
    paper = make_paper(authors=['<img src=x onerror="alert(1)">', "<script>alert(2)</script>"])
    client.force_login(ada)
    page = client.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert_inert(page)
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;</option>" in page


# --- the paper page, admin, hostile input ----------------------------------------------


def test_paper_page_queries_do_not_grow_with_the_discussion(client, ada, bo, moderator):
    paper = make_paper(authors=["Ada Abara", "Bo Berg"])
    services.set_vote(ada, paper, True)
    services.create_collection(ada, "One", paper=paper)
    services.claim_authorship(ada, paper, paper.authorships.get(position=0).author_id)
    top = services.add_comment(bo, paper, "hello")
    services.add_comment(ada, paper, "hi", parent=top)
    client.force_login(ada)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/papers/{paper.arxiv_id}").status_code == 200
        return len(queries)

    with CaptureQueriesContext(connection) as queries:
        selectors.paper_page(ada, paper)
    assert len(queries) <= 6
    small = page_queries()
    people = [make_user(f"reader{i}") for i in range(8)]
    for person in people:
        thread = services.add_comment(person, paper, f"comment by {person}")
        services.add_comment(ada, paper, "thanks", parent=thread)
        services.create_collection(person, f"Shelf of {person}", paper=paper)
        services.set_vote(person, paper, True)
    services.create_collection(ada, "Two")
    services.decide_claim(AuthorClaim.objects.get(), moderator, True)
    assert page_queries() == small


def test_hostile_collection_names_and_descriptions_render_inert(client, paper, ada):
    collection = services.create_collection(
        ada, HOSTILE[0], description=HOSTILE[1], is_public=True, paper=paper
    )
    client.force_login(ada)
    for url in (f"/papers/{paper.arxiv_id}", "/collections/", collection.get_absolute_url()):
        page = client.get(url).content.decode()
        assert_inert(page)
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_hostile_paper_metadata_renders_inert_around_community_parts(client, ada):
    paper = make_paper(
        "2412.66601",
        title="<script>alert(1)</script> Title",
        authors=['"><svg onload=alert(2)>', "Plain Person"],
    )
    services.add_comment(ada, paper, "fine")
    services.create_collection(ada, "Safe", paper=paper)
    client.force_login(ada)
    for url in (f"/papers/{paper.arxiv_id}", "/collections/", "/papers/submit"):
        page = client.get(url).content.decode()
        assert_inert(page)
        assert "<script>alert" not in page and "<svg onload" not in page, url
    response = client.post("/papers/2412.66601/comments", {"body": "x" * 10_001})
    assert "<script>alert" not in response.content.decode()


def test_admin_moderation(client, paper, ada, bo):
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    top = services.add_comment(ada, paper, "needs moderation")
    services.add_comment(bo, paper, "reply", parent=top)
    services.set_vote(ada, paper, True)
    services.create_collection(ada, "Shelf", paper=paper)
    services.claim_authorship(ada, paper, paper.authorships.first().author_id)
    client.force_login(admin_user)
    for model in ("comment", "collection", "authorclaim", "vote"):
        assert client.get(f"/admin/community/{model}/").status_code == 200, model
    found = client.get("/admin/community/comment/?q=moderation").content.decode()
    assert "needs moderation" in found
    assert client.get("/admin/community/comment/?hidden__exact=1").status_code == 200
    assert client.get(f"/admin/community/comment/{top.pk}/change/").status_code == 200
    client.post("/admin/community/comment/", {"action": "hide", "_selected_action": [top.pk]})
    assert Comment.objects.get(pk=top.pk).hidden and counters(paper)[1] == 1
    client.post("/admin/community/comment/", {"action": "unhide", "_selected_action": [top.pk]})
    assert counters(paper)[1] == 2
    # Deleting in the admin removes the thread and keeps the counters exact.
    client.post(f"/admin/community/comment/{top.pk}/delete/", {"post": "yes"})
    assert not Comment.objects.exists() and counters(paper) == (1, 0)
    vote = Vote.objects.get()
    client.post(
        "/admin/community/vote/",
        {"action": "delete_selected", "_selected_action": [vote.pk], "post": "yes"},
    )
    assert counters(paper) == (0, 0)


def test_recount_repairs_counters(paper, ada):
    services.set_vote(ada, paper, True)
    services.add_comment(ada, paper, "one")
    Paper.objects.filter(pk=paper.pk).update(upvotes=7, num_comments=9)
    assert services.recount() == 1
    assert counters(paper) == (1, 1)
    assert services.recount([paper.pk]) == 0


# --- the live server -------------------------------------------------------------------

SRC = str(Path(paperfeed.__file__).resolve().parent.parent)
CHROMIUM = "/usr/bin/chromium"
VOTERS = 16
SETUP = """
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from paperfeed.papers.models import Paper

Paper.objects.create(arxiv_id="2412.77001", title="Voting Under Load", content_hash="-",
                     source="test")
for i in range({voters}):
    user = get_user_model().objects.create_user(f"voter{{i}}", f"voter{{i}}@example.invalid")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    print("SESSION", session.session_key)
"""
COUNT = """
from paperfeed.community.models import Vote
from paperfeed.papers.models import Paper
paper = Paper.objects.get(arxiv_id="2412.77001")
print("COUNT", paper.upvotes, Vote.objects.filter(paper=paper).count())
"""


@dataclass
class LiveSite:
    server: object
    sessions: list[str]
    env: dict

    @property
    def paper_url(self) -> str:
        return f"{self.server.url}/papers/2412.77001"

    def shell(self, code: str) -> list[str]:
        """`paperfeed manage shell -c code` against the server's own database."""
        done = subprocess.run(
            [sys.executable, "-m", "paperfeed", "manage", "shell", "-c", code],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()


@pytest.fixture
def live_site(request) -> LiveSite:
    """A running `paperfeed serve` with one paper and VOTERS members, logged in through
    sessions made in its database (the login page belongs to the accounts work)."""
    start_server = request.getfixturevalue("start")
    # The server and the shell run this checkout's code, whatever is installed.
    pythonpath = os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])
    env = {**request.getfixturevalue("live_env"), "PYTHONPATH": pythonpath}
    server = start_server("--no-fetch", "--no-worker", "--threads", "8", PYTHONPATH=pythonpath)
    site = LiveSite(server, [], env)
    lines = site.shell(SETUP.format(voters=VOTERS))
    site.sessions = [line.split()[1] for line in lines if line.startswith("SESSION ")]
    assert len(site.sessions) == VOTERS
    return site


@pytest.mark.live
def test_live_concurrent_votes_count_exactly(live_site):
    """Many members vote at once on a real server, each sending the same vote two or three
    times at the same moment; the count equals the number of distinct voters."""
    url = live_site.paper_url
    clients = []
    for key in live_site.sessions:
        client = httpx.Client(cookies={"sessionid": key}, timeout=60)
        assert client.get(url).status_code == 200  # sets the CSRF cookie
        clients.append(client)

    def fire(requests: list[tuple[httpx.Client, str]]) -> list[dict]:
        barrier = threading.Barrier(len(requests))

        def post(request):
            client, on = request
            barrier.wait()
            response = client.post(
                f"{url}/vote",
                data={"on": on},
                headers={"Accept": "application/json",
                         "X-CSRFToken": client.cookies["csrftoken"]},
            )  # fmt: skip
            assert response.status_code == 200, response.text
            return json.loads(response.text)

        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(post, requests))

    try:
        # Everyone votes; each vote is sent two or three times at once.
        answers = fire([(c, "1") for c in clients] * 2 + [(c, "1") for c in clients[::2]])
        assert all(answer["voted"] for answer in answers)
        assert live_site.shell(COUNT)[-1] == f"COUNT {VOTERS} {VOTERS}"
        page = httpx.get(url, timeout=10).text
        assert f'<span class="vote-count">{VOTERS}</span>' in page
        # Half take their vote back (twice at once) while the others vote again.
        stay, leave = clients[::2], clients[1::2]
        fire([(c, "0") for c in leave] * 2 + [(c, "1") for c in stay])
        assert live_site.shell(COUNT)[-1] == f"COUNT {len(stay)} {len(stay)}"
    finally:
        for client in clients:
            client.close()
    output = live_site.server.stop()
    assert " 500 " not in output and "Traceback" not in output, output


@pytest.mark.live
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium")
def test_browser_votes_and_comments_in_place(live_site):
    """site.js in a real browser: votes, comments, replies and edits change the page in
    place (no reload); an anonymous vote goes to the login page."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            context.add_cookies(
                [{"name": "sessionid", "value": live_site.sessions[0], "url": live_site.server.url}]
            )
            page = context.new_page()
            errors: list = []
            page.on("pageerror", lambda error: errors.append(error))
            page.goto(live_site.paper_url)
            page.evaluate("window.stillHere = true")  # gone if the page reloads

            vote = page.locator("form[data-vote] button")
            vote.click()
            expect(vote).to_have_attribute("aria-pressed", "true")
            expect(vote.locator(".vote-count")).to_have_text("1")
            vote.click()
            expect(vote).to_have_attribute("aria-pressed", "false")
            expect(vote.locator(".vote-count")).to_have_text("0")
            vote.click()
            expect(vote).to_have_attribute("aria-label", "Upvote (1)")

            page.fill("section.discussion > form textarea", "Hello **browser**")
            page.click("section.discussion > form button[type=submit]")
            first = page.locator("ol.comments > li.comment").first
            expect(first.locator(".comment-body strong")).to_have_text("browser")
            expect(page.locator("[data-comment-count]")).to_have_text("1")
            expect(page.locator("[data-no-comments]")).to_have_count(0)

            first.locator("details.reply > summary").click()
            expect(first.locator("details.reply textarea")).to_be_focused()
            first.locator("details.reply textarea").fill("a reply in place")
            first.locator("details.reply button[type=submit]").click()
            reply = first.locator("ol.replies > li.comment")
            expect(reply.locator(".comment-body")).to_have_text("a reply in place")
            expect(page.locator("[data-comment-count]")).to_have_text("2")

            reply.locator("details.comment-edit > summary").click()
            reply.locator("details.comment-edit textarea").fill("an *edited* reply")
            reply.locator("details.comment-edit button[type=submit]").click()
            expect(reply.locator(".comment-body em")).to_have_text("edited")
            assert page.evaluate("window.stillHere") is True
            assert errors == []

            page.reload()  # what the server stored is what the page showed
            expect(page.locator(".comment-body em")).to_have_text("edited")
            expect(page.locator("form[data-vote] .vote-count")).to_have_text("1")

            anonymous = browser.new_context().new_page()
            anonymous.goto(live_site.paper_url)
            anonymous.click("form[data-vote] button")
            anonymous.wait_for_url("**/accounts/login?next=*")
            assert "next=%2Fpapers%2F2412.77001" in anonymous.url
        finally:
            browser.close()
    assert live_site.shell(COUNT)[-1] == "COUNT 1 1"


@pytest.mark.django_db(transaction=True)
def test_deleting_a_member_keeps_the_counters_exact():
    paper = make_paper()
    leaving, staying = make_user("leaving"), make_user("staying")
    services.set_vote(leaving, paper, True)
    services.set_vote(staying, paper, True)
    services.add_comment(leaving, paper, "Off I go.")
    leaving.delete()
    paper.refresh_from_db()
    assert (paper.upvotes, paper.num_comments) == (1, 0)
