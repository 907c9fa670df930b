"""Accounts: sign-up with a verification mail, log in and out, password reset, settings,
profiles and the user admin. Every mail goes through a real SMTP server on loopback."""

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from paperfeed.accounts import services
from paperfeed.accounts.models import User
from paperfeed.accounts.tokens import verification_tokens
from paperfeed.community.models import AuthorClaim, Collection, CollectionItem, Vote
from paperfeed.papers.models import Author, Listing, Paper

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 42"
BASE_URL = "https://papers.example.org"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def mailbox(smtp_settings, settings):
    """Every test here sends its mail to the loopback SMTP server; links use BASE_URL."""
    settings.PAPERFEED_BASE_URL = BASE_URL
    settings.DEFAULT_FROM_EMAIL = "paperfeed <noreply@papers.example.org>"
    return smtp_settings


def make_user(username="ada", email="ada@example.org", password=PASSWORD, **fields) -> User:
    fields.setdefault("email_verified_at", timezone.now())
    user = User(username=username, email=email, **fields)
    user.set_password(password)
    user.save()
    return user


def make_paper(n: int, title: str | None = None) -> Paper:
    return Paper.objects.create(
        arxiv_id=f"2501.{n:05d}",
        title=title or f"Paper number {n}",
        published_at=timezone.now() - timedelta(days=n),
        content_hash=f"hash{n}",
        source="test",
    )


def sign_up(client, username="ada", email="ada@example.org", password=PASSWORD, **extra):
    return client.post(
        "/accounts/signup",
        {"username": username, "email": email, "password1": password, "password2": password},
        **extra,
    )


