"""The JSON API through the test client: the Hugging Face shapes field by field, paging,
every error path, tokens and their scopes, writes through the community rules, limits,
CORS and the OpenAPI schema. (The real Hugging Face client and schemathesis run against
a live server in test_api_live.py.)"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paperfeed.api import tokens
from paperfeed.api.models import AccessToken
from paperfeed.community import services
from paperfeed.community.models import AuthorClaim, Collection, Comment, Vote
from paperfeed.papers.models import CodeLink, Listing, Paper, PaperAuthor
from paperfeed.papers.records import PaperRecord, validate
from paperfeed.papers.upsert import store_batch
from tests.upstream import fixture

pytestmark = pytest.mark.django_db

HF_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")
FROZEN = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)
DEC9 = "2024-12-09"


# --- data ---------------------------------------------------------------------------------


def make_paper(arxiv_id, title, *, authors, published, abstract="", categories=("cs.LG",)):
    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=abstract or f"We study {title.lower()} with made-up experiments.",
        authors=list(authors),
        categories=list(categories),
        published_at=published,
        source="test",
        place=arxiv_id,
    )
    store_batch([validate(record)])
    return Paper.objects.get(arxiv_id=arxiv_id)


def make_user(name, **extra):
    return get_user_model().objects.create_user(
        username=name, email=f"{name}@example.invalid", password="not-used-here", **extra
    )


def listing(paper, day, source, submitter=None, name=""):
    return Listing.objects.create(
        paper=paper,
        date=datetime.fromisoformat(day).date(),
        source=source,
        submitter=submitter,
        submitter_name=name or (submitter.shown_name if submitter else ""),
    )


class World:
    """Four papers on the lists of early December 2024, two members, a verified author
    who takes part in the discussion, code links with stars."""

    def __init__(self):
        self.ada = make_user("ada", display_name="Ada Quill")
        self.bo = make_user("bo")
        self.kernels = make_paper(
            "2412.04001",
            "Tidy Kernels for Sparse Attention",
            authors=["Ada Quill", "Rui Tamsin", "Oona Vey"],
            published=datetime(2024, 12, 6, 17, 30, tzinfo=UTC),
            abstract="Tidy kernels make sparse attention fast. Code: "
            "https://github.com/example-lab/tidy-kernels and project page "
            "https://example-lab.github.io/tidy-kernels/ .",
            categories=("cs.LG", "cs.CL"),
        )
        self.drafts = make_paper(
            "2412.04002",
            "Speculative Drafts Without a Drafter",
            authors=["Pim Achterberg"],
            published=datetime(2024, 12, 7, 9, 0, tzinfo=UTC),
            categories=("cs.CL",),
        )
        self.maps = make_paper(
            "2412.04003",
            "Saliency Maps That Agree With Each Other",
            authors=["Lena Osei", "Ada Quill"],
            published=datetime(2024, 12, 8, 12, 0, tzinfo=UTC),
            categories=("cs.CV",),
        )
        self.branes = make_paper(
            "hep-th/9901001",
            "Folded Branes in a Toy Universe",
            authors=["Ingrid Valcourt"],
            published=datetime(1999, 1, 4, 20, 11, tzinfo=UTC),
            categories=("hep-th",),
        )
        CodeLink.objects.filter(paper=self.kernels, kind="github").update(stars=321)
        self.kernels_on_9 = listing(self.kernels, DEC9, Listing.Source.SUBMISSION, self.ada)
        listing(self.drafts, DEC9, Listing.Source.ANNOUNCEMENT)
        listing(self.drafts, "2024-12-10", Listing.Source.SUBMISSION, self.bo)  # listed twice
        listing(self.maps, "2024-12-10", Listing.Source.HF, name="hfcurator")
        listing(self.branes, "2024-12-03", Listing.Source.ANNOUNCEMENT)
        for voter in (self.ada, self.bo):
            services.set_vote(voter, self.drafts, True)
        services.set_vote(self.bo, self.kernels, True)
        author = PaperAuthor.objects.get(paper=self.kernels, position=0).author
        claim = services.claim_authorship(self.ada, self.kernels, author.pk)
        services.decide_claim(claim, make_user("mod", is_staff=True), approve=True)
        services.add_comment(self.ada, self.kernels, "Happy to answer questions here.")
        services.add_comment(self.bo, self.maps, "Which **datasets**?")


@pytest.fixture(autouse=True)
def lexical_search(settings):
    """Search without the embedding model (the live tests and test_semantic cover it)."""
    settings.PAPERFEED_SEMANTIC = False


@pytest.fixture
def world():
    return World()


def token_for(user, scope="write", name="script"):
    return tokens.create_token(user, name, scope)[1]


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def get(client, path, data=None, **headers):
    return client.get(f"/api/{path}", data or {}, **headers)


def send(client, method, path, body=None, secret=None, **headers):
    if secret:
        headers.update(bearer(secret))
    payload = json.dumps(body) if body is not None else ""
    return client.generic(method, f"/api/{path}", payload, "application/json", **headers)


def assert_error(response, status, *words):
    """A JSON error body with a message that says something."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and len(message) > 10, message
    for word in words:
        assert word.lower() in message.lower(), message
    return message


