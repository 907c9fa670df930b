"""RSS 2.0 and Atom 1.0 feeds: every feed parses with feedparser (bozo 0) and passes the
structural checks below; conditional GET; hostile metadata stays text; bounded queries;
bad input; the private feed's secret URL.

No W3C validator runs offline, so `check_rss` and `check_atom` test these rules:

RSS 2.0 (the RSS 2.0 specification, rssboard.org, with the RSS Profile's advice):
  R1  root <rss version="2.0"> holding exactly one <channel>;
  R2  the channel has exactly one <title>, <link> and <description>, non-empty, and
      its link is an absolute http(s) URL;
  R3  optional channel elements (language, lastBuildDate, ttl) appear at most once;
  R4  every item has a title or a description (ours: title, link, description, guid
      and pubDate, each exactly once);
  R5  item links are absolute http(s) URLs; a guid that is a permalink (the default)
      is an absolute URL too;
  R6  guids are unique within the feed;
  R7  pubDate and lastBuildDate are RFC 822 dates: "Wed, 04 Dec 2024 17:00:00 +0000",
      four-digit year, numeric zone, and the weekday fits the date;
  R8  an enclosure, if any, has url, length and type, at most one per item;
  R9  dc:creator and atom:link are in their declared namespaces (a parser fails on an
      undeclared prefix), categories are not empty;
  R10 <atom:link rel="self"> names this feed's own absolute URL.

Atom 1.0 (RFC 4287):
  A1  root <feed> in the Atom namespace;
  A2  the feed has exactly one <id> (an absolute IRI), <title> and <updated>, at most
      one <subtitle>, a rel="self" link, at most one rel="alternate" link per type;
  A3  each entry has exactly one <id>, <title> and <updated>, at most one <published>,
      <summary> and <content>;
  A4  entry ids are absolute IRIs, unique within the feed;
  A5  each entry has an <author>, or the feed has one; each author has one <name>;
  A6  an entry without <content> has a rel="alternate" link;
  A7  dates are RFC 3339 date-times with a time zone ("Z" or +hh:mm);
  A8  text constructs have type text, html or xhtml;
  A9  links have an absolute href and a registered rel (alternate, related, self,
      enclosure, via);
  and, as our own rule, an entry is never updated before it was published.

Both: the response's Content-Type names the format and UTF-8, the XML declares UTF-8.
"""

from __future__ import annotations

import email.utils
import html
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest
from defusedxml.ElementTree import fromstring
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils.http import http_date
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperfeed.community.models import Collection, CollectionItem, Vote
from paperfeed.feeds import selectors, services
from paperfeed.feeds.models import FeedToken
from paperfeed.papers.demo import fill_demo
from paperfeed.papers.math import plain_text
from paperfeed.papers.models import Author, Listing, Paper
from paperfeed.papers.records import ListingInfo, PaperRecord, author_slug, validate
from paperfeed.papers.upsert import store_batch
from paperfeed.search import services as search_services

pytestmark = pytest.mark.django_db

BASE_URL = "https://papers.example.org"
ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
MONDAY, TUESDAY, WEDNESDAY = date(2024, 12, 2), date(2024, 12, 3), date(2024, 12, 4)
NOW = datetime(2024, 12, 4, 15, tzinfo=UTC)

# Invented papers: (id, title, authors, categories, listed on, upvotes). All made up here.
PAPERS = [
    ("2412.10001", r"Sparse Routing for $k$-Sparse Mixtures of Experts",
     ["Orla Fenwick", "Teodor Baptiste-Wren"], ["cs.LG", "stat.ML"], WEDNESDAY, 7),
    ("2412.10002", "Lattice Priors for Depth Completion", ["Sunniva Achterberg"], ["cs.CV"],
     WEDNESDAY, 12),
    ("2412.10003", "Gradient Noise as a Curriculum", ["Orla Fenwick"], ["cs.LG"], WEDNESDAY, 0),
    ("2412.10004", "Tokenizer Drift in Multilingual Pretraining",
     ["Emeka Lindqvist-Osei", "Orla Fenwick"], ["cs.CL", "cs.LG"], TUESDAY, 3),
    ("hep-th/9901002", "Folded Strings on a Toy Lattice", ["Ingrid Valmont"], ["hep-th"],
     TUESDAY, 1),
    ("2412.10006", "A Census of Collaboration Sizes", [f"Member {n:02d}" for n in range(30)],
     ["cs.DL"], TUESDAY, 2),
]  # fmt: skip
HOSTILE_ID = "2412.66609"
HOSTILE_TITLE = (
    "<script>alert(1)</script> Robust & <b>Bold</b> Learning ]]> <img src=x onerror=alert(2)>"
)
HOSTILE_ABSTRACT = (
    'We show "><svg onload=alert(3)> and <iframe src="javascript:alert(4)"></iframe> '
    "]]><x/> &amp; a formula $\\text{<img src=x onerror=alert(5)>}$ and {{7*7}}."
)
HOSTILE_AUTHORS = ["Mallory <img src=x onerror=alert(6)>", 'Trudy "><b>bold</b>']