def logged_in_as(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


def site_path(link: str) -> str:
    """The path of a link from a mail, after checking it points at this site."""
    assert link.startswith(BASE_URL + "/"), link
    return urlsplit(link).path


def without_tokens(body: bytes) -> str:
    """A page with its CSRF tokens (masked differently on each response) taken out."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body.decode())


def link_in(mailbox, address: str) -> str:
    message = mailbox.last_to(address)
    links = [link for link in mailbox.links(message) if "/accounts/" in link]
    assert len(links) == 1, links
    assert links[0] in mailbox.html(message)  # the HTML alternative carries the same link
    return links[0]


# --- sign-up and verification ------------------------------------------------------------


def test_sign_up_verify_log_out_and_log_in_with_email(client, mailbox):
    response = sign_up(client)
    assert response.status_code == 200
    assert "We sent a link to <strong>ada@example.org</strong>" in response.content.decode()
    user = User.objects.get(username="ada")
    assert not user.is_active and user.awaits_verification

    message = mailbox.last_to("ada@example.org")
    assert message["Subject"] == "Activate your paperfeed account"
    assert message["From"] == "paperfeed <noreply@papers.example.org>"
    assert message.get_content_type() == "multipart/alternative"
    assert "Hello ada," in mailbox.text(message)
    link = link_in(mailbox, "ada@example.org")

    response = client.get(site_path(link))
    assert response.status_code == 302
    assert response.url == reverse("papers:today")
    user.refresh_from_db()
    assert user.is_active and user.email_verified_at is not None
    assert logged_in_as(client) == user.pk

    client.post("/accounts/logout")
    assert logged_in_as(client) is None
    response = client.post("/accounts/login", {"username": "ADA@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_as(client) == user.pk


def test_verification_link_works_once(client, mailbox):
    sign_up(client)
    path = site_path(link_in(mailbox, "ada@example.org"))
    assert client.get(path).status_code == 302
    client.post("/accounts/logout")
    response = client.get(path)
    body = response.content.decode()
    assert "This link does not work" in body
    assert logged_in_as(client) is None


def test_bad_or_expired_verification_link_offers_a_new_one(client, mailbox, monkeypatch):
    body = client.get("/accounts/verify/MQ/not-a-token").content.decode()
    assert "This link does not work" in body
    assert f'action="{reverse("accounts:resend")}"' in body
    assert client.get("/accounts/verify/%%%/x").status_code == 200  # undecodable uid

    sign_up(client)
    path = site_path(link_in(mailbox, "ada@example.org"))
    later = datetime.now() + timedelta(days=4)  # past the three days a link works
    monkeypatch.setattr(verification_tokens, "_now", lambda: later)
    assert "This link does not work" in client.get(path).content.decode()
    assert not User.objects.get(username="ada").is_active


def test_verification_token_is_not_a_password_reset_token(client, mailbox):
    sign_up(client)
    user = User.objects.get(username="ada")
    user.is_active = True  # even for an active account
    user.save()
    uid, token = site_path(link_in(mailbox, "ada@example.org")).split("/")[-2:]
    response = client.get(f"/accounts/password-reset/{uid}/{token}", follow=True)
    assert "The password reset link is not valid" in response.content.decode()


def test_used_address_in_any_case_is_a_form_error(client, mailbox):
    make_user(email="ada@example.org")
    response = sign_up(client, username="ada2", email="ADA@Example.ORG")
    body = response.content.decode()
    assert "An account with this e-mail address already exists" in body
    assert 'class="errors" id="id_email_error"' in body
    assert User.objects.count() == 1
    assert mailbox.messages == []


def test_signing_up_again_before_verifying_resends_the_link(client, mailbox):
    sign_up(client, username="ada")
    response = sign_up(client, username="ada_again", email="Ada@example.org", password="x")
    assert "is already waiting to be activated" in response.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]
    assert len(mailbox.to("ada@example.org")) == 2
    # The newest link activates the account that was waiting.
    assert client.get(site_path(link_in(mailbox, "ada@example.org"))).status_code == 302
    assert User.objects.get(username="ada").is_active


def test_sign_up_form_checks_fields(client, mailbox):
    response = client.post(
        "/accounts/signup",
        {"username": "a@b", "email": "not-an-address", "password1": "pw", "password2": "pq"},
    )
    body = response.content.decode()
    assert "A username cannot contain @." in body
    assert "Enter a valid email address." in body
    assert "The two password fields didn’t match." in body
    assert 'aria-invalid="true"' in body
    response = sign_up(client, username=HOSTILE, password="password")
    body = response.content.decode()
    assert "Enter a valid username" in body
    assert "This password is too common." in body
    assert "<script>alert(1)" not in body
    assert User.objects.count() == 0 and mailbox.messages == []


def test_signed_in_people_skip_the_sign_up_and_log_in_pages(client):
    client.force_login(make_user())
    assert client.get("/accounts/signup").url == reverse("accounts:settings")
    assert client.get("/accounts/login").status_code == 302


def test_mail_server_down_at_sign_up_is_explained_and_recoverable(client, mailbox, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # discard: nothing listens there
    response = sign_up(client)
    assert "We could not hand the mail to our mail server" in response.content.decode()
    assert User.objects.get(username="ada").awaits_verification

    settings.EMAIL_PORT = port
    client.post("/accounts/verify", {"login": "ada"})
    assert client.get(site_path(link_in(mailbox, "ada@example.org"))).status_code == 302
    assert User.objects.get(username="ada").is_active


# --- log in ------------------------------------------------------------------------------


def test_unverified_account_gets_a_clear_message_and_a_new_link(client, mailbox):
    sign_up(client)
    mailbox.clear()
    response = client.post("/accounts/login", {"username": "ada", "password": PASSWORD})
    body = response.content.decode()
    assert "This account is not active yet" in body
    assert 'name="login" value="ada"' in body
    assert logged_in_as(client) is None

    response = client.post("/accounts/verify", {"login": "ada"})
    assert "a new link is on its way" in response.content.decode()
    assert client.get(site_path(link_in(mailbox, "ada@example.org"))).status_code == 302
    assert logged_in_as(client) == User.objects.get(username="ada").pk


def test_wrong_password_on_an_unverified_account_says_nothing_more(client, mailbox):
    sign_up(client)
    body = client.post("/accounts/login", {"username": "ada", "password": "nope"}).content
    assert b"not active yet" not in body
    assert b"Please enter a correct username and password" in body


def test_switched_off_account_cannot_log_in_or_reactivate(client, mailbox):
    make_user(is_active=False)  # verified once, then switched off by a moderator
    body = client.post("/accounts/login", {"username": "ada", "password": PASSWORD}).content
    assert b"This account has been switched off" in body
    client.post("/accounts/verify", {"login": "ada@example.org"})
    assert mailbox.messages == []


def test_resend_form_does_not_reveal_accounts(client, mailbox):
    make_user()
    known = without_tokens(client.post("/accounts/verify", {"login": "ada"}).content)
    unknown = without_tokens(client.post("/accounts/verify", {"login": "x@example.org"}).content)
    assert known == unknown
    assert mailbox.messages == []


def test_log_in_follows_only_safe_next_addresses(client):
    make_user()
    data = {"username": "ada", "password": PASSWORD}
    assert client.post("/accounts/login?next=/settings", data).url == "/settings"
    client.post("/accounts/logout")
    response = client.post("/accounts/login?next=https://evil.example/", data)
    assert response.url == reverse("papers:today")
    # Already logged in, with a next that points back at the log-in page: no loop.
    assert client.get("/accounts/login?next=/accounts/login").url == reverse("papers:today")


# --- password reset ----------------------------------------------------------------------


def test_password_reset_round_trip(client, mailbox):
    user = make_user()
    response = client.post(
        "/accounts/password-reset", {"email": "ADA@example.org"}, HTTP_HOST="127.0.0.1"
    )
    assert "we sent it a link to choose a new password" in response.content.decode()
    message = mailbox.last_to("ada@example.org")
    assert message["Subject"] == "Choose a new password for paperfeed"
    link = link_in(mailbox, "ada@example.org")  # on PAPERFEED_BASE_URL, not the Host header

    response = client.get(site_path(link))
    assert response.status_code == 302 and response.url.endswith("/set-password")
    response = client.post(
        response.url,
        {"new_password1": "a brand new secret 7", "new_password2": "a brand new secret 7"},
    )
    assert response.url == reverse("accounts:settings")
    assert logged_in_as(client) == user.pk
    user.refresh_from_db()
    assert user.check_password("a brand new secret 7")
    # The link worked once.
    assert b"not valid" in client.get(site_path(link), follow=True).content


def test_password_reset_for_an_unknown_address_looks_the_same(client, mailbox):
    make_user()
    known = client.post("/accounts/password-reset", {"email": "ada@example.org"})
    unknown = client.post("/accounts/password-reset", {"email": "eve@example.org"})
    known, unknown = without_tokens(known.content), without_tokens(unknown.content)
    assert known.replace("ada@example.org", "eve@example.org") == unknown
    assert mailbox.recipients() == ["ada@example.org"]


# --- settings ----------------------------------------------------------------------------


def test_settings_need_a_login(client):
    response = client.get("/settings")
    assert response.url == "/accounts/login?next=/settings"


def test_settings_display_name(client):
    user = make_user()
    client.force_login(user)
    response = client.post("/settings", {"action": "name", "name-display_name": "  Ada L.  "})
    assert response.url == "/settings"
    user.refresh_from_db()
    assert user.display_name == "Ada L."
    assert "Your display name is saved." in client.get("/settings").content.decode()


def test_settings_password_change(client):
    user = make_user()
    client.force_login(user)
    data = {
        "action": "password",
        "password-old_password": "wrong",
        "password-new_password1": "another secret 99",
        "password-new_password2": "another secret 99",
    }
    body = client.post("/settings", data).content.decode()
    assert "Your old password was entered incorrectly" in body
    data["password-old_password"] = PASSWORD
    assert client.post("/settings", data).url == "/settings"
    user.refresh_from_db()
    assert user.check_password("another secret 99")
    assert logged_in_as(client) == user.pk  # the session survives its own password change
    assert client.get("/settings").status_code == 200


def test_settings_email_change_waits_for_the_new_address(client, mailbox):
    user = make_user()
    make_user(username="bob", email="bob@example.org")
    client.force_login(user)

    def change(new, password=PASSWORD):
        data = {"action": "email", "email-new_email": new, "email-password": password}
        return client.post("/settings", data)

    assert "The password is not right." in change("ada@new.example", "nope").content.decode()
    assert "Another account uses this address." in change("BOB@example.org").content.decode()
    assert mailbox.messages == []

    assert change("ada@new.example").url == "/settings"
    user.refresh_from_db()
    assert user.email == "ada@example.org"  # not yet
    message = mailbox.last_to("ada@new.example")
    assert "Confirm your new e-mail address" in message["Subject"]
    path = site_path(link_in(mailbox, "ada@new.example"))

    assert client.get(path).url == "/settings"
    user.refresh_from_db()
    assert user.email == "ada@new.example"
    notice = mailbox.last_to("ada@example.org")  # the old address hears of it
    assert "ada@new.example" in mailbox.text(notice)
    assert "already been used" in client.get(path).content.decode()
    assert "not valid" in client.get("/accounts/email/forged").content.decode()


def test_email_change_link_fails_if_the_address_was_taken_meanwhile(client, mailbox):
    user = make_user()
    client.force_login(user)
    client.post(
        "/settings",
        {"action": "email", "email-new_email": "x@example.org", "email-password": PASSWORD},
    )
    make_user(username="bob", email="X@example.org")
    body = client.get(site_path(link_in(mailbox, "x@example.org"))).content.decode()
    assert "Another account took this address" in body
    user.refresh_from_db()
    assert user.email == "ada@example.org"


def test_settings_list_claims_and_keep_a_digest_section(client):
    user = make_user()
    paper = make_paper(1, title="Claimed work")
    author = Author.objects.create(slug="ada-lovelace", name="Ada Lovelace")
    AuthorClaim.objects.create(user=user, paper=paper, author=author)
    client.force_login(user)
    body = client.get("/settings").content.decode()
    assert "Claimed work" in body and "Ada Lovelace" in body and "Pending" in body
    assert '<section id="digests"' in body and "E-mail digests" in body


# --- profile -----------------------------------------------------------------------------


def fill_profile(user: User, n: int = 3) -> dict:
    """Submissions, votes, collections and claims for `user`, plus someone else's."""
    other = make_user(username="bob", email="bob@example.org")
    papers = [make_paper(i) for i in range(1, 2 * n + 1)]
    for i, paper in enumerate(papers[:n]):
        Listing.objects.create(
            paper=paper, date=date(2025, 1, 1 + i), source="submission", submitter=user
        )
    Listing.objects.create(
        paper=papers[-1], date=date(2025, 2, 1), source="submission", submitter=other
    )
    for paper in papers[n:]:
        Vote.objects.create(user=user, paper=paper)
    public = Collection.objects.create(owner=user, name="Reading group", slug="reading-group")
    private = Collection.objects.create(
        owner=user, name="Secret list", slug="secret", is_public=False
    )
    for paper in papers[:2]:
        CollectionItem.objects.create(collection=public, paper=paper)
    CollectionItem.objects.create(collection=private, paper=papers[0])
    author = Author.objects.create(slug="ada-lovelace", name="Ada Lovelace")
    AuthorClaim.objects.create(user=user, paper=papers[0], author=author, status="approved")
    AuthorClaim.objects.create(user=user, paper=papers[1], author=author, status="pending")
    return {"papers": papers, "other": other}


def test_profile_shows_what_a_member_did(client):
    user = make_user(display_name="Ada L.")
    data = fill_profile(user)
    papers = data["papers"]
    body = client.get("/users/ada").content.decode()
    assert "<h1>Ada L. <small>@ada</small></h1>" in body
    assert "Member since" in body
    submitted = body[body.index("Submitted papers") : body.index("Upvoted papers")]
    # Newest submission first; someone else's submission is not listed.
    positions = [submitted.index(f"{p.title}<") for p in reversed(papers[:3])]
    assert positions == sorted(positions)
    assert papers[-1].title + "<" not in submitted
    upvoted = body[body.index("Upvoted papers") : body.index("Collections")]
    assert all(p.title in upvoted for p in papers[3:])
    assert "Reading group" in body and "2 papers" in body
    assert "Secret list" not in body
    verified = body[body.index("Verified author of") : body.index("Submitted papers")]
    assert papers[0].title in verified and papers[1].title not in verified

    client.force_login(user)
    body = client.get("/users/ada").content.decode()
    assert "Secret list" in body and '<span class="private">private</span>' in body


def test_profile_is_404_for_unknown_and_inactive_people(client):
    make_user(username="ghost", email="ghost@example.org", is_active=False)
    assert client.get("/users/nobody").status_code == 404
    assert client.get("/users/ghost").status_code == 404


def test_profile_queries_do_not_grow_with_the_lists(client, django_assert_max_num_queries):
    user = make_user()
    fill_profile(user, n=30)
    client.force_login(user)
    # Seven today: session, viewer, person, and one query for each of the four lists.
    with django_assert_max_num_queries(8):
        response = client.get("/users/ada")
    assert response.status_code == 200
    assert response.content.decode().count("upvote") >= 60


def test_hostile_names_render_escaped(client):
    user = make_user(username="<img src=x onerror=alert(1)>", display_name=HOSTILE)
    client.force_login(user)
    for path in (user.get_absolute_url(), "/settings"):
        body = client.get(path).content.decode()
        assert "<script>alert(1)" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- rate limits -------------------------------------------------------------------------


def test_too_many_sign_ups_from_one_address_get_429(client, settings):
    settings.PAPERFEED_RATE_SIGNUPS = "2/h"
    assert sign_up(client, username="a1", email="a1@example.org").status_code == 200
    assert sign_up(client, username="a2", email="a2@example.org").status_code == 200
    response = sign_up(client, username="a3", email="a3@example.org")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert not User.objects.filter(username="a3").exists()
    assert client.get("/accounts/signup").status_code == 200  # reading the form is free
    # Another address has its own budget.
    other = sign_up(client, username="a4", email="a4@example.org", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_too_many_log_ins_from_one_address_get_429(client, settings):
    settings.PAPERFEED_RATE_LOGINS = "3/m"
    make_user()
    for _ in range(3):
        client.post("/accounts/login", {"username": "ada", "password": "wrong"})
    response = client.post("/accounts/login", {"username": "ada", "password": PASSWORD})
    assert response.status_code == 429
    assert logged_in_as(client) is None


# --- admin -------------------------------------------------------------------------------


def test_admin_manages_addresses_names_and_activation(client, mailbox):
    admin = make_user(username="root", email="root@example.org", is_staff=True, is_superuser=True)
    client.force_login(admin)
    sign_up(Client(), username="newbie", email="newbie@example.org")
    newbie = User.objects.get(username="newbie")

    body = client.get(f"/admin/accounts/user/{newbie.pk}/change/").content.decode()
    for name in ("email", "display_name", "is_active", "email_verified_at_0"):
        assert f'name="{name}"' in body
    assert client.get("/admin/accounts/user/?q=newbie@example").status_code == 200
    assert 'name="email"' in client.get("/admin/accounts/user/add/").content.decode()

    mailbox.clear()
    action = {"_selected_action": [newbie.pk], "index": 0}
    client.post("/admin/accounts/user/", {**action, "action": "send_verification"})
    assert mailbox.recipients() == ["newbie@example.org"]
    client.post("/admin/accounts/user/", {**action, "action": "activate"})
    newbie.refresh_from_db()
    assert newbie.is_active and newbie.email_verified_at is not None


# --- forms are accessible ----------------------------------------------------------------


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []
        self.labels: set[str] = set()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") not in {"hidden", "submit"}:
            self.inputs.append(attrs)
        if tag == "label" and "for" in attrs:
            self.labels.add(attrs["for"])
        if tag == "form":
            self.forms.append(attrs)


def test_every_account_form_input_has_a_label_and_an_autocomplete_hint(client):
    for path in (
        "/accounts/signup",
        "/accounts/login",
        "/accounts/password-reset",
        "/accounts/verify",
    ):
        page = _Inputs()
        page.feed(client.get(path).content.decode())
        account_inputs = [i for i in page.inputs if i.get("type") != "search"]
        assert account_inputs, path
        for attrs in account_inputs:
            assert attrs.get("id") in page.labels, (path, attrs)
            assert attrs.get("autocomplete"), (path, attrs)
    client.force_login(make_user())
    page = _Inputs()
    body = client.get("/settings").content.decode()
    page.feed(body)
    for attrs in page.inputs:
        if attrs.get("type") != "search":
            assert attrs.get("id") in page.labels and attrs.get("autocomplete"), attrs
    # Every POST form (settings, private feed, log-out button) carries its CSRF token.
    assert body.count("csrfmiddlewaretoken") == body.count('method="post"') >= 4


def test_services_can_be_used_without_the_pages(mailbox):
    user = services.register("grace", "grace@EXAMPLE.org", PASSWORD)
    assert user.email == "grace@example.org" and user.awaits_verification
    assert services.send_verification(user)
    uid, token = site_path(link_in(mailbox, "grace@example.org")).split("/")[-2:]
    assert services.verify(uid, "wrong") is None
    assert services.verify(uid, token).is_active
    assert services.verify(uid, token) is None  # used