def no_nulls(value, where="body"):
    """Unknown fields are left out, never sent as null (as Hugging Face does)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert item is not None, f"{where}.{key} is null"
            no_nulls(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            no_nulls(item, f"{where}[{n}]")


def links(response) -> dict[str, str]:
    return {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.get("Link", ""))
    }


def sha24(*parts):
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:24]


# --- Hugging Face shapes ------------------------------------------------------------------


def test_daily_papers_of_a_date_field_by_field(client, world):
    response = get(client, "daily_papers", {"date": DEC9})
    assert response.status_code == 200
    items = response.json()
    no_nulls(items)
    # Most recently listed first (the drafts' announcement was listed after the kernels).
    assert [item["paper"]["id"] for item in items] == ["2412.04002", "2412.04001"]
    announced, item = items
    assert set(item) == {
        "paper", "publishedAt", "title", "summary", "numComments", "submittedBy",
        "isAuthorParticipating", "githubRepo", "githubStars", "projectPage",
    }  # fmt: skip
    paper = item["paper"]
    assert set(paper) == {
        "id", "authors", "publishedAt", "submittedOnDailyAt", "submittedOnDailyBy", "title",
        "summary", "upvotes", "numComments", "discussionId", "githubRepo", "githubStars",
        "projectPage", "categories",
    }  # fmt: skip
    kernels = world.kernels
    assert paper["title"] == item["title"] == "Tidy Kernels for Sparse Attention"
    assert paper["summary"] == item["summary"] == kernels.abstract
    assert paper["publishedAt"] == "2024-12-06T17:30:00.000Z"
    assert HF_TIME.match(paper["submittedOnDailyAt"])
    assert item["publishedAt"] == paper["submittedOnDailyAt"]  # listed, not first version
    assert paper["upvotes"] == 1 and paper["numComments"] == item["numComments"] == 1
    assert paper["discussionId"] == sha24("2412.04001", "discussion")
    assert paper["githubRepo"] == "https://github.com/example-lab/tidy-kernels"
    assert paper["githubStars"] == 321
    assert paper["projectPage"] == "https://example-lab.github.io/tidy-kernels"
    for key in ("githubRepo", "githubStars", "projectPage"):
        assert item[key] == paper[key]  # where the huggingface_hub client reads them
    assert paper["categories"] == ["cs.LG", "cs.CL"]
    first, second, third = paper["authors"]
    assert first == {
        "_id": sha24("2412.04001", "author", "0"),
        "name": "Ada Quill",
        "hidden": False,
        "status": "claimed_verified",
        "user": {
            "_id": sha24("user", str(world.ada.pk)),
            "user": "ada",
            "name": "ada",
            "fullname": "Ada Quill",
            "type": "user",
        },
    }
    assert second == {"_id": sha24("2412.04001", "author", "1"), "name": "Rui Tamsin",
                      "hidden": False}  # fmt: skip
    assert third["name"] == "Oona Vey"
    assert paper["submittedOnDailyBy"] == item["submittedBy"] == first["user"]
    assert item["isAuthorParticipating"] is True
    assert "submittedBy" not in announced and "submittedOnDailyBy" not in announced["paper"]
    assert announced["isAuthorParticipating"] is False
    assert "githubRepo" not in announced["paper"] and "projectPage" not in announced["paper"]
    # Ids are stable: the same on every request.
    assert get(client, "daily_papers", {"date": DEC9}).json() == items


def test_a_submission_on_its_own_day_carries_its_moment(client, world):
    moment = datetime(2024, 12, 9, 8, 15, 30, 250000, tzinfo=UTC)
    Listing.objects.filter(pk=world.kernels_on_9.pk).update(created_at=moment)
    paper = get(client, "daily_papers", {"date": DEC9}).json()[1]["paper"]
    assert paper["submittedOnDailyAt"] == "2024-12-09T08:15:30.250Z"


def test_weeks_and_months_list_each_paper_once(client, world):
    week = get(client, "daily_papers", {"week": "2024-W50"}).json()  # 9-15 December
    # Most recently listed first; the drafts' first listing that week is the 9th's.
    assert [i["paper"]["id"] for i in week] == ["2412.04003", "2412.04002", "2412.04001"]
    drafts = week[1]
    assert "submittedBy" not in drafts  # its first listing that week was an announcement
    month = get(client, "daily_papers", {"month": "2024-12"}).json()
    assert [i["paper"]["id"] for i in month] == [
        "2412.04003", "2412.04002", "2412.04001", "hep-th/9901001",
    ]  # fmt: skip
    everything = get(client, "daily_papers").json()
    assert [i["paper"]["id"] for i in everything] == [i["paper"]["id"] for i in month]
    assert get(client, "daily_papers", {"week": "2024-W49"}).json()[0]["paper"]["id"] == (
        "hep-th/9901001"
    )
    assert get(client, "daily_papers", {"date": "2024-12-01"}).json() == []


def test_trending_sort_ranks_a_period_by_upvotes(client, world):
    week = get(client, "daily_papers", {"week": "2024-W50", "sort": "trending"}).json()
    assert [(i["paper"]["id"], i["paper"]["upvotes"]) for i in week] == [
        ("2412.04002", 2), ("2412.04001", 1), ("2412.04003", 0),
    ]  # fmt: skip


def test_trending_sort_without_a_period_uses_the_trending_score(client, world):
    today = timezone.localdate().isoformat()
    fresh = make_paper(
        "2412.04010", "A Paper Everyone Liked Today", authors=["Nia Ode"],
        published=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    listing(fresh, today, Listing.Source.SUBMISSION, world.bo)
    listing(world.branes, today, Listing.Source.ANNOUNCEMENT)
    services.set_vote(world.ada, fresh, True)
    items = get(client, "daily_papers", {"sort": "trending"}).json()
    assert [i["paper"]["id"] for i in items] == ["2412.04010", "hep-th/9901001"]
    assert items[0]["submittedBy"]["user"] == "bo"
    mine = get(client, "daily_papers", {"sort": "trending", "submitter": "bo"}).json()
    assert [i["paper"]["id"] for i in mine] == ["2412.04010"]


def test_submitter_filter(client, world):
    def ids(name, **extra):
        items = get(client, "daily_papers", {"submitter": name, **extra}).json()
        return [i["paper"]["id"] for i in items]

    assert ids("ada") == ["2412.04001"]
    assert ids("bo") == ["2412.04002"]
    assert ids("hfcurator") == ["2412.04003"]  # known by name only (imported)
    assert ids("nobody") == []
    maps = get(client, "daily_papers", {"submitter": "hfcurator"}).json()[0]
    assert maps["submittedBy"] == {
        "_id": sha24("name", "hfcurator"),
        "user": "hfcurator",
        "name": "hfcurator",
        "fullname": "hfcurator",
        "type": "user",
    }


def test_daily_papers_pages_follow_the_link_header(client, world):
    seen = []
    response = get(client, "daily_papers", {"month": "2024-12", "limit": 3})
    assert "prev" not in links(response)
    while True:
        seen += [item["paper"]["id"] for item in response.json()]
        following = links(response).get("next")
        if following is None:
            break
        assert following.startswith("http://testserver/api/daily_papers?")
        response = client.get(following)
        assert "prev" in links(response)
    assert seen == ["2412.04003", "2412.04002", "2412.04001", "hep-th/9901001"]
    last = get(client, "daily_papers", {"month": "2024-12", "limit": 3, "p": 1})
    assert len(last.json()) == 1 and "next" not in links(last)
    assert get(client, "daily_papers", {"month": "2024-12", "p": 7}).json() == []


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"limit": 0}, ["limit"]),
        ({"limit": 101}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"p": -1}, ["p:"]),
        ({"date": "yesterday"}, ["date"]),
        ({"date": "2024-13-01"}, ["date", "calendar"]),
        ({"week": "2024-W60"}, ["week"]),
        ({"month": "2024-00"}, ["month"]),
        ({"date": DEC9, "week": "2024-W50"}, ["date and week"]),
        ({"sort": "votes"}, ["sort"]),
        ({"submitter": "x" * 151}, ["submitter"]),
    ],
)
def test_daily_papers_refuses_bad_parameters_in_json(client, params, words):
    response = get(client, "daily_papers", params)
    assert_error(response, 400, *words)
    if "detail" in response.json():
        assert all(set(p) == {"field", "message"} for p in response.json()["detail"])


def test_paper_info(client, world):
    paper = get(client, "papers/2412.04001").json()
    no_nulls(paper)
    assert paper["id"] == "2412.04001" and paper["title"] == world.kernels.title
    assert paper["numComments"] == 1 and paper["upvotes"] == 1
    assert paper["submittedOnDailyBy"]["user"] == "ada"
    daily = get(client, "daily_papers", {"date": DEC9}).json()[1]["paper"]
    assert paper == daily
    # Versions and arXiv URLs find it; old-style ids keep their slash.
    assert get(client, "papers/2412.04001v3").json()["id"] == "2412.04001"
    old = get(client, "papers/hep-th/9901001").json()
    assert old["id"] == "hep-th/9901001" and old["publishedAt"] == "1999-01-04T20:11:00.000Z"
    never_listed = make_paper("2412.04020", "Unlisted", authors=["Z Y"],
                              published=datetime(2024, 12, 1, tzinfo=UTC))  # fmt: skip
    unlisted = get(client, f"papers/{never_listed.arxiv_id}").json()
    assert "submittedOnDailyAt" not in unlisted and "submittedOnDailyBy" not in unlisted


def test_paper_info_errors(client, world):
    assert_error(get(client, "papers/2412.09999"), 404, "2412.09999")
    assert_error(get(client, "papers/not-an-id"), 404, "not an arxiv id")


def test_search_in_the_hugging_face_shape(client, world):
    items = get(client, "papers/search", {"q": "sparse attention kernels"}).json()
    assert items[0]["paper"]["id"] == "2412.04001"
    assert items[0]["title"] == world.kernels.title and items[0]["numComments"] == 1
    no_nulls(items)
    by_id = get(client, "papers/search", {"q": "arXiv:2412.04003v1"}).json()
    assert [i["paper"]["id"] for i in by_id] == ["2412.04003"]
    assert get(client, "papers/search", {"q": ""}).json() == []
    assert (
        len(get(client, "papers/search", {"q": "paper OR papers OR maps", "limit": 1}).json()) <= 1
    )
    assert_error(get(client, "papers/search", {"q": "x", "limit": 121}), 400, "limit")


def test_all_papers_by_cursor(client, world):
    seen, response = [], get(client, "papers", {"limit": 2})
    while True:
        page = response.json()
        assert len(page) <= 2
        seen += [paper["id"] for paper in page]
        if "next" not in links(response):
            break
        response = client.get(links(response)["next"])
    assert seen == ["2412.04003", "2412.04002", "2412.04001", "hep-th/9901001"]
    assert_error(get(client, "papers", {"cursor": "not-ours"}), 400, "cursor")
    assert_error(get(client, "papers", {"cursor": "WzEsMl0"}), 400, "cursor")  # [1,2]


# --- tokens -------------------------------------------------------------------------------


def test_tokens_are_stored_only_as_digests(world):
    token, secret = tokens.create_token(world.ada, "laptop", "write")
    assert secret.startswith("pf_") and len(secret) == 46
    row = AccessToken.objects.values().get(pk=token.pk)
    assert secret not in json.dumps(row, default=str)
    assert row["digest"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == secret[:8]
    assert tokens.authenticate(secret).user == world.ada
    assert tokens.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    tokens.revoke_token(world.ada, token.pk)
    assert tokens.authenticate(secret) is None


def test_token_rules(world):
    with pytest.raises(services.Refused, match="name"):
        tokens.create_token(world.ada, "  ", "read")
    with pytest.raises(services.Refused, match="scope"):
        tokens.create_token(world.ada, "x", "admin")
    with pytest.raises(services.Refused, match="No such token"):
        tokens.revoke_token(world.bo, tokens.create_token(world.ada, "x", "read")[0].pk)
    world.ada.is_active = False
    world.ada.save()
    assert tokens.authenticate(token_for(world.ada)) is None


def test_last_used_is_written_at_most_once_a_minute(world, monkeypatch):
    secret = token_for(world.ada)
    moments = iter([FROZEN, FROZEN + timedelta(seconds=30), FROZEN + timedelta(seconds=61)])
    monkeypatch.setattr(tokens, "now", lambda: next(moments))
    seen = [tokens.authenticate(secret).last_used_at for _ in range(3)]
    assert seen == [FROZEN, FROZEN, FROZEN + timedelta(seconds=61)]


def test_writes_need_a_write_token(client, world):
    path = "papers/2412.04003/upvote"
    message = assert_error(send(client, "POST", path), 401, "access token")
    assert "Bearer" in message
    assert send(client, "POST", path)["WWW-Authenticate"].startswith("Bearer")
    assert_error(send(client, "POST", path, secret=token_for(world.ada, "read")), 403, "read")
    revoked, secret = tokens.create_token(world.ada, "old", "write")
    tokens.revoke_token(world.ada, revoked.pk)
    assert_error(send(client, "POST", path, secret=secret), 401, "revoked")
    assert_error(send(client, "POST", path, secret="pf_" + "x" * 43), 401, "unknown")
    assert_error(send(client, "POST", path, secret="hf_abcdefabcdef"), 401, "pf_")
    assert_error(send(client, "POST", path, HTTP_AUTHORIZATION="Basic YWRhOnB3"), 401)
    assert not Vote.objects.filter(paper=world.maps).exists()
    write = token_for(world.ada, "write")
    assert send(client, "POST", path, secret=write).json() == {"upvoted": True, "upvotes": 1}
    assert Vote.objects.filter(paper=world.maps, user=world.ada).exists()


def test_reads_need_no_token_and_ignore_foreign_ones(client, world):
    """The Hugging Face client sends a saved `hf_` token by itself: reads still work."""
    assert get(client, "papers/2412.04001", HTTP_AUTHORIZATION="Bearer hf_saved").status_code == 200
    assert (
        get(client, "papers/2412.04001", **bearer(token_for(world.ada, "read"))).status_code == 200
    )


def test_whoami(client, world):
    secret = token_for(world.ada, "read", name="reader")
    me = get(client, "whoami-v2", **bearer(secret)).json()
    assert me["name"] == "ada" and me["fullname"] == "Ada Quill" and me["type"] == "user"
    assert me["auth"]["type"] == "access_token"
    assert me["auth"]["accessToken"]["displayName"] == "reader"
    assert me["auth"]["accessToken"]["role"] == "read"
    assert HF_TIME.match(me["auth"]["accessToken"]["createdAt"])
    assert_error(get(client, "whoami-v2"), 401)
    client.force_login(world.bo)
    assert get(client, "whoami-v2").json()["auth"] == {"type": "session"}


def test_session_writes_need_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.bo)
    path = "papers/2412.04003/upvote"
    assert_error(send(browser, "POST", path), 403, "csrf")
    assert not Vote.objects.filter(user=world.bo, paper=world.maps).exists()
    browser.get("/settings")  # the page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    answer = send(browser, "POST", path, HTTP_X_CSRFTOKEN=csrf)
    assert answer.json() == {"upvoted": True, "upvotes": 1}
    # A token needs no CSRF token, whatever cookies come with it.
    assert send(browser, "DELETE", path, secret=token_for(world.bo)).json()["upvoted"] is False


# --- writes -------------------------------------------------------------------------------


def test_votes_are_idempotent(client, world):
    secret = token_for(world.ada)
    path = "papers/2412.04003/upvote"
    for _ in range(2):
        assert send(client, "POST", path, secret=secret).json() == {"upvoted": True, "upvotes": 1}
    for _ in range(2):
        assert send(client, "DELETE", path, secret=secret).json() == {"upvoted": False,
                                                                     "upvotes": 0}  # fmt: skip
    assert_error(send(client, "POST", "papers/2412.09999/upvote", secret=secret), 404)


def test_comments_through_the_api(client, world):
    secret, other = token_for(world.bo), token_for(world.ada)
    path = "papers/2412.04002/comments"
    made = send(client, "POST", path, {"body": "Does it work *without* a drafter?"}, secret)
    assert made.status_code == 201
    comment = made.json()
    assert comment["user"]["user"] == "bo" and "parent" not in comment and "editedAt" not in comment
    assert comment["html"].strip() == "<p>Does it work <em>without</em> a drafter?</p>"
    assert HF_TIME.match(comment["createdAt"]) and comment["replies"] == []
    reply = send(client, "POST", path, {"body": "Yes.", "parent": comment["id"]}, other).json()
    deeper = send(client, "POST", path, {"body": "Sure?", "parent": reply["id"]}, secret).json()
    assert deeper["parent"] == comment["id"]  # one level of replies, as on the site
    # The site's rules and messages.
    assert_error(send(client, "POST", path, {"body": "   "}, secret), 400, "cannot be empty")
    long = send(client, "POST", path, {"body": "x" * 10_001}, secret)
    assert_error(long, 400, "10,000 characters")
    assert_error(send(client, "POST", path, {"body": "hi", "parent": 10**9}, secret), 404, "gone")
    assert_error(send(client, "POST", path, {"body": "hi", "parent": 0}, secret), 400, "parent")
    assert_error(send(client, "POST", path, {"text": "hi"}, secret), 400, "body")
    thread = get(client, path).json()
    assert [c["id"] for c in thread] == [comment["id"]]
    assert [r["body"] for r in thread[0]["replies"]] == ["Yes.", "Sure?"]
    # Edit and delete one's own only.
    edited = send(client, "PATCH", f"comments/{comment['id']}", {"body": "Edited."}, secret)
    assert edited.json()["body"] == "Edited." and HF_TIME.match(edited.json()["editedAt"])
    assert_error(send(client, "PATCH", f"comments/{comment['id']}", {"body": "x"}, other), 404)
    assert_error(send(client, "DELETE", f"comments/{comment['id']}", secret=other), 404)
    assert send(client, "DELETE", f"comments/{comment['id']}", secret=secret).status_code == 204
    placeholder = get(client, path).json()[0]
    assert placeholder["deleted"] is True and placeholder["body"] == ""
    assert "user" not in placeholder and len(placeholder["replies"]) == 2
    assert Paper.objects.get(pk=world.drafts.pk).num_comments == 2
    assert_error(send(client, "PATCH", f"comments/{2**63}", {"body": "x"}, secret), 400)


def test_hidden_comments_stay_hidden(client, world):
    hidden = Comment.objects.get(paper=world.maps)
    services.set_hidden(get_user_model().objects.get(username="mod"), hidden, True)
    assert get(client, "papers/2412.04003/comments").json() == []


def test_collections_through_the_api(client, world):
    ada, bo = token_for(world.ada), token_for(world.bo)
    wanted = {"name": "  Reading   group ", "description": "Fridays", "isPublic": False}
    made = send(client, "POST", "collections", wanted, ada)
    assert made.status_code == 201
    body = made.json()
    assert body["name"] == "Reading group" and body["isPublic"] is False
    assert body["owner"]["user"] == "ada" and body["papers"] == [] and body["numPapers"] == 0
    assert body["url"].startswith("http://testserver/collections/")
    pk = body["id"]
    again = send(client, "POST", "collections", {"name": "Reading group"}, ada)
    assert_error(again, 400, "already have a collection")
    assert_error(send(client, "POST", "collections", {"name": " "}, ada), 400, "name")
    put = f"collections/{pk}/papers/2412.04001"
    assert send(client, "PUT", put, secret=ada).json() == {
        "collection": pk, "paper": "2412.04001", "contains": True, "changed": True,
    }  # fmt: skip
    assert send(client, "PUT", put, secret=ada).json()["changed"] is False
    assert (
        send(client, "PUT", f"collections/{pk}/papers/hep-th/9901001", secret=ada).status_code
        == 200
    )
    # Private: the owner reads it, nobody else (not even with a token) learns it exists.
    mine = get(client, f"collections/{pk}", **bearer(ada)).json()
    assert [p["id"] for p in mine["papers"]] == ["hep-th/9901001", "2412.04001"]
    assert_error(get(client, f"collections/{pk}"), 404, "no such collection")
    assert_error(get(client, f"collections/{pk}", **bearer(bo)), 404)
    assert_error(send(client, "PUT", put, secret=bo), 404)
    assert get(client, "users/ada/collections").json() == []
    assert [c["id"] for c in get(client, "users/ada/collections", **bearer(ada)).json()] == [pk]
    changed = send(client, "PATCH", f"collections/{pk}", {"isPublic": True}, ada).json()
    assert changed["isPublic"] is True and changed["name"] == "Reading group"
    assert get(client, f"collections/{pk}").json()["numPapers"] == 2
    assert [c["numPapers"] for c in get(client, "users/ada/collections").json()] == [2]
    assert send(client, "DELETE", put, secret=ada).json()["contains"] is False
    assert send(client, "DELETE", f"collections/{pk}", secret=bo).status_code == 404
    assert send(client, "DELETE", f"collections/{pk}", secret=ada).status_code == 204
    assert not Collection.objects.filter(pk=pk).exists()
    assert_error(get(client, "users/nobody/collections"), 404)
    assert_error(get(client, f"collections/{2**63}"), 400)


def test_index_a_paper(client, world, upstream_settings):
    secret = token_for(world.ada)
    stored = send(client, "POST", "papers/index", {"arxivId": "2412.04001"}, secret)
    assert stored.status_code == 200 and stored.json()["created"] is False
    assert upstream_settings.requests == []  # a stored paper needs no network
    upstream_settings.add("/api/query", fixture("arxiv_api_three.atom"),
                          content_type="application/atom+xml")  # fmt: skip
    fetched = send(
        client, "POST", "papers/index", {"arxivId": "https://arxiv.org/abs/2409.01234v2"}, secret
    )
    assert fetched.status_code == 201, fetched.content
    body = fetched.json()
    assert body["created"] is True and body["paper"]["id"] == "2409.01234"
    assert body["paper"]["githubRepo"] == "https://github.com/example-lab/sparse-mixer"
    assert "submittedOnDailyAt" not in body["paper"]  # indexed, not listed
    assert_error(send(client, "POST", "papers/index", {"arxivId": "banana"}, secret), 400,
                 "not an arxiv id")  # fmt: skip
    assert_error(send(client, "POST", "papers/index", {}, secret), 400, "arxivId")
    assert_error(send(client, "POST", "papers/index", {"arxivId": "2412.04001"},
                      token_for(world.bo, "read")), 403)  # fmt: skip


def test_index_an_id_arxiv_does_not_know(client, world, upstream_settings):
    upstream_settings.add("/api/query", fixture("arxiv_api_empty.atom"),
                          content_type="application/atom+xml")  # fmt: skip
    response = send(client, "POST", "papers/index", {"arxivId": "2412.99999"}, token_for(world.ada))
    assert_error(response, 400, "arxiv has no paper 2412.99999")


@pytest.fixture
def frozen(monkeypatch):
    """Today is 10 December 2024."""
    monkeypatch.setattr(services, "now", lambda: FROZEN)
    return FROZEN


def test_submit_a_paper(client, world, frozen):
    secret = token_for(world.ada)
    made = send(client, "POST", "papers/submit", {"arxivId": "2412.04001"}, secret)
    assert made.status_code == 201, made.content
    item = made.json()
    assert item["paper"]["id"] == "2412.04001"
    assert (
        item["submittedBy"]["user"] == "ada"
        and item["paper"]["submittedOnDailyBy"]["user"] == "ada"
    )
    assert Listing.objects.filter(
        paper=world.kernels, date=FROZEN.date(), submitter=world.ada
    ).exists()
    again = send(client, "POST", "papers/submit", {"arxivId": "2412.04001"}, secret)
    assert_error(again, 400, "already on today's list")
    assert again.json()["link"] == "/papers/2412.04001"
    old = send(client, "POST", "papers/submit", {"arxivId": "hep-th/9901001"}, secret)
    assert_error(old, 400, "only papers from the last 14 days")
    assert_error(
        send(client, "POST", "papers/submit", {"arxivId": "?"}, secret), 400, "not an arxiv"
    )


# --- our own reads ------------------------------------------------------------------------


def test_similar_papers(client, world):
    similar = get(client, "papers/2412.04001/similar", {"limit": 2}).json()
    assert len(similar) <= 2 and "2412.04001" not in [p["id"] for p in similar]
    assert_error(get(client, "papers/2412.09999/similar"), 404)
    assert_error(get(client, "papers/2412.04001/similar", {"limit": 51}), 400, "limit")


def test_trending_with_filters(client, world):
    today = timezone.localdate().isoformat()
    for paper in (world.kernels, world.drafts, world.maps):
        listing(paper, today, Listing.Source.ANNOUNCEMENT)
    ranked = get(client, "trending").json()
    assert [p["id"] for p in ranked][:2] == ["2412.04002", "2412.04001"]
    assert ranked[0]["score"] > ranked[1]["score"] > 0
    in_cv = get(client, "trending", {"category": "cs.CV"}).json()
    assert [p["id"] for p in in_cv] == ["2412.04003"]
    first = get(client, "trending", {"limit": 1, "window": "month"})
    assert len(first.json()) == 1 and "next" in links(first)
    assert_error(get(client, "trending", {"window": "year"}), 400, "window")
    assert_error(get(client, "trending", {"category": "<b>"}), 400, "category")


def test_search_with_the_whole_language(client, world):
    def ids(**params):
        return [p["id"] for p in get(client, "search", params).json()["papers"]]

    assert ids(q="ti:saliency") == ["2412.04003"]
    assert ids(q='au:"Ada Quill"', sort="date") == ["2412.04003", "2412.04001"]
    assert ids(q='au:"Ada Quill" -saliency') == ["2412.04001"]
    assert ids(q="ada quill", category="cs.CV") == ["2412.04003"]
    assert ids(q='au:"ada quill"', **{"from": "2024-12-07"}) == ["2412.04003"]
    assert ids(q='au:"ada quill"', **{"to": "2024-12-07"}) == ["2412.04001"]
    body = get(client, "search", {"q": "hep-th/9901001"}).json()
    assert body["match"]["id"] == "hep-th/9901001" and body["papers"] == []
    result = get(client, "search", {"q": "kernels", "mode": "semantic"}).json()
    assert result["mode"] == "lexical"  # no model here: what actually ran
    assert result["total"] == 1 and result["totalCapped"] is False
    assert_error(get(client, "search", {"q": ""}), 400, "q")
    assert_error(get(client, "search", {"q": "x", "from": "2024-02-30"}), 400, "from")


def test_author_pages(client, world):
    body = get(client, "authors/ada-quill").json()
    assert body["name"] == "Ada Quill" and body["numPapers"] == 2
    assert body["url"] == "http://testserver/authors/ada-quill"
    assert [p["id"] for p in body["papers"]] == ["2412.04003", "2412.04001"]
    assert {c["name"] for c in body["coauthors"]} == {"Rui Tamsin", "Oona Vey", "Lena Osei"}
    assert [u["user"] for u in body["verifiedUsers"]] == ["ada"]
    paged = get(client, "authors/ada-quill", {"limit": 1, "p": 1})
    assert [p["id"] for p in paged.json()["papers"]] == ["2412.04001"]
    assert set(links(paged)) == {"prev"}
    assert_error(get(client, "authors/nobody-at-all"), 404)


def test_instance_stats(client, world):
    stats = get(client, "stats").json()
    assert stats["papers"] == 4 and stats["listings"] == 5 and stats["list_days"] == 3
    assert stats["primary_categories"]["cs.LG"] == 1
    assert stats["code_links_by_kind"] == {"github": 1, "project": 1}


def test_lists_take_a_bounded_number_of_queries(client, world):
    """A page of 42 papers takes no more queries than a page of 2, but one when it holds a
    verified author (the rate limit's counter left out)."""
    for n in range(40):
        paper = make_paper(f"2412.05{n:03d}", f"Filler {n}", authors=["A B", "C D"],
                           published=datetime(2024, 12, 9, tzinfo=UTC))  # fmt: skip
        listing(paper, DEC9, Listing.Source.ANNOUNCEMENT)

    def queries(path, **params):
        with CaptureQueriesContext(connection) as done:
            assert get(client, path, params).status_code == 200
        return [q["sql"] for q in done.captured_queries
                if "paperfeed_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]]  # fmt: skip

    for path, params in [("daily_papers", {"date": DEC9}), ("papers", {}), ("trending", {})]:
        few, many = queries(path, **params, limit=2), queries(path, **params, limit=100)
        assert len(few) <= len(many) <= len(few) + 1 <= 8, (path, few, many)


# --- limits, errors, CORS, schema ---------------------------------------------------------


def test_requests_without_a_token_are_limited_per_address(client, world, settings):
    settings.PAPERFEED_API_RATE_ANON = "3/m"
    for _ in range(3):
        assert get(client, "stats").status_code == 200
    limited = get(client, "stats")
    assert_error(limited, 429, "3 a minute")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["Access-Control-Allow-Origin"] == "*"
    # Another address has its own budget; so has a token.
    assert get(client, "stats", REMOTE_ADDR="10.0.0.2").status_code == 200
    assert get(client, "stats", **bearer(token_for(world.ada, "read"))).status_code == 200


def test_requests_with_a_token_are_limited_per_token(client, world, settings):
    settings.PAPERFEED_API_RATE_TOKEN = "2/m"
    secret = token_for(world.ada, "read")
    other = token_for(world.ada, "read", name="other")
    assert get(client, "stats", **bearer(secret)).status_code == 200
    assert get(client, "stats", **bearer(secret), REMOTE_ADDR="10.9.9.9").status_code == 200
    assert_error(get(client, "stats", **bearer(secret)), 429, "one access token")
    assert get(client, "stats", **bearer(other)).status_code == 200


def test_votes_share_the_sites_budget(client, world, settings):
    settings.PAPERFEED_RATE_VOTES = "2/m"
    client.force_login(world.bo)
    assert client.post("/papers/2412.04003/vote", {"on": "1"}).status_code == 302
    secret = token_for(world.bo)
    assert send(client, "POST", "papers/2412.04003/upvote", secret=secret).status_code == 200
    limited = send(client, "POST", "papers/2412.04003/upvote", secret=secret)
    assert_error(limited, 429, "too many votes")
    assert int(limited["Retry-After"]) >= 1


def test_comments_are_limited_per_member(client, world, settings):
    settings.PAPERFEED_RATE_COMMENTS = "1/m"
    secret = token_for(world.bo)
    assert (
        send(client, "POST", "papers/2412.04001/comments", {"body": "one"}, secret).status_code
        == 201
    )
    assert_error(send(client, "POST", "papers/2412.04001/comments", {"body": "two"}, secret), 429)


def test_request_bodies_are_capped(client, world, settings):
    settings.PAPERFEED_API_MAX_BODY = 1000
    secret = token_for(world.bo)
    response = send(client, "POST", "papers/2412.04001/comments", {"body": "x" * 2000}, secret)
    assert_error(response, 413, "1,000 bytes")
    assert not Comment.objects.filter(user=world.bo, paper=world.kernels).exists()


def test_malformed_json_is_a_clear_400(client, world):
    response = client.generic(
        "POST", "/api/collections", "{not json", "application/json", **bearer(token_for(world.bo))
    )
    assert_error(response, 400)


def test_every_client_error_is_json(client, world):
    assert_error(get(client, "no/such/endpoint"), 404, "/api/docs")
    wrong = send(client, "PUT", "daily_papers")
    assert_error(wrong, 405, "PUT")
    assert "GET" in wrong["Allow"]
    assert_error(send(client, "GET", "papers/2412.04001/upvote"), 405)


def test_reads_are_open_to_other_sites(client, world):
    assert get(client, "daily_papers")["Access-Control-Allow-Origin"] == "*"
    assert "Link" in get(client, "daily_papers")["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/api/papers/2412.04001",
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    write = send(client, "POST", "papers/2412.04001/upvote", secret=token_for(world.bo))
    assert write.status_code == 200 and not write.has_header("Access-Control-Allow-Origin")
    # The rest of the site is not affected.
    assert not client.get("/papers/").has_header("Access-Control-Allow-Origin")


def test_openapi_schema_and_docs_without_a_cdn(client):
    schema = get(client, "openapi.json").json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/daily_papers", "/api/papers/{arxiv_id}", "/api/papers/search",
                 "/api/papers", "/api/papers/index", "/api/papers/submit"):  # fmt: skip
        assert path in schema["paths"], path
    daily = schema["paths"]["/api/daily_papers"]["get"]
    assert {p["name"] for p in daily["parameters"]} == {
        "date", "week", "month", "submitter", "sort", "p", "limit",
    }  # fmt: skip
    assert "HfPaper" in schema["components"]["schemas"]
    assert "_id" in schema["components"]["schemas"]["HfAuthor"]["properties"]
    write = schema["paths"]["/api/papers/index"]["post"]
    assert {"TokenAuth": []} in write["security"]
    docs = get(client, "docs")
    assert docs.status_code == 200
    page = docs.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "/static/ninja/swagger-ui-bundle.js" in sources


# --- the settings page --------------------------------------------------------------------


def test_tokens_are_made_and_revoked_in_settings(client, world):
    client.force_login(world.ada)
    page = client.get("/settings").content.decode()
    assert "API tokens" in page and "You have no API tokens." in page
    made = client.post("/settings/tokens", {"name": "laptop", "scope": "write"})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"] or "no-cache" in made["Cache-Control"]
    secret = re.search(r'value="(pf_[\w-]+)"', made.content.decode())[1]
    token = AccessToken.objects.get(user=world.ada)
    assert token.scope == "write" and token.digest == hashlib.sha256(secret.encode()).hexdigest()
    listed = client.get("/settings").content.decode()
    assert "laptop" in listed and token.prefix in listed and secret not in listed
    assert send(client, "POST", "papers/2412.04003/upvote", secret=secret).status_code == 200
    # Someone else cannot revoke it; its owner can, and it stops working at once.
    intruder = Client()
    intruder.force_login(world.bo)
    intruder.post(f"/settings/tokens/{token.pk}/revoke")
    token.refresh_from_db()
    assert token.revoked_at is None
    back = client.post(f"/settings/tokens/{token.pk}/revoke")
    assert back.status_code == 302 and back["Location"] == "/settings#api-tokens"
    assert_error(send(client, "POST", "papers/2412.04003/upvote", secret=secret), 401)
    assert "revoked" in client.get("/settings").content.decode()
    refused = client.post("/settings/tokens", {"name": "", "scope": "read"}, follow=True)
    assert "Give the token a name" in refused.content.decode()
    assert client.get("/settings/tokens").status_code == 405


def test_token_pages_need_a_login(client):
    response = client.post("/settings/tokens", {"name": "x", "scope": "read"})
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    assert not AccessToken.objects.exists()


def test_claims_of_an_approved_author_survive_other_claims(client, world):
    """Only approved claims mark an author as verified."""
    author = PaperAuthor.objects.get(paper=world.maps, position=0).author
    services.claim_authorship(world.bo, world.maps, author.pk)  # pending
    paper = get(client, "papers/2412.04003").json()
    assert all("user" not in a for a in paper["authors"])
    assert AuthorClaim.objects.filter(status="pending").count() == 1


def test_subscriptions_through_the_api(client, smtp_settings):
    """Anyone asks (double opt-in by mail, same answer for every address); a member
    reads, changes and ends theirs with a token; a read token cannot change it."""
    from paperfeed.digests.models import Subscription

    ask = {"email": "reader@example.org", "frequency": "weekly", "weekday": 4}
    asked = send(client, "POST", "subscriptions", ask)
    assert asked.status_code == 202 and "confirmation" in asked.json()["status"]
    mail = smtp_settings.last_to("reader@example.org")
    assert any("/digests/" in link for link in smtp_settings.links(mail))
    pending = Subscription.objects.get(email="reader@example.org")
    assert not pending.is_active and (pending.frequency, pending.weekday) == ("weekly", 4)
    # Asking again changes a subscription nobody has confirmed, never an active one.
    assert send(client, "POST", "subscriptions", {**ask, "hour": 6}).status_code == 202
    pending.refresh_from_db()
    assert pending.hour == 6
    pending.confirmed_at = timezone.now()
    pending.save()
    assert send(client, "POST", "subscriptions", {**ask, "hour": 20}).status_code == 202
    pending.refresh_from_db()
    assert pending.hour == 6 and pending.is_active
    assert_error(send(client, "POST", "subscriptions", {"email": "not an address"}), 400)
    bad_zone = {"email": "x@example.org", "timeZone": "Mars/Olympus"}
    assert_error(send(client, "POST", "subscriptions", bad_zone), 400, "time zone")

    member = make_user("ruth")
    write, read = token_for(member), token_for(member, "read")
    assert_error(send(client, "GET", "subscription", secret=read), 404)
    assert_error(send(client, "PUT", "subscription", {"hour": 9}, secret=read), 403)
    change = {"hour": 9, "timeZone": "Europe/Berlin", "categories": ["cs.LG"]}
    turned_on = send(client, "PUT", "subscription", change, secret=write)
    assert turned_on.status_code == 200
    assert turned_on.json() | {"email": None} == {
        "email": None, "active": True, "frequency": "daily", "weekday": 0, "hour": 9,
        "timeZone": "Europe/Berlin", "trendingCount": 5, "categories": ["cs.LG"],
    }  # fmt: skip
    assert send(client, "GET", "subscription", secret=read).json()["hour"] == 9
    assert_error(send(client, "PUT", "subscription", {"categories": ["<b>"]}, secret=write), 400)
    assert_error(send(client, "PUT", "subscription", [None, None], secret=write), 400)
    assert send(client, "DELETE", "subscription", secret=write).status_code == 204
    assert send(client, "GET", "subscription", secret=read).json()["active"] is False
    assert_error(send(client, "DELETE", "subscription"), 401)