def record(arxiv_id, title, authors, categories, listed_on, *, abstract=None, version=1):
    published = datetime.combine(listed_on - timedelta(days=2), datetime.min.time(), UTC)
    published += timedelta(hours=17)
    if arxiv_id.startswith("hep-th/"):
        published = datetime(1999, 1, 4, 20, 11, tzinfo=UTC)
    return validate(
        PaperRecord(
            arxiv_id=arxiv_id,
            version=version,
            title=title,
            abstract=abstract or f"We study {title.lower()} with made-up experiments.",
            authors=authors,
            categories=categories,
            published_at=published,
            updated_at=published + timedelta(days=version - 1),
            listing=ListingInfo(date=listed_on, source=Listing.Source.ANNOUNCEMENT),
            source="test",
            place=arxiv_id,
        )
    )


@pytest.fixture
def site(settings, monkeypatch):
    """The invented papers above, listed on two days, with upvotes; a fixed clock."""
    settings.PAPERFEED_BASE_URL = BASE_URL
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    records = [record(*row[:5]) for row in PAPERS]
    records.append(
        record(HOSTILE_ID, HOSTILE_TITLE, HOSTILE_AUTHORS, ["cs.CR"], WEDNESDAY,
               abstract=HOSTILE_ABSTRACT)
    )  # fmt: skip
    store_batch(records)
    for arxiv_id, *_, upvotes in PAPERS:
        Paper.objects.filter(arxiv_id=arxiv_id).update(upvotes=upvotes)
    return {p.arxiv_id: p for p in Paper.objects.all()}


@pytest.fixture
def member(site):
    """A member who upvoted two papers and keeps one in a private collection."""
    user = get_user_model().objects.create_user("ada", "ada@example.org", "pw-ada-1234")
    other = get_user_model().objects.create_user("bob", "bob@example.org", "pw-bob-1234")

    def at(hours_ago: int) -> dict:
        return {"created_at": NOW - timedelta(hours=hours_ago)}

    Vote.objects.bulk_create([
        Vote(user=user, paper=site["2412.10002"], **at(10)),
        Vote(user=user, paper=site["2412.10004"], **at(9)),
        Vote(user=other, paper=site["2412.10003"], **at(1)),  # not Ada's
    ])  # fmt: skip
    reading = Collection.objects.create(owner=user, name="To <read>", slug="to-read",
                                        is_public=False)  # fmt: skip
    CollectionItem.objects.bulk_create([
        CollectionItem(collection=reading, paper=site["2412.10004"]),
        CollectionItem(collection=reading, paper=site["hep-th/9901002"]),
    ])  # fmt: skip
    # auto_now_add ignores given values: date the items afterwards (the latest last).
    for hours_ago, item in zip((5, 4), CollectionItem.objects.order_by("id"), strict=True):
        CollectionItem.objects.filter(pk=item.pk).update(added_at=NOW - timedelta(hours=hours_ago))
    Vote.objects.filter(user=user, paper=site["2412.10002"]).update(**at(10))
    Vote.objects.filter(user=user, paper=site["2412.10004"]).update(**at(9))
    user.feed_token_value = services.new_private_feed_token(user)
    return user


def private_path(user, fmt="atom") -> str:
    return reverse("feeds:private", kwargs={"fmt": fmt, "token": user.feed_token_value})


# --- the checks ----------------------------------------------------------------------------

RFC822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"
)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
ATOM_RELS = {"alternate", "related", "self", "enclosure", "via"}


