"""A member's flows in Chromium against one live instance: sign up and follow the link in
the verification mail, log out and in again; vote on the daily list; comment in Markdown,
reply, and post hostile text that must stay text; submit a paper that the loopback arXiv
API serves; keep it in a collection that is public, then private; claim its authorship and
have a moderator approve the claim in the admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from string import Template

import pytest
from playwright.sync_api import expect

from tests.live import Server, live_environment
from tests.smtp import Mailbox, loopback_smtp
from tests.upstream import Upstream, fixture

pytestmark = [pytest.mark.live, pytest.mark.browser]

PASSWORD = "quiet-Harbour-417"  # passes Django's password validators
# The paper the loopback arXiv API serves, from tests/fixtures/arxiv_api_submit_dated.atom.tmpl.
TITLE = "Quiet Gradients: Early Stopping from the Spectrum of Weight Updates"
AUTHORS = ["Ilse Varga-Noor", "Tomasz Okonkwo-Hale", "Rin Abernethy"]
ATOM = "application/atom+xml"


@dataclass
class Site:
    server: Server
    inbox: Mailbox
    arxiv: Upstream
    paper_id: str  # the recent paper arXiv knows, not stored on the site until submitted

    @property
    def url(self) -> str:
        return self.server.url


def dated_atom(published: datetime) -> tuple[str, str]:
    """The arXiv API's answer for a paper first published at `published`: (id, Atom).
    The live server's clock is the real one, so the paper's dates are computed now."""
    arxiv_id = f"{published:%y%m}.04242"
    stamp = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    atom = Template(fixture("arxiv_api_submit_dated.atom.tmpl").decode()).substitute(
        arxiv_id=arxiv_id, published=stamp, feed_updated=datetime.now(UTC).isoformat()
    )
    return arxiv_id, atom


@pytest.fixture(scope="module")
def inbox() -> Iterator[Mailbox]:
    """The loopback SMTP server (aiosmtpd) for the whole module."""
    with loopback_smtp() as box:
        yield box


@pytest.fixture(scope="module")
def arxiv():
    with Upstream() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def site(tmp_path_factory, inbox, arxiv) -> Site:
    """One `paperfeed serve --demo` for the module: its mail goes to `inbox`, every arXiv
    address to the loopback server, which knows one paper from three days ago."""
    arxiv_id, atom = dated_atom(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3))
    arxiv.add("/api/query", atom, content_type=ATOM)
    env = {
        **live_environment(tmp_path_factory.mktemp("flows") / "home"),
        "PAPERFEED_SMTP_URL": inbox.url,
        "PAPERFEED_ARXIV_API_URL": f"{arxiv.url}/api/query",
        "PAPERFEED_ARXIV_OAI_URL": f"{arxiv.url}/oai",
        "PAPERFEED_ARXIV_LISTING_URL": f"{arxiv.url}/rss/",
        "PAPERFEED_HF_API_URL": arxiv.url,
        "PAPERFEED_SEMANTIC": "off",  # flows need no embeddings; computing them takes seconds
        # Every test signs a member up from the same address; the default (5/h) would
        # leave no room for one more test.
        "PAPERFEED_RATE_SIGNUPS": "50/h",
    }
    server = Server(env, "--demo")
    yield Site(server, inbox, arxiv, arxiv_id)
    output = server.stop()
    assert "Traceback" not in output, output


# --- helpers -----------------------------------------------------------------------------


def cards(page):
    return page.locator("main article.card")


def account_nav(page):
    return page.get_by_role("navigation", name="Account")


def messages(page):
    return page.locator("ul.messages")


def fill_sign_up_form(page, username: str, email: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    expect(page.locator("main")).to_contain_text(f"We sent a link to {email}.")


def verification_link(site: Site, email: str) -> str:
    message = site.inbox.wait_for(email)
    assert message["Subject"] == "Activate your paperfeed account"
    links = [link for link in Mailbox.links(message) if "/accounts/verify/" in link]
    assert len(links) == 1, Mailbox.text(message)
    return links[0]


def sign_up(page, site: Site, username: str) -> str:
    """A new member, signed up through the form and logged in by the mail's link; returns
    the address."""
    email = f"{username}@example.org"
    page.goto(f"{site.url}/accounts/signup")
    fill_sign_up_form(page, username, email)
    page.goto(verification_link(site, email))
    expect(messages(page)).to_contain_text(f"Welcome, {username}: your address is verified.")
    return email


def opened_on_purpose(browser_log, *pages: tuple[str, int]) -> None:
    """Chromium logs a page that answers with an error status as a console error; drop
    that message for the pages (URL, status) the test opened knowing they would."""
    for url, status in pages:
        said = f"{url}: console error: Failed to load resource: the server responded with a "
        said += f"status of {status} "
        browser_log.errors = [e for e in browser_log.errors if not e.startswith(said)]


# --- sign up, verify, log out, log in ----------------------------------------------------


def test_sign_up_verify_log_out_and_log_in_with_the_address(site, page, shot):
    page.goto(f"{site.url}/papers/")
    account_nav(page).get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(f"{site.url}/accounts/signup")
    expect(page.locator("h1")).to_have_text("Create an account")
    expect(page.get_by_label("Username")).to_be_focused()
    shot(page, "signup")

    fill_sign_up_form(page, "amara", "amara@example.org")
    link = verification_link(site, "amara@example.org")
    assert link.startswith(f"{site.url}/accounts/verify/")
    # Not active before the link is followed.
    page.goto(f"{site.url}/accounts/login")
    page.get_by_label("Username or e-mail").fill("amara")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("main")).to_contain_text("This account is not active yet")

    page.goto(link)
    expect(page).to_have_url(f"{site.url}/papers/")
    expect(messages(page)).to_have_text("Welcome, amara: your address is verified.")
    expect(account_nav(page).get_by_role("link", name="amara")).to_have_attribute(
        "href", "/users/amara"
    )
    page.goto(link)  # a used link is spent
    expect(page.locator("h1")).to_have_text("This link does not work")

    page.goto(f"{site.url}/papers/")
    account_nav(page).get_by_role("button", name="Log out").click()
    expect(account_nav(page).get_by_role("link", name="Log in")).to_be_visible()
    expect(account_nav(page).get_by_role("link", name="amara")).to_have_count(0)

    account_nav(page).get_by_role("link", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Log in")
    shot(page, "login")
    page.get_by_label("Username or e-mail").fill("Amara@Example.org")  # any case
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site.url}/papers/")  # the `next` of the header's link
    expect(account_nav(page).get_by_role("link", name="amara")).to_be_visible()
    assert len(site.inbox.to("amara@example.org")) == 1


# --- votes -------------------------------------------------------------------------------


def test_upvote_on_the_daily_list_in_place_and_take_it_back(site, page):
    sign_up(page, site, "bruno")
    page.goto(f"{site.url}/papers/")
    expect(cards(page)).to_have_count(40)
    # The list is ordered by votes, so the card is found again by its paper, not its place.
    card = page.locator(f"article[id='{cards(page).nth(5).get_attribute('id')}']")
    button = card.locator("form[data-vote] button")
    count = button.locator(".vote-count")
    before = int(count.inner_text())
    expect(button).to_have_attribute("aria-pressed", "false")

    page.evaluate("window.stillHere = true")  # gone if the page reloads
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(count).to_have_text(str(before + 1))
    expect(button).to_have_attribute("aria-label", f"Upvote ({before + 1})")
    assert page.evaluate("window.stillHere") is True

    page.reload()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(count).to_have_text(str(before + 1))

    button.click()  # take it back
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text(str(before))
    page.reload()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text(str(before))


# --- discussion --------------------------------------------------------------------------

MARKDOWN = (
    "The **quiet phase** shows up in our runs as well; "
    "[our notes](https://example.org/quiet-notes) have the plots."
)
REPLY = "Which learning-rate schedule did those runs use?"
HOSTILE = (
    "Hostile text: <script>window.__pwned=1</script> "
    '<img src=x onerror="window.__pwned=1"> '
    "[x](javascript:window.__pwned=1)"
)
# What a hostile comment would leave in the page if any of it became markup.
INJECTED = """(body) => ({
  pwned: typeof window.__pwned,
  elements: [...body.querySelectorAll("script, img, iframe, svg, object, embed")].length,
  handlers: [...body.querySelectorAll("*")].flatMap((el) =>
    [...el.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)),
  badLinks: [...document.querySelectorAll("[href], [src]")]
    .map((el) => el.getAttribute("href") || el.getAttribute("src"))
    .filter((url) => /^\\s*(javascript|data|vbscript):/i.test(url)),
})"""


def assert_inert(comment) -> None:
    body = comment.locator(".comment-body")
    found = body.evaluate(INJECTED)
    assert found == {"pwned": "undefined", "elements": 0, "handlers": [], "badLinks": []}
    text = body.inner_text()
    assert "<script>window.__pwned=1</script>" in text
    assert '<img src=x onerror="window.__pwned=1">' in text
    expect(body.locator("a[href]")).to_have_count(0)  # the javascript: link lost its address


def test_comment_in_markdown_reply_and_hostile_text_stays_text(site, page, shot, browser_log):
    sign_up(page, site, "chiara")
    page.goto(f"{site.url}/papers/")
    cards(page).nth(1).locator("h2 a").click()
    expect(page.locator("article.paper h1")).to_be_visible()
    total = page.locator("[data-comment-count]")
    before = int(total.inner_text())
    page.evaluate("window.stillHere = true")

    page.get_by_label("Your comment", exact=True).fill(MARKDOWN)
    page.get_by_role("button", name="Post comment").click()
    mine = page.locator("ol.comments > li.comment", has_text="quiet phase")
    expect(mine.locator(".comment-body strong")).to_have_text("quiet phase")
    link = mine.locator(".comment-body a")
    expect(link).to_have_text("our notes")
    expect(link).to_have_attribute("href", "https://example.org/quiet-notes")
    expect(link).to_have_attribute("rel", re.compile(r"\bnofollow\b"))
    expect(mine.locator(".comment-body")).not_to_contain_text("**")
    expect(mine.locator(".comment-meta a").first).to_have_text("chiara")
    expect(total).to_have_text(str(before + 1))
    expect(page.get_by_label("Your comment", exact=True)).to_have_value("")

    mine.locator("details.reply > summary").click()
    reply_box = mine.get_by_label("Your reply")
    expect(reply_box).to_be_focused()
    reply_box.fill(REPLY)
    mine.get_by_role("button", name="Reply", exact=True).click()
    reply = mine.locator("ol.replies > li.comment")
    expect(reply).to_have_count(1)
    expect(reply.locator(".comment-body")).to_have_text(REPLY)
    expect(total).to_have_text(str(before + 2))

    page.get_by_label("Your comment", exact=True).fill(HOSTILE)
    page.get_by_role("button", name="Post comment").click()
    hostile = page.locator("ol.comments > li.comment", has_text="Hostile text")
    expect(hostile).to_have_count(1)
    expect(total).to_have_text(str(before + 3))
    assert_inert(hostile)  # as site.js inserted it
    assert page.evaluate("window.stillHere") is True  # all of it in place

    page.reload()  # as the server renders it
    expect(mine.locator(".comment-body strong")).to_have_text("quiet phase")
    expect(mine.locator("ol.replies > li.comment .comment-body")).to_have_text(REPLY)
    assert_inert(hostile)
    expect(total).to_have_text(str(before + 3))
    mine.scroll_into_view_if_needed()
    shot(page, "paper-discussion")
    assert browser_log.dialogs == []


# --- submit, collect, claim --------------------------------------------------------------


def test_submit_collect_and_claim_a_paper(site, page, new_page, shot, browser_log):
    sign_up(page, site, "dalia")
    paper_path = f"/papers/{site.paper_id}"

    # Submit by arXiv link: the metadata comes from the (loopback) arXiv API.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Submit").click()
    expect(page.locator("h1")).to_have_text("Submit a paper")
    expect(page.locator("ul.rules")).to_contain_text("you have 5 left today")
    shot(page, "submit")
    page.get_by_label("arXiv id or link").fill(f"https://arxiv.org/abs/{site.paper_id}v1")
    page.locator("main").get_by_role("button", name="Submit").click()
    expect(page).to_have_url(site.url + paper_path)
    expect(messages(page)).to_have_text("Thank you: the paper is on today's list.")
    expect(page.locator("article.paper h1")).to_have_text(TITLE)
    expect(page.locator("p.authors")).to_have_text(", ".join(AUTHORS))
    expect(page.locator(".abstract")).to_contain_text("singular values of successive weight")
    requests = site.arxiv.requests_for("/api/query")
    assert len(requests) == 1 and site.paper_id in requests[0]["query"]["id_list"]

    page.goto(f"{site.url}/papers/")
    card = cards(page).filter(has=page.locator(f"h2 a[href='{paper_path}']"))
    expect(card.locator("h2")).to_have_text(TITLE)
    expect(card.locator("p.meta")).to_contain_text("submitted by dalia")
    expect(card.get_by_role("link", name="dalia")).to_have_attribute("href", "/users/dalia")

    page.goto(f"{site.url}/papers/submit")
    page.get_by_label("arXiv id or link").fill(site.paper_id)
    page.locator("main").get_by_role("button", name="Submit").click()
    error = page.locator("#submit-error")
    expect(error).to_have_text(f"{TITLE} is already on today's list. See the paper.")
    expect(error.get_by_role("link", name="See the paper")).to_have_attribute("href", paper_path)
    expect(page.get_by_label("arXiv id or link")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("ul.rules")).to_contain_text("you have 4 left today")
    assert len(site.arxiv.requests_for("/api/query")) == 1  # stored now: no second fetch

    # A public collection, started from the paper page with the paper in it.
    page.goto(site.url + paper_path)
    box = page.locator("section.collections-box")
    box.get_by_label("Name of a new collection with this paper").fill("Stopping rules")
    expect(box.get_by_label("public")).to_be_checked()
    box.get_by_role("button", name="Create and add").click()
    expect(page).to_have_url(f"{site.url}{paper_path}#collections")
    toggle = box.locator("form[data-collection-toggle] button", has_text="Stopping rules")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle.locator(".check")).to_have_text("✓")
    expect(box.locator("ul.collection-list")).to_have_text("Stopping rules by dalia")
    page.get_by_role("link", name="All your collections").click()
    expect(page.locator("ul.collection-list")).to_have_text("Stopping rules 1 paper")
    page.get_by_role("link", name="Stopping rules").click()
    collection_url = page.url
    assert re.fullmatch(rf"{site.url}/collections/\d+/stopping-rules", collection_url)
    expect(page.locator("h1")).to_have_text("Stopping rules")
    expect(page.locator("ol.collection-papers li")).to_have_count(1)
    expect(page.locator("ol.collection-papers a")).to_have_text(TITLE)
    shot(page, "collection")

    anonymous = new_page()
    response = anonymous.goto(collection_url)
    assert response.status == 200
    expect(anonymous.locator("h1")).to_have_text("Stopping rules")
    expect(anonymous.locator("p.meta")).to_contain_text("A collection by dalia")
    expect(anonymous.locator("ol.collection-papers a")).to_have_text(TITLE)
    expect(anonymous.locator("details.collection-settings")).to_have_count(0)

    page.locator("details.collection-settings > summary").click()
    page.get_by_label("Public: anyone with the link can see it").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(messages(page)).to_have_text("Collection saved.")
    expect(page.locator("p.meta")).to_contain_text("private")
    assert anonymous.goto(collection_url).status == 404
    assert anonymous.goto(site.url + paper_path).status == 200
    expect(anonymous.locator("section.collections-box")).not_to_contain_text("Stopping rules")

    # Claim authorship; a moderator approves it in the admin.
    page.goto(site.url + paper_path)
    page.get_by_text("Are you one of the authors?").click()
    page.get_by_label("I am").select_option(label="Rin Abernethy")
    page.get_by_role("button", name="Claim authorship").click()
    expect(messages(page)).to_have_text("Thank you: a moderator will check your claim.")
    claim = page.locator("section.claim")
    expect(claim).to_contain_text("You claimed to be Rin Abernethy on this paper: pending")
    expect(page.locator("p.authors a.verified")).to_have_count(0)

    site.server.manage(
        "shell",
        "-c",
        "from paperfeed.accounts.models import User; "
        f"User.objects.create_superuser('moderator', 'moderator@example.org', '{PASSWORD}')",
    )
    admin = new_page()
    admin.goto(f"{site.url}/admin/")
    admin.get_by_label("Username").fill("moderator")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_role("link", name="Author claims").click()
    row = admin.locator("#result_list tbody tr", has_text="dalia")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Rin Abernethy")
    row.locator("input.action-select").check()
    admin.locator("select[name=action]").select_option("approve")
    admin.locator("button[name=index]").click()
    expect(admin.locator("ul.messagelist")).to_contain_text("1 claim(s) approved.")
    expect(row).to_contain_text("Approved")

    page.reload()
    mark = page.locator("p.authors a.verified")
    expect(mark).to_have_count(1)
    expect(mark).to_have_attribute("href", "/users/dalia")
    expect(mark).to_have_attribute("title", "Verified author: dalia")
    marked = mark.evaluate("(a) => a.previousElementSibling.textContent")
    assert marked == "Rin Abernethy"  # the mark sits next to the claimed author
    expect(claim).to_contain_text("You claimed to be Rin Abernethy on this paper: verified.")

    mark.click()
    expect(page).to_have_url(f"{site.url}/users/dalia")
    expect(page.locator("h1")).to_have_text("dalia")
    verified = page.locator("section[aria-labelledby=authorships-heading]")
    expect(verified).to_contain_text(f"{TITLE} as Rin Abernethy")
    submitted = page.locator("section[aria-labelledby=submitted-heading]")
    expect(submitted.get_by_role("link", name=TITLE)).to_have_attribute("href", paper_path)
    collections = page.locator("section[aria-labelledby=collections-heading]")
    expect(collections).to_contain_text("Stopping rules 1 paper · private")
    shot(page, "profile")

    account_nav(page).get_by_role("link", name="Settings").click()
    expect(page.locator("h1")).to_have_text("Settings")
    claims = page.locator("section[aria-labelledby=claims-heading] tbody tr")
    expect(claims).to_have_count(1)
    expect(claims).to_contain_text(TITLE)
    expect(claims.locator("td.status-approved")).to_have_text("Approved")
    shot(page, "settings")
    opened_on_purpose(browser_log, (f"{site.url}/papers/submit", 400), (collection_url, 404))


def test_collection_toggle_on_the_paper_page_works_in_place(site, page, browser_log):
    sign_up(page, site, "emeka")
    page.goto(f"{site.url}/collections/")
    page.get_by_label("Name").fill("Later")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("Later")
    page.goto(f"{site.url}/papers/")
    cards(page).nth(2).locator("h2 a").click()
    toggle = page.locator("form[data-collection-toggle] button", has_text="Later")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_be_enabled()  # the request is over, whatever its answer
    pressed = toggle.get_attribute("aria-pressed")
    page.reload()
    stored = toggle.get_attribute("aria-pressed")
    # What went wrong shows here, with the problems and dialogs, rather than at teardown.
    problems, browser_log.errors = browser_log.errors, []
    dialogs, browser_log.dialogs = browser_log.dialogs, []
    assert (pressed, stored) == ("true", "true"), (problems, dialogs)
    assert problems == dialogs == []
