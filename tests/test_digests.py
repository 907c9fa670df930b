"""E-mail digests: subscribing (double opt-in), what a digest holds and why, the mail and
its headers, one-click unsubscribe, members' saved searches and followed authors, the
moderators' preview, and the delivery ledger (once per period, each paper once, claims,
leases, retries). Mail goes to a real SMTP server on loopback; only time is mocked."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client
from django.utils import timezone

from paperfeed.digests import delivery, services
from paperfeed.digests.content import Item, PeriodContent, Section, Wants
from paperfeed.digests.mail import DigestMail
from paperfeed.digests.models import Delivery, SavedSearch, SentPaper, Subscription
from paperfeed.digests.periods import current_period, is_due
from paperfeed.digests.smtp import DigestSender
from paperfeed.digests.tokens import confirm_token, link_token
from paperfeed.papers.models import Author, Paper
from paperfeed.papers.records import ListingInfo, PaperRecord, validate
from paperfeed.papers.upsert import store_batch
from tests.smtp import Mailbox, _free_port

pytestmark = pytest.mark.django_db

BASE_URL = "https://papers.example.org"
WEDNESDAY = datetime(2024, 12, 4, 9, 0, tzinfo=UTC)
TODAY, YESTERDAY = date(2024, 12, 4), date(2024, 12, 3)
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


class Clock:
    """timezone.now() and the sender's clock; the sender's sleeps move it forward."""

    def __init__(self, start: datetime):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 2))
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(WEDNESDAY)
    monkeypatch.setattr("django.utils.timezone.now", clock)
    monkeypatch.setattr(delivery, "now", clock)
    monkeypatch.setattr(delivery, "sleep", clock.sleep)
    return clock


@pytest.fixture(autouse=True)
def mailbox(smtp_settings, settings):
    settings.PAPERFEED_BASE_URL = BASE_URL
    settings.PAPERFEED_SITE_NAME = "paperfeed"
    settings.DEFAULT_FROM_EMAIL = "paperfeed <digest@papers.example.org>"
    settings.PAPERFEED_SEMANTIC = False
    settings.PAPERFEED_DIGEST_RETRY_SECONDS = 10
    return smtp_settings


def add_papers(*specs: dict) -> dict[str, Paper]:
    """Papers through the real ingest path (author and category indexes, search index)."""
    records = []
    for n, spec in enumerate(specs, start=1):
        records.append(
            validate(
                PaperRecord(
                    arxiv_id=spec.get("id", f"2412.{n:05d}"),
                    title=spec["title"],
                    abstract=spec.get("abstract", f"We study {spec['title'].lower()} at length."),
                    authors=spec.get("authors", [f"Author {n}"]),
                    categories=spec.get("cats", ["cs.LG"]),
                    published_at=datetime.combine(spec.get("on", TODAY), datetime.min.time(), UTC)
                    - timedelta(days=1),
                    listing=ListingInfo(date=spec.get("on", TODAY), source="announcement"),
                    source="test",
                )
            )
        )
    store_batch(records)
    papers = {p.title: p for p in Paper.objects.all()}
    for spec in specs:
        Paper.objects.filter(title=spec["title"]).update(upvotes=spec.get("votes", 0))
    return {title: Paper.objects.get(pk=p.pk) for title, p in papers.items()}


@pytest.fixture
def corpus(clock):
    return add_papers(
        {"title": "Sparse attention for long documents", "authors": ["Ada Lovelace"],
         "cats": ["cs.CL"], "votes": 10},
        {"title": "Diffusion models for protein design", "authors": ["Grace Hopper"],
         "cats": ["q-bio.BM", "cs.LG"], "votes": 7},
        {"title": "Graph networks at scale", "authors": ["Alan Turing"], "votes": 5,
         "on": YESTERDAY},
        {"title": "Neural decoders for quantum codes", "cats": ["quant-ph"],
         "authors": ["Emmy Noether", "Ada Lovelace"], "votes": 1},
        {"title": "A survey of diffusion samplers", "cats": ["stat.ML"], "on": YESTERDAY},
        {"title": "Diffusion in the old days", "on": date(2024, 11, 1), "votes": 50},
    )  # fmt: skip


def subscriber(email="reader@example.org", **preferences) -> Subscription:
    preferences.setdefault("hour", 7)
    return Subscription.objects.create(
        email=email, confirmed_at=timezone.now() - timedelta(days=3), **preferences
    )


def member(username="ada", **preferences) -> tuple:
    user = get_user_model().objects.create_user(username, f"{username}@example.org")
    preferences.setdefault("hour", 7)
    subscription = services.subscribe_member(user, preferences)
    Subscription.objects.filter(pk=subscription.pk).update(
        confirmed_at=timezone.now() - timedelta(days=3)
    )
    subscription.refresh_from_db()
    return user, subscription


def text_of(message) -> str:
    return Mailbox.text(message).replace("\r\n", "\n")


def titles(mailbox: Mailbox, message) -> list[str]:
    return re.findall(r"^\* (.+)$", text_of(message), re.MULTILINE)


def page_path(link: str) -> str:
    assert link.startswith(BASE_URL + "/"), link
    return link.removeprefix(BASE_URL)


# --- subscribing -------------------------------------------------------------------------


def test_every_page_offers_the_subscribe_box(client, corpus):
    for path in ("/papers/", "/papers/trending", "/search?q=diffusion", "/about/ranking"):
        body = client.get(path).content.decode()
        assert 'action="/digests/subscribe"' in body, path
        assert 'type="email" name="email"' in body
    user = get_user_model().objects.create_user("ada", "ada@example.org")
    client.force_login(user)
    body = client.get("/papers/").content.decode()
    assert 'action="/digests/subscribe"' not in body
    assert 'href="/settings#digests"' in body


def test_subscribe_confirm_through_the_mailed_link_then_choose(client, mailbox):
    response = client.post("/digests/subscribe", {"email": "Reader@Example.ORG"})
    assert response.status_code == 200
    assert "We sent a link to <strong>Reader@example.org</strong>" in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.email == "Reader@example.org" and not subscription.is_active

    message = mailbox.last_to("Reader@example.org")
    assert message["Subject"] == "Confirm your paperfeed digest"
    assert message.get_content_type() == "multipart/alternative"
    (link,) = [link for link in mailbox.links(message) if "/digests/confirm/" in link]
    assert link in mailbox.html(message)

    # Opening the link (as a mail scanner would) only asks.
    page = client.get(page_path(link))
    assert page.status_code == 200 and "Yes, subscribe me" in page.content.decode()
    subscription.refresh_from_db()
    assert not subscription.is_active

    response = client.post(page_path(link))
    assert response.status_code == 302 and response.url.startswith("/digests/manage/")
    subscription.refresh_from_db()
    assert subscription.is_active

    manage = client.get(response.url).content.decode()
    assert "Reader@example.org is subscribed" in manage
    response = client.post(
        response.url,
        {
            "frequency": "weekly",
            "weekday": "4",
            "hour": "18",
            "time_zone": "Europe/Paris",
            "trending_count": "10",
            "categories": ["cs.LG"],
            "other_categories": "math.OC, quant-ph",
            "action": "save",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.frequency, subscription.weekday, subscription.hour) == ("weekly", 4, 18)
    assert subscription.time_zone == "Europe/Paris" and subscription.trending_count == 10
    assert subscription.categories == ["cs.LG", "math.OC", "quant-ph"]


def test_asking_again_neither_floods_nor_tells_who_is_subscribed(client, mailbox, clock):
    client.post("/digests/subscribe", {"email": "reader@example.org"})
    client.post("/digests/subscribe", {"email": "reader@example.org"})
    assert len(mailbox.to("reader@example.org")) == 1  # one link per ten minutes
    clock.advance(minutes=11)
    client.post("/digests/subscribe", {"email": "reader@example.org"})
    assert len(mailbox.to("reader@example.org")) == 2

    services.confirm(Subscription.objects.get())
    clock.advance(minutes=11)
    response = client.post("/digests/subscribe", {"email": "reader@example.org"})
    assert "We sent a link to" in response.content.decode()  # the same page
    message = mailbox.last_to("reader@example.org")
    assert message["Subject"] == "Your paperfeed digest"
    assert any("/digests/manage/" in link for link in mailbox.links(message))
    assert Subscription.objects.count() == 1


def test_bad_addresses_and_bad_links(client, mailbox, monkeypatch):
    response = client.post("/digests/subscribe", {"email": "not an address"})
    assert response.status_code == 400 and "Enter a valid email address" in response.text
    assert not mailbox.messages and not Subscription.objects.exists()

    assert client.get("/digests/confirm/nonsense").status_code == 404
    assert client.post("/digests/confirm/nonsense").status_code == 404
    assert client.get("/digests/manage/1.x:y").status_code == 404
    assert client.post("/digests/unsubscribe/1.x:y").status_code == 404
    subscription = Subscription.objects.create(email="reader@example.org")
    # An unsubscribe token does not open the preferences, nor the other way round.
    assert (
        client.get(f"/digests/manage/{link_token(subscription, 'unsubscribe')}").status_code == 404
    )
    assert (
        client.get(f"/digests/unsubscribe/{link_token(subscription, 'manage')}").status_code == 404
    )
    token = confirm_token(subscription)
    later = signing.time.time() + 4 * 86400  # past the three days a link works
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.post(f"/digests/confirm/{token}").status_code == 404
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_subscribe_form_is_rate_limited_per_address(client, settings):
    settings.PAPERFEED_RATE_SUBSCRIBE = "2/h"
    for n in range(2):
        assert client.post("/digests/subscribe", {"email": f"r{n}@example.org"}).status_code == 200
    response = client.post("/digests/subscribe", {"email": "r3@example.org"})
    assert response.status_code == 429
    assert not Subscription.objects.filter(email="r3@example.org").exists()
    other = client.post("/digests/subscribe", {"email": "r4@example.org"}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


# --- when a digest is due ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "hour", "due_from_utc"),
    [
        ("UTC", 7, datetime(2024, 12, 4, 7, 0, tzinfo=UTC)),
        ("Asia/Kolkata", 8, datetime(2024, 12, 4, 2, 30, tzinfo=UTC)),  # +05:30
        ("America/New_York", 6, datetime(2024, 12, 4, 11, 0, tzinfo=UTC)),  # -05:00 in winter
        ("Pacific/Auckland", 23, datetime(2024, 12, 4, 10, 0, tzinfo=UTC)),  # +13:00 (DST)
        ("Not/AZone", 7, datetime(2024, 12, 4, 7, 0, tzinfo=UTC)),  # unknown: UTC
    ],
)
def test_daily_digest_is_due_from_the_subscribers_hour(zone, hour, due_from_utc):
    subscription = Subscription(
        email="r@example.org",
        hour=hour,
        time_zone=zone,
        confirmed_at=datetime(2024, 11, 1, tzinfo=UTC),
    )
    period = current_period(subscription, due_from_utc)
    assert period.slot == due_from_utc
    assert is_due(subscription, period, due_from_utc)
    assert not is_due(subscription, period, due_from_utc - timedelta(minutes=1))


def test_weekly_digest_period_and_first_digest_after_confirming():
    subscription = Subscription(
        email="r@example.org",
        frequency="weekly",
        weekday=4,
        hour=9,
        time_zone="Europe/Berlin",
        confirmed_at=datetime(2024, 11, 1, tzinfo=UTC),
    )
    wednesday = current_period(subscription, WEDNESDAY)
    assert wednesday.key == "2024-W49" and wednesday.label == "week of 2 Dec 2024"
    assert wednesday.slot == datetime(2024, 12, 6, 8, 0, tzinfo=UTC)  # Friday 09:00 CET
    assert not is_due(subscription, wednesday, WEDNESDAY)
    saturday = WEDNESDAY + timedelta(days=3)
    assert current_period(subscription, saturday).key == "2024-W49"
    assert is_due(subscription, current_period(subscription, saturday), saturday)
    # Confirmed after this week's slot: the first digest is next week's.
    subscription.confirmed_at = datetime(2024, 12, 6, 12, 0, tzinfo=UTC)
    assert not is_due(subscription, current_period(subscription, saturday), saturday)
    assert current_period(subscription, saturday + timedelta(days=2)).key == "2024-W50"


# --- what a digest holds -----------------------------------------------------------------


def test_digest_sections_say_why_each_paper_is_there(corpus, mailbox, clock):
    user, subscription = member(categories=["quant-ph"], trending_count=2)
    services.save_search(user, "diffusion")
    services.follow(user, Author.objects.get(name="Ada Lovelace"))
    report = delivery.send_digests()
    assert (report.planned, report.sent) == (1, 1)

    message = mailbox.last_to("ada@example.org")
    text = text_of(message)
    sections = re.findall(r"^== (.+) ==$", text, re.MULTILINE)
    # quant-ph's one new paper is by Ada Lovelace: shown once, with both reasons.
    assert sections == ["Trending", "Saved search “diffusion”", "Authors you follow"]
    assert titles(mailbox, message) == [
        "Sparse attention for long documents",  # trending (most votes today)
        "Diffusion models for protein design",  # trending
        "A survey of diffusion samplers",  # the saved search
        "Neural decoders for quantum codes",  # by Ada Lovelace; also in quant-ph
    ]
    assert "Why: trending on paperfeed · by Ada Lovelace, whom you follow" in text
    assert "Why: trending on paperfeed · matches your saved search “diffusion”" in text
    assert "Why: matches your saved search “diffusion”" in text
    assert "Why: by Ada Lovelace, whom you follow · new in quant-ph" in text
    assert "Diffusion in the old days" not in text  # outside the window
    assert message["Subject"] == "paperfeed: 4 papers for Wed 4 Dec 2024"
    html = mailbox.html(message)
    for paper in Paper.objects.exclude(title__contains="old days"):
        if paper.title in text:
            assert f"{BASE_URL}/papers/{paper.arxiv_id}" in html
            assert f"https://arxiv.org/pdf/{paper.arxiv_id}" in html


def test_each_paper_reaches_a_subscriber_once_and_each_period_once(corpus, mailbox, clock):
    subscription = subscriber(categories=["cs.LG"], trending_count=3)
    delivery.send_digests()
    first = titles(mailbox, mailbox.last_to("reader@example.org"))
    assert first == [  # three trending, and a cs.LG paper that is not among them
        "Sparse attention for long documents",
        "Diffusion models for protein design",
        "Neural decoders for quantum codes",
        "Graph networks at scale",
    ]
    assert delivery.send_digests().planned == 0  # the same day: nothing more
    assert len(mailbox.to("reader@example.org")) == 1

    clock.advance(days=1)
    new = add_papers(
        {"id": "2412.09999", "title": "Fresh graph transformers", "on": date(2024, 12, 5)}
    )
    delivery.send_digests()
    second = titles(mailbox, mailbox.last_to("reader@example.org"))
    assert len(mailbox.to("reader@example.org")) == 2
    assert second == ["Fresh graph transformers"]
    assert not set(first) & set(second)
    assert SentPaper.objects.filter(subscription=subscription).count() == len(first) + len(second)
    assert new["Fresh graph transformers"].pk in set(
        SentPaper.objects.values_list("paper_id", flat=True)
    )


def test_nothing_new_means_no_mail(mailbox, clock):
    subscriber()
    report = delivery.send_digests()
    assert (report.planned, report.empty, report.sent) == (1, 1, 0)
    assert Delivery.objects.get().state == "skipped"
    assert not mailbox.messages


def test_the_mail_reads_in_mail_clients_and_unsubscribes_in_one_click(corpus, mailbox, clock):
    subscription = subscriber()
    delivery.send_digests()
    message = mailbox.last_to("reader@example.org")
    ledger = Delivery.objects.get()
    assert message["Message-ID"] == ledger.message_id and ledger.message_id.endswith(
        "@papers.example.org>"
    )
    assert message["From"] == "paperfeed <digest@papers.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "paperfeed digests <digests.papers.example.org>"
    # A long header is folded; unfolded, it is one <URL> (RFC 2369).
    unsubscribe = re.fullmatch(r"<(https://[^>]+)>", message["List-Unsubscribe"].strip()).group(1)
    assert unsubscribe.startswith(f"{BASE_URL}/digests/unsubscribe/")
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    html, text = mailbox.html(message), text_of(message)
    assert f"Unsubscribe: {unsubscribe}" in text and f'href="{unsubscribe}"' in html
    assert "/digests/manage/" in text
    # Mail-client HTML: tables and inline styles; nothing loaded from elsewhere.
    assert '<table role="presentation"' in html and "max-width:600px" in html
    for forbidden in ("<style", "<link", "<script", "<img", "class="):
        assert forbidden not in html
    assert all(len(line) <= 998 for line in message.as_string().splitlines())

    # A mail client's one-click POST: no cookie, no CSRF token, no login.
    one_click = Client(enforce_csrf_checks=True)
    response = one_click.post(
        page_path(unsubscribe),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None
    clock.advance(days=1)
    add_papers({"id": "2412.09999", "title": "Fresh graph transformers", "votes": 90,
                "on": date(2024, 12, 5)})  # fmt: skip
    assert delivery.send_digests().planned == 0
    assert len(mailbox.to("reader@example.org")) == 1


def test_unsubscribe_link_in_a_browser_asks_first(client, corpus, clock):
    subscription = subscriber()
    path = f"/digests/unsubscribe/{link_token(subscription, 'unsubscribe')}"
    page = client.get(path)
    assert page.status_code == 200 and "Stop sending" in page.text
    subscription.refresh_from_db()
    assert subscription.is_active
    assert "You are unsubscribed" in client.post(path).text
    assert "already unsubscribed" in client.get(path).text
    # The manage page offers to subscribe again.
    manage = f"/digests/manage/{link_token(subscription, 'manage')}"
    assert "Subscribe again" in client.get(manage).text
    client.post(manage, {"action": "resubscribe"})
    subscription.refresh_from_db()
    assert subscription.is_active


def test_hostile_text_stays_text_in_the_mail_and_the_preview(client, mailbox, clock):
    add_papers(
        {"title": f"Sneaky {HOSTILE} title", "authors": [f"Mallory {HOSTILE}"], "votes": 3,
         "abstract": f"Abstract with {HOSTILE} and a [link](javascript:alert(3))."},
    )  # fmt: skip
    user, subscription = member()
    services.follow(user, Author.objects.get(name__startswith="Mallory"))
    services.save_search(user, "sneaky\r\n<script>alert(1)</script>\r\n")
    assert SavedSearch.objects.get().query == "sneaky <script>alert(1)</script>"
    delivery.send_digests()
    message = mailbox.last_to("ada@example.org")
    html = mailbox.html(message)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "onerror=&#34;alert(2)&#34;" in html or "onerror=&quot;alert(2)&quot;" in html
    assert "by Mallory &lt;script&gt;alert(1)&lt;/script&gt;" in html  # the reason too
    assert "Sneaky <script>alert(1)</script>" in text_of(message)  # text is text
    assert mailbox.recipients() == ["ada@example.org"]
    # A saved query shows in a section title and in reasons (the engines tokenise
    # "<script>" differently, so this part is rendered directly).
    paper = Paper.objects.get()
    query = SavedSearch.objects.get().query
    section = Section("search", f"Saved search “{query}”", [Item(paper.pk, [["search", query]])])
    html = DigestMail().render(subscription, [section], "today").html
    assert "<script" not in html
    assert "Saved search “sneaky &lt;script&gt;alert(1)&lt;/script&gt;”" in html
    assert "matches your saved search “sneaky &lt;script&gt;alert(1)&lt;/script&gt;”" in html

    staff = get_user_model().objects.create_user("mod", "mod@example.org", is_staff=True)
    client.force_login(staff)
    body = client.get(f"/digests/preview/{subscription.pk}").content.decode()
    assert "<script>alert(1)" not in body
    assert 'sandbox srcdoc="' in body


# --- members -----------------------------------------------------------------------------


def test_members_turn_digests_on_in_settings_save_searches_and_follow(client, corpus, mailbox):
    user = get_user_model().objects.create_user("ada", "ada@example.org")
    client.force_login(user)
    settings_page = client.get("/settings").content.decode()
    assert "Send me the digest" in settings_page

    search = client.get("/search?q=diffusion").content.decode()
    assert "Save this search" in search
    response = client.post(
        "/digests/searches", {"q": "  diffusion ", "next": "/search?q=diffusion"}
    )
    assert response.status_code == 302 and response.url == "/search?q=diffusion"
    assert "once you turn the digest on" in client.get(response.url).text
    assert "Saved: new papers for this search" in client.get("/search?q=diffusion").text
    assert list(SavedSearch.objects.values_list("query", flat=True)) == ["diffusion"]

    author = Author.objects.get(name="Ada Lovelace")
    page = client.get(f"/authors/{author.slug}").content.decode()
    assert ">Follow</button>" in page
    client.post(f"/digests/authors/{author.slug}/follow", {"on": "1"})
    assert "&#10003; Following" in client.get(f"/authors/{author.slug}").text

    response = client.post(
        "/digests/settings",
        {"digest-frequency": "daily", "digest-weekday": "0", "digest-hour": "6",
         "digest-time_zone": "Europe/London", "digest-trending_count": "3",
         "digest-categories": ["cs.LG"], "action": "save"},
    )  # fmt: skip
    assert response.url == "/settings#digests"
    subscription = Subscription.objects.get()
    assert subscription.user == user and subscription.is_active  # no mail to confirm
    assert (subscription.hour, subscription.time_zone) == (6, "Europe/London")
    assert not mailbox.messages
    page = client.get("/settings").content.decode()
    assert "Your digest goes to <strong>ada@example.org</strong>" in page
    assert "diffusion</a>" in page and "Ada Lovelace</a>" in page

    client.post(f"/digests/searches/{SavedSearch.objects.get().pk}/forget")
    client.post(f"/digests/authors/{author.slug}/follow", {"on": "0"})
    client.post("/digests/settings", {"action": "unsubscribe"})
    subscription.refresh_from_db()
    assert not subscription.is_active and not SavedSearch.objects.exists()
    assert not user.followed_authors.exists()

    client.logout()
    assert client.post("/digests/searches", {"q": "x"}).status_code == 302  # to log in
    assert not SavedSearch.objects.exists()
    assert "Log in</a> to save this search" in client.get("/search?q=diffusion").text


def test_a_members_earlier_subscription_without_account_becomes_theirs(client):
    anonymous = Subscription.objects.create(email="ADA@example.org", confirmed_at=timezone.now())
    user = get_user_model().objects.create_user("ada", "ada@example.org")
    client.force_login(user)
    assert "Your digest goes to" in client.get("/settings").text
    client.post(
        "/digests/settings",
        {"digest-frequency": "weekly", "digest-weekday": "2", "digest-hour": "8",
         "digest-time_zone": "UTC", "digest-trending_count": "5", "action": "save"},
    )  # fmt: skip
    anonymous.refresh_from_db()
    assert anonymous.user == user and anonymous.frequency == "weekly"
    assert Subscription.objects.count() == 1


def test_preview_is_for_moderators_and_records_nothing(client, corpus, clock):
    subscription = subscriber(categories=["cs.CL"])
    path = f"/digests/preview/{subscription.pk}"
    assert client.get(path).status_code == 302  # to the admin log-in
    client.force_login(get_user_model().objects.create_user("bob", "bob@example.org"))
    assert client.get(path).status_code == 302
    moderator = get_user_model().objects.create_user("mod", "m@example.org", is_staff=True)
    client.force_login(moderator)
    page = client.get(path)
    assert page.status_code == 200
    assert "Sparse attention for long documents" in page.text
    assert "paperfeed: 5 papers for Wed 4 Dec 2024" in page.text
    text = client.get(path + "?format=text")
    assert text["Content-Type"].startswith("text/plain")
    assert "== Trending ==" in text.text
    assert not Delivery.objects.exists() and not SentPaper.objects.exists()
    moderator.is_superuser = True
    moderator.save()
    assert f'href="{path}"' in client.get("/admin/digests/subscription/").text


def test_dry_run_lists_and_records_nothing(corpus, mailbox, clock):
    subscriber("a@example.org")
    subscriber("b@example.org", frequency="weekly", weekday=0)
    report = delivery.send_digests(dry_run=True)
    assert report.lines == [
        "a@example.org\tdaily 2024-12-04\t5 papers",
        "b@example.org\tweekly 2024-W49\t5 papers",
    ]
    assert not Delivery.objects.exists() and not mailbox.messages
    # Weekly only, on any hour: an operator's "send this week's now".
    report = delivery.send_digests(frequency="weekly", any_hour=True)
    assert (report.planned, report.sent) == (1, 1)
    assert mailbox.recipients() == ["b@example.org"]


# --- the ledger --------------------------------------------------------------------------


def test_unsubscribed_after_planning_gets_nothing_and_frees_the_papers(corpus, mailbox, clock):
    subscription = subscriber()
    delivery.plan()
    assert SentPaper.objects.count() == 5
    services.unsubscribe(subscription)
    report = delivery.send_pending()
    assert report.sent == 0 and not mailbox.messages
    assert Delivery.objects.get().state == "skipped" and not SentPaper.objects.exists()


def test_a_dead_senders_deliveries_are_taken_over_after_its_lease(corpus, mailbox, clock, settings):
    settings.PAPERFEED_DIGEST_LEASE_SECONDS = 60
    for n in range(5):
        subscriber(f"r{n}@example.org")
    delivery.plan()
    # A sender claimed all five, sent the first two (its commit wrote "sent") and died.
    taken = delivery.claim("dead-sender", 10)
    first, second, *_ = taken
    Delivery.objects.filter(pk__in=[first, second]).update(state="sent", sent_at=clock.now)
    assert delivery.send_pending().sent == 0  # its lease still holds
    clock.advance(seconds=61)
    report = delivery.send_pending()
    assert report.sent == 3
    assert sorted(mailbox.recipients()) == [f"r{n}@example.org" for n in range(2, 5)]
    assert Delivery.objects.filter(state="sent").count() == 5


def test_the_final_line_is_held_back_when_the_claim_is_lost(mailbox):
    sender = DigestSender()
    lost = EmailMessage("lost", "body", "a@example.org", ["lost@example.org"])
    assert sender.send(lost, commit=lambda: False) is False
    kept = EmailMessage("kept", "body", "a@example.org", ["kept@example.org"])
    assert sender.send(kept, commit=lambda: True) is True
    sender.close()
    assert mailbox.recipients() == ["kept@example.org"]  # the server dropped the first


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_each_digest_once(mailbox, settings, monkeypatch):
    settings.PAPERFEED_DIGEST_BATCH = 3
    add_papers({"title": "Something trending", "votes": 2, "on": timezone.localdate()})
    for n in range(30):
        subscriber(f"r{n}@example.org")
    delivery.plan(any_hour=True)
    barrier = threading.Barrier(3)

    def send(_):
        barrier.wait()
        try:
            return delivery.send_pending().sent
        finally:
            connection.close()

    with ThreadPoolExecutor(3) as pool:
        sent = list(pool.map(send, range(3)))
    assert sum(sent) == 30
    recipients = mailbox.recipients()
    assert len(recipients) == len(set(recipients)) == 30


def test_concurrent_planners_plan_each_digest_once(corpus, clock):
    for n in range(20):
        subscriber(f"r{n}@example.org")
    due = delivery.due_subscriptions(clock.now)
    contents = {"daily": PeriodContent("daily", clock.now)}
    built = delivery.build_digests(due, contents)
    delivery._record(built[:12], clock.now, delivery.RunReport())
    # A second planner built all twenty before the first recorded: it records the rest.
    report = delivery.RunReport()
    delivery._record(delivery.build_digests(due, contents), clock.now, report)
    assert report.planned == 8
    assert Delivery.objects.count() == 20
    assert SentPaper.objects.count() == 20 * 5


@pytest.fixture
def picky_smtp():
    """A loopback SMTP server that refuses some recipients, for good or for now."""

    class Picky(Mailbox):
        refuse: dict[str, str] = {}

        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            if address in self.refuse:
                return self.refuse[address]
            envelope.rcpt_tos.append(address)
            return "250 OK"

    picky = Picky()
    controller = Controller(picky, hostname="127.0.0.1", port=_free_port(), server_hostname="x")
    controller.start()
    picky.host, picky.port = controller.hostname, controller.port
    yield picky
    controller.stop()


def test_refusals_fail_for_good_or_retry_with_backoff(corpus, picky_smtp, settings, clock):
    settings.EMAIL_PORT = picky_smtp.port
    settings.PAPERFEED_DIGEST_MAX_ATTEMPTS = 3
    subscriber("gone@example.org")
    subscriber("busy@example.org")
    subscriber("fine@example.org")
    picky_smtp.refuse = {
        "gone@example.org": "550 5.1.1 No such user",
        "busy@example.org": "451 4.3.0 Try again later",
    }
    report = delivery.send_digests()
    assert picky_smtp.recipients() == ["fine@example.org"]
    assert (report.sent, report.failed, report.retried) == (1, 2, 2)
    assert clock.slept == [10.0, 20.0]  # retries of the busy one: 10 s, then 20 s
    states = dict(Delivery.objects.values_list("subscription__email", "state"))
    assert states == {"gone@example.org": "failed", "busy@example.org": "failed",
                      "fine@example.org": "sent"}  # fmt: skip
    busy = Delivery.objects.get(subscription__email="busy@example.org")
    assert busy.attempts == 3 and "451" in busy.last_error
    # Undelivered papers may come in a later digest.
    assert SentPaper.objects.filter(subscription__email="fine@example.org").count() == 5
    assert not SentPaper.objects.exclude(subscription__email="fine@example.org").exists()


def test_a_mail_server_down_for_a_while_delays_but_loses_nothing(
    corpus, settings, clock, monkeypatch
):
    port = _free_port()
    settings.EMAIL_PORT = port
    for n in range(6):
        subscriber(f"r{n}@example.org")
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="x")
    real_sleep = clock.sleep

    def sleep(seconds):
        real_sleep(seconds)
        if len(clock.slept) == 4:  # the server comes back after four waits
            controller.start()

    monkeypatch.setattr(delivery, "sleep", sleep)
    try:
        report = delivery.send_digests()
    finally:
        controller.stop()
    assert clock.slept == [10.0, 20.0, 40.0, 80.0]  # doubling, per outage not per message
    assert report.sent == 6 and report.failed == 0
    assert sorted(mailbox.recipients()) == [f"r{n}@example.org" for n in range(6)]
    assert not Delivery.objects.exclude(state="sent").exists()
    assert Delivery.objects.filter(attempts=1).count() == 6  # outages cost no attempts


def test_content_is_built_once_per_period_for_many_subscribers(
    corpus, clock, django_assert_max_num_queries
):
    subscriptions = [
        subscriber(f"r{n}@example.org", categories=["cs.LG", "cs.CL"]) for n in range(50)
    ]
    content = PeriodContent("daily", clock.now)
    with django_assert_max_num_queries(3):
        for subscription in subscriptions:
            content.build(subscription, Wants(trending=3, categories=["cs.LG", "cs.CL"]), set())