def is_absolute(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def rfc822(value: str) -> datetime:
    assert RFC822.fullmatch(value), value
    parsed = email.utils.parsedate_to_datetime(value)
    assert parsed.tzinfo is not None
    assert value[:3] == parsed.strftime("%a"), f"weekday does not fit {value}"
    return parsed


def rfc3339(value: str) -> datetime:
    assert RFC3339.fullmatch(value), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    return parsed


def one(parent, tag: str):
    found = parent.findall(tag)
    assert len(found) == 1, f"{len(found)} x {tag}"
    return found[0]


def at_most_one(parent, tag: str):
    found = parent.findall(tag)
    assert len(found) <= 1, f"{len(found)} x {tag}"
    return found[0] if found else None


def check_rss(body: bytes, url: str) -> list:
    """R1-R10 above; returns the items."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"  # R1
    channel = one(root, "channel")
    for tag in ("title", "link", "description"):  # R2
        assert one(channel, tag).text
    assert is_absolute(channel.findtext("link"))
    for tag in ("language", "lastBuildDate", "ttl"):  # R3
        at_most_one(channel, tag)
    rfc822(channel.findtext("lastBuildDate"))  # R7
    selves = [e for e in channel.findall(f"{{{ATOM}}}link") if e.get("rel") == "self"]
    assert len(selves) == 1 and selves[0].get("href") == url  # R10
    guids = []
    items = channel.findall("item")
    for item in items:
        for tag in ("title", "link", "description", "guid", "pubDate"):  # R4
            assert one(item, tag).text, tag
        assert is_absolute(item.findtext("link"))  # R5
        guid = item.find("guid")
        if guid.get("isPermaLink", "true") == "true":
            assert is_absolute(guid.text)
        guids.append(guid.text)
        rfc822(item.findtext("pubDate"))  # R7
        enclosures = item.findall("enclosure")  # R8
        assert len(enclosures) <= 1
        for enclosure in enclosures:
            assert {"url", "length", "type"} <= set(enclosure.attrib)
        assert all(c.text for c in item.findall("category"))  # R9
        assert all(c.text for c in item.findall(f"{{{DC}}}creator"))
    assert len(guids) == len(set(guids))  # R6
    return items


def check_atom(body: bytes, url: str) -> list:
    """A1-A9 above; returns the entries."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = fromstring(body)
    a = f"{{{ATOM}}}"
    assert root.tag == f"{a}feed"  # A1
    assert is_absolute(one(root, f"{a}id").text)  # A2
    assert one(root, f"{a}title").text
    rfc3339(one(root, f"{a}updated").text)
    at_most_one(root, f"{a}subtitle")
    links = root.findall(f"{a}link")
    assert [link.get("href") for link in links if link.get("rel") == "self"] == [url]
    alternates = [link.get("type") for link in links if link.get("rel") == "alternate"]
    assert len(alternates) == len(set(alternates))
    feed_has_author = bool(root.findall(f"{a}author"))
    ids = []
    entries = root.findall(f"{a}entry")
    for entry in entries:
        ids.append(one(entry, f"{a}id").text)  # A3
        assert one(entry, f"{a}title").text
        updated = rfc3339(one(entry, f"{a}updated").text)  # A7
        published = at_most_one(entry, f"{a}published")
        if published is not None:
            assert rfc3339(published.text) <= updated
        at_most_one(entry, f"{a}summary")
        content = at_most_one(entry, f"{a}content")
        authors = entry.findall(f"{a}author")  # A5
        assert authors or feed_has_author
        for author in authors:
            assert one(author, f"{a}name").text
        rels = [link.get("rel", "alternate") for link in entry.findall(f"{a}link")]
        assert content is not None or "alternate" in rels  # A6
        assert set(rels) <= ATOM_RELS  # A9
        for link in entry.findall(f"{a}link"):
            assert is_absolute(link.get("href"))
        for element in entry:  # A8
            assert element.get("type", "text") in {"text", "html", "xhtml"} or element.tag == (
                f"{a}link"
            )
    assert all(is_absolute(i) for i in ids) and len(ids) == len(set(ids))  # A4
    for author in root.findall(f"{a}author"):
        assert one(author, f"{a}name").text
    return entries


def fetch(client, path: str, *, canonical: str | None = None):
    """GET a feed; check status, headers, feedparser (bozo 0) and the format's rules.
    The feed names itself by `canonical` (default: the path fetched)."""
    response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    fmt = path.split("?")[0].rsplit(".", 1)[1]
    assert response["Content-Type"] == f"application/{fmt}+xml; charset=utf-8"
    assert response["ETag"] and response["Cache-Control"]
    parsed = feedparser.parse(
        response.content,
        sanitize_html=False,
        response_headers={"content-type": response["Content-Type"]},
    )
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if fmt == "rss" else "atom10")
    url = BASE_URL + iri_to_uri(canonical or path)
    check = check_rss if fmt == "rss" else check_atom
    check(response.content, url)
    return response, parsed


class Markup(HTMLParser):
    """The tags and text of an HTML fragment."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def shown_text(detail) -> str:
    """What a reader shows for a feedparser text construct: HTML is rendered (and must
    hold no tags at all here), plain text is shown as it is."""
    if detail.type == "text/html":
        markup = Markup(detail.value)
        assert markup.tags == [], markup.tags
        return "".join(markup.text)
    assert detail.type == "text/plain", detail.type
    return detail.value


# --- every feed --------------------------------------------------------------------------

FEEDS = [
    "/feeds/daily.{fmt}",
    "/feeds/daily/2024-12-03.{fmt}",
    "/feeds/trending.{fmt}",
    "/feeds/trending.{fmt}?age=all",
    "/feeds/category/cs.LG.{fmt}",
    "/feeds/search.{fmt}?q=lattice",
    "/feeds/authors/orla-fenwick.{fmt}",
    "private",
]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize("feed", FEEDS)
def test_every_feed_parses_and_validates(client, member, feed, fmt):
    path = private_path(member, fmt) if feed == "private" else feed.format(fmt=fmt)
    _, parsed = fetch(client, path)
    assert parsed.entries, "every feed has entries with this data"
    assert all(entry.link.startswith(f"{BASE_URL}/papers/") for entry in parsed.entries)
    # The feed links back to its page and to itself, absolutely.
    assert parsed.feed.link.startswith(BASE_URL)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_daily_feed_is_the_latest_day_in_page_order(client, site, fmt):
    _, parsed = fetch(client, f"/feeds/daily.{fmt}")
    assert [e.link.rsplit("/papers/", 1)[1] for e in parsed.entries] == [
        "2412.10002", "2412.10001", "2412.10003", HOSTILE_ID,
    ]  # fmt: skip
    _, dated = fetch(client, f"/feeds/daily/{TUESDAY}.{fmt}")
    assert [e.link.rsplit("/papers/", 1)[1] for e in dated.entries] == [
        "2412.10004", "2412.10006", "hep-th/9901002",
    ]  # fmt: skip
    assert "3 December 2024" in dated.feed.title
    _, empty = fetch(client, f"/feeds/daily/2020-01-01.{fmt}")
    assert empty.entries == []


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_items_carry_plain_titles_links_dates_authors_and_categories(client, site, fmt):
    paper = site["2412.10001"]
    _, parsed = fetch(client, f"/feeds/daily.{fmt}")
    entry = next(e for e in parsed.entries if e.link.endswith("/2412.10001"))
    assert shown_text(entry.title_detail) == "Sparse Routing for k-Sparse Mixtures of Experts"
    assert entry.link == f"{BASE_URL}/papers/2412.10001"
    assert entry.id == entry.link  # stable: the paper page's URL
    assert [a["name"] for a in entry.authors] == ["Orla Fenwick", "Teodor Baptiste-Wren"]
    assert [t.term for t in entry.tags] == ["cs.LG", "stat.ML"]
    body = Markup(entry.summary)
    assert plain_text(paper.abstract) in "".join(body.text)
    hrefs = [attrs["href"] for tag, attrs in body.tags if tag == "a"]
    assert hrefs == [entry.link, paper.abs_url, paper.pdf_url]
    raw = client.get(f"/feeds/daily.{fmt}").content.decode()
    if fmt == "rss":
        assert "<pubDate>Mon, 02 Dec 2024 17:00:00 +0000</pubDate>" in raw
    else:
        assert "<published>2024-12-02T17:00:00+00:00</published>" in raw
        assert (
            f'<link href="{paper.pdf_url}" rel="related" title="PDF" type="application/pdf"/>'
            in raw
        )
    # A paper with many authors lists the first 25 and says how many more.
    _, tuesday = fetch(client, f"/feeds/daily/{TUESDAY}.{fmt}")
    census = next(e for e in tuesday.entries if e.link.endswith("/2412.10006"))
    assert len(census.authors) == 25
    assert "Member 24 and 5 more" in census.summary


def test_dates_are_those_of_the_paper_and_the_feed_is_dated_by_its_changes(client, site):
    paper = site["2412.10004"]
    Paper.objects.filter(pk=paper.pk).update(updated_at=datetime(2024, 12, 3, 9, 30, tzinfo=UTC))
    _, parsed = fetch(client, f"/feeds/daily/{TUESDAY}.atom")
    entry = next(e for e in parsed.entries if e.link.endswith("/2412.10004"))
    assert entry.published == "2024-12-01T17:00:00+00:00"
    assert entry.updated == "2024-12-03T09:30:00+00:00"
    stamps = Listing.objects.filter(date=TUESDAY).values_list("created_at", "paper__modified_at")
    newest = max(max(row) for row in stamps)
    assert rfc3339(parsed.feed.updated) == newest.replace(microsecond=newest.microsecond)


# --- hostile metadata ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize(
    "feed",
    [
        "/feeds/daily.{fmt}",
        "/feeds/category/cs.CR.{fmt}",
        "/feeds/search.{fmt}?q=robust",
        "/feeds/authors/{author}.{fmt}",
    ],
)
def test_hostile_metadata_comes_out_as_text(client, site, feed, fmt):
    author = author_slug(HOSTILE_AUTHORS[1])
    response, parsed = fetch(client, feed.format(fmt=fmt, author=author))
    for markup in (b"<script", b"<img", b"<svg", b"<iframe", b"<b>", b"<x/>", b"<p>"):
        assert markup not in response.content  # only ever escaped in the XML
    entry = next(e for e in parsed.entries if e.link.endswith(HOSTILE_ID))
    assert shown_text(entry.title_detail) == " ".join(plain_text(HOSTILE_TITLE).split())
    assert [a["name"] for a in entry.authors] == HOSTILE_AUTHORS
    summary = Markup(entry.summary)
    assert {tag for tag, _ in summary.tags} <= {"p", "a"}
    for tag, attrs in summary.tags:
        assert set(attrs) == ({"href"} if tag == "a" else set())
        assert tag != "a" or attrs["href"].startswith("https://")
    assert " ".join(plain_text(HOSTILE_ABSTRACT).split()) in "".join(summary.text)


# --- conditional GET ------------------------------------------------------------------------


@pytest.mark.parametrize("feed", FEEDS)
def test_conditional_get_answers_304_without_building_items(client, member, feed):
    path = private_path(member) if feed == "private" else feed.format(fmt="atom")
    with CaptureQueriesContext(connection) as full:
        first = client.get(path)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    with CaptureQueriesContext(connection) as cheap:
        again = client.get(path, headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    if "search" in path:  # the search itself loads the papers: a 304 saves the rendering
        assert len(cheap) == len(full)
    else:  # the papers are not loaded for a 304
        assert len(cheap) < len(full)
    if "Last-Modified" in first:
        since = client.get(path, headers={"if-modified-since": first["Last-Modified"]})
        assert since.status_code == 304
    assert client.get(path, headers={"if-none-match": '"stale"'}).status_code == 200


def test_validators_change_with_the_content(client, site):
    path = "/feeds/daily.atom"
    first = client.get(path)
    assert first["Last-Modified"] == http_date(
        max(max(r) for r in Listing.objects.filter(date=WEDNESDAY).values_list(
            "created_at", "paper__modified_at")).timestamp()
    )  # fmt: skip
    # A vote that reorders the list changes the ETag (the items are the same).
    Paper.objects.filter(arxiv_id="2412.10003").update(upvotes=50)
    reordered = client.get(path, headers={"if-none-match": first["ETag"]})
    assert reordered.status_code == 200 and reordered["ETag"] != first["ETag"]
    # A new version of a paper changes both validators.
    later = NOW + timedelta(hours=1)
    Paper.objects.filter(arxiv_id="2412.10001").update(
        title="Sparse Routing, v2", modified_at=later
    )
    changed = client.get(path, headers={"if-none-match": reordered["ETag"]})
    assert changed.status_code == 200 and b"Sparse Routing, v2" in changed.content
    assert changed["Last-Modified"] == http_date(later.timestamp())
    # The other format of the same feed has its own ETag.
    assert client.get("/feeds/daily.rss")["ETag"] != changed["ETag"]


# --- bounded work ---------------------------------------------------------------------------

QUERY_BOUNDS = {
    "/feeds/daily.atom?limit=200": 3,  # latest day, window, papers
    "/feeds/trending.atom?age=all&limit=200": 3,  # ranking, stamps, papers
    "/feeds/category/cs.LG.atom?limit=200": 2,  # window, papers
    "/feeds/search.atom?q=study&limit=200": 4,  # the search engine's queries, papers
    "/feeds/authors/{author}.atom?limit=200": 3,  # author, window, papers
    "private": 4,  # token, votes, collection items, papers
}


@pytest.mark.parametrize("feed", QUERY_BOUNDS)
def test_feeds_do_a_bounded_number_of_queries(client, settings, feed):
    settings.PAPERFEED_BASE_URL = BASE_URL
    fill_demo(days=2, per_day=120, users=10)
    user = get_user_model().objects.get(username="demo1")
    shelf = Collection.objects.create(owner=user, name="Shelf", slug="shelf")
    for paper in Paper.objects.all()[:80]:
        CollectionItem.objects.create(collection=shelf, paper=paper)
    author = max(Author.objects.all(), key=lambda a: a.authorships.count())
    user.feed_token_value = services.new_private_feed_token(user)
    path = private_path(user) if feed == "private" else feed.format(author=author.slug)
    with CaptureQueriesContext(connection) as queries:
        response, parsed = fetch(client, path)
    assert len(parsed.entries) >= (5 if "authors" in feed else 20)
    assert len(queries) <= QUERY_BOUNDS[feed], [q["sql"][:150] for q in queries]


def test_limits(client, settings):
    settings.PAPERFEED_BASE_URL = BASE_URL
    fill_demo(days=3, per_day=90, users=2)
    count = lambda path: len(feedparser.parse(client.get(path).content).entries)  # noqa: E731
    assert count("/feeds/trending.atom?age=all") == selectors.DEFAULT_LIMIT
    assert count("/feeds/trending.atom?age=all&limit=7") == 7
    assert count("/feeds/trending.atom?age=all&limit=100000") == selectors.MAX_LIMIT
    assert count("/feeds/trending.atom?age=all&limit=0") == 1
    assert count("/feeds/trending.rss?age=all&limit=lots") == selectors.DEFAULT_LIMIT
    assert count("/feeds/search.atom?q=study&limit=500") == search_services.MAX_LIMIT
    # The feed names itself with the limit it used.
    _, parsed = fetch(client, "/feeds/trending.atom?age=all&limit=7")
    assert parsed.feed.id == f"{BASE_URL}/feeds/trending.atom?age=all&limit=7"


# --- the feeds' contents ------------------------------------------------------------------


def test_trending_feed_follows_the_page_and_its_age(client, site):
    Listing.objects.create(paper=site["2412.10006"], date=date(2024, 11, 1), source="hf")
    Listing.objects.filter(paper=site["2412.10006"], date=TUESDAY).delete()
    page = client.get("/papers/trending").content.decode()
    _, parsed = fetch(client, "/feeds/trending.rss")
    shown = [e.link.removeprefix(BASE_URL) for e in parsed.entries]
    positions = [page.index(f'href="{path}"') for path in shown]
    assert positions == sorted(positions) and "/papers/2412.10006" not in shown
    _, everything = fetch(client, "/feeds/trending.rss?age=all")
    assert f"{BASE_URL}/papers/2412.10006" in [e.link for e in everything.entries]
    assert "past week" in parsed.feed.title and "all time" in everything.feed.title
    # An unknown age falls back to a week, as the page does, and the feed says so.
    _, fallback = fetch(
        client, "/feeds/trending.atom?age=forever", canonical="/feeds/trending.atom"
    )
    assert fallback.feed.link == f"{BASE_URL}/papers/trending?age=week"


def test_category_feed_spans_days_newest_first_and_lists_each_paper_once(client, site):
    # 2412.10004 (cs.LG, listed Tuesday) is listed again on Wednesday.
    Listing.objects.create(paper=site["2412.10004"], date=WEDNESDAY, source="submission")
    _, parsed = fetch(client, "/feeds/category/cs.LG.atom")
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries] == [
        "2412.10001", "2412.10004", "2412.10003",
    ]  # fmt: skip
    assert parsed.feed.link == f"{BASE_URL}/papers/?cat=cs.LG"
    # A category that is never primary here still has the papers cross-listed in it.
    _, cross = fetch(client, "/feeds/category/stat.ML.rss")
    assert [e.link.rsplit("/", 1)[1] for e in cross.entries] == ["2412.10001"]
    # One in PAPERFEED_CATEGORIES without papers yet: a valid, empty feed.
    _, configured = fetch(client, "/feeds/category/cs.AI.rss")
    assert configured.entries == []


def test_search_feed_is_the_search_with_its_filters(client, site):
    _, parsed = fetch(client, "/feeds/search.atom?q=lattice")
    assert {e.link.rsplit("/papers/", 1)[1] for e in parsed.entries} == {
        "2412.10002", "hep-th/9901002",
    }  # fmt: skip
    # Newest first by default (a feed is read as a stream of new matches).
    assert parsed.entries[0].link.endswith("2412.10002")
    _, filtered = fetch(client, "/feeds/search.atom?q=lattice&cat=hep-th")
    assert [e.link.rsplit("/papers/", 1)[1] for e in filtered.entries] == ["hep-th/9901002"]
    _, dated = fetch(client, "/feeds/search.atom?q=lattice&from=2024-12-01&to=2024-12-31")
    assert [e.link.rsplit("/papers/", 1)[1] for e in dated.entries] == ["2412.10002"]
    _, syntax = fetch(client, "/feeds/search.rss?q=ti%3Alattice+-depth")
    assert [e.link.rsplit("/papers/", 1)[1] for e in syntax.entries] == ["hep-th/9901002"]
    # Same papers, same order as the search function the page calls.
    result = search_services.search("orla fenwick", sort="relevance", limit=50)
    _, relevance = fetch(client, "/feeds/search.atom?q=orla+fenwick&sort=relevance")
    assert [e.link for e in relevance.entries] == [
        BASE_URL + p.get_absolute_url() for p in result.papers
    ]
    # An arXiv id or URL names one paper.
    _, by_id = fetch(client, "/feeds/search.atom?q=https%3A%2F%2Farxiv.org%2Fabs%2F2412.10003v1")
    assert [e.link for e in by_id.entries] == [f"{BASE_URL}/papers/2412.10003"]


def test_author_feed_lists_the_authors_papers_newest_first(client, site):
    _, parsed = fetch(client, "/feeds/authors/orla-fenwick.rss")
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries] == [
        "2412.10003", "2412.10001", "2412.10004",  # equal dates: the later id first
    ]  # fmt: skip
    assert parsed.feed.title.endswith("papers by Orla Fenwick")


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/feeds/category/xx.NOPE.atom", 404),
        ("/feeds/category/<script>.atom", 404),
        ("/feeds/authors/nobody-at-all.rss", 404),
        ("/feeds/daily/2024-13-45.atom", 404),
        ("/feeds/daily/yesterday.atom", 404),
        ("/feeds/daily.json", 404),
        ("/feeds/private/not-a-token-but-long-enough.atom", 404),
        ("/feeds/search.atom", 400),
        ("/feeds/search.atom?q=", 400),
        ("/feeds/search.rss?q=+++", 400),
        ("/feeds/search.atom?q=" + "a" * 501, 400),
    ],
)
def test_bad_requests_are_clear_errors(client, site, path, status):
    response = client.get(path)
    assert response.status_code == status
    if status == 400:
        assert response["Content-Type"].startswith("text/plain")
        assert b"quer" in response.content


@pytest.mark.parametrize(
    "query",
    ['"', "-", 'ti:"', "OR OR", "cat:", "cat:nonsense", "au:-x", "NEAR(a b", "*", "\x00",
     "\x0b\x1f", "\u202e evil", "注意 attention", "]]>", "<script>", "a" * 500,
     "2412.99999", "https://arxiv.org/abs/"],
)  # fmt: skip
def test_odd_search_queries_give_valid_feeds(client, site, query):
    for fmt in ("rss", "atom"):
        response = client.get(f"/feeds/search.{fmt}", {"q": query, "from": "nope", "sort": "?"})
        if response.status_code == 400:  # only blank queries
            assert not query.strip()
            continue
        self_link = fromstring(response.content).find(f".//{{{ATOM}}}link[@rel='self']")
        assert self_link.get("href").startswith(f"{BASE_URL}/feeds/search.{fmt}?q=")
        path = response.request["PATH_INFO"] + "?" + response.request["QUERY_STRING"]
        fetch(client, path, canonical=self_link.get("href").removeprefix(BASE_URL))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=60))
def test_random_search_feeds_never_fail(client, site, query):
    response = client.get("/feeds/search.atom", {"q": query})
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")


def test_feeds_only_answer_reads(client, site):
    assert client.post("/feeds/daily.atom").status_code == 405
    assert client.head("/feeds/daily.atom").status_code == 200


# --- the private feed -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_private_feed_has_the_members_votes_and_collections_newest_first(client, member, fmt):
    response, parsed = fetch(client, private_path(member, fmt))
    assert [e.link.rsplit("/papers/", 1)[1] for e in parsed.entries] == [
        "hep-th/9901002", "2412.10004", "2412.10002",
    ]  # fmt: skip
    reasons = [Markup(e.summary).text[0] for e in parsed.entries]
    assert reasons == [
        "In your collection “To <read>”",
        "You upvoted it · In your collection “To <read>”",
        "You upvoted it",
    ]
    # When it was collected or upvoted dates the item.
    assert parsed.entries[0].published_parsed[:4] == (NOW - timedelta(hours=4)).timetuple()[:4]
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"
    assert not client.cookies  # no session: the token alone opens it


def test_private_feed_needs_its_token_and_a_new_one_revokes_the_old(client, member):
    old = private_path(member)
    assert client.get(old).status_code == 200
    assert client.get(old.replace(member.feed_token_value[:8], "x" * 8)).status_code == 404
    client.force_login(member)
    settings_page = client.get("/settings").content.decode()
    assert f"{BASE_URL}{old}" in settings_page and 'id="feeds"' in settings_page
    assert client.post("/feeds/private", {"action": "new"}).url == "/settings#feeds"
    new_token = FeedToken.objects.get(user=member).token
    assert new_token != member.feed_token_value
    client.logout()
    assert client.get(old).status_code == 404
    new = reverse("feeds:private", kwargs={"fmt": "rss", "token": new_token})
    assert client.get(new).status_code == 200
    # Turning it off closes every address; an inactive member's feed is closed too.
    client.force_login(member)
    turned_off = client.post("/feeds/private", {"action": "off"}, follow=True)
    assert "no longer works" in turned_off.content.decode()
    assert client.get(new).status_code == 404
    member.feed_token_value = services.new_private_feed_token(member)
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    assert client.get(private_path(member)).status_code == 404


def test_private_feed_address_is_made_only_by_its_member(client, member):
    client.logout()
    assert client.post("/feeds/private", {"action": "new"}).url.startswith("/accounts/login")
    assert not FeedToken.objects.exclude(user=member).exists()
    other = get_user_model().objects.get(username="bob")
    client.force_login(other)
    assert client.get("/feeds/private").status_code == 405  # made by a POST only
    body = client.get("/settings").content.decode()
    assert "Make my private feed address" in body and "/feeds/private/" not in body


# --- links from pages -------------------------------------------------------------------------


ALTERNATE = re.compile(
    r'<link rel="alternate" type="application/(rss|atom)\+xml" title="[^"]*" href="([^"]+)">'
)


def alternates(body: str) -> list[tuple[str, str]]:
    return ALTERNATE.findall(body)


def test_pages_link_their_feeds(client, site):
    cases = {
        "/papers/": ["/feeds/daily.atom", "/feeds/daily.rss"],
        f"/papers/date/{TUESDAY}": ["/feeds/daily.atom", "/feeds/daily.rss"],
        "/papers/?cat=cs.LG": ["/feeds/category/cs.LG.atom", "/feeds/category/cs.LG.rss",
                               "/feeds/daily.atom", "/feeds/daily.rss"],
        "/papers/trending?age=month": ["/feeds/trending.atom?age=month",
                                       "/feeds/trending.rss?age=month"],
        "/authors/orla-fenwick": ["/feeds/authors/orla-fenwick.atom",
                                  "/feeds/authors/orla-fenwick.rss"],
        "/search?q=lattice&cat=hep-th&from=1999-01-01": [
            "/feeds/search.atom?q=lattice&cat=hep-th&from=1999-01-01",
            "/feeds/search.rss?q=lattice&cat=hep-th&from=1999-01-01"],
    }  # fmt: skip
    for page, feeds in cases.items():
        body = client.get(page).content.decode()
        found = [html.unescape(href) for _, href in alternates(body)]
        assert found == feeds, page
        # The visible links name the first feed, and every link works.
        assert f'href="{html.escape(feeds[1])}" type="application/rss+xml">RSS</a>' in body
        for feed in found:
            fetch(client, feed)
    assert alternates(client.get("/search").content.decode()) == []
