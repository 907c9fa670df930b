"""RSS 2.0 and Atom 1.0 feeds of papers, on Django's syndication framework.

Each feed class reads its request into a `FeedPage` (titles, links and the selectors'
`Window`), once per request: views.py checks the ETag and Last-Modified from it before
any item is built, and the framework renders the same page. docs/feeds.md has the URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html, format_html_join

from paperfeed.feeds import selectors
from paperfeed.papers import selectors as paper_selectors
from paperfeed.papers.math import plain_text
from paperfeed.search.backends.base import SORTS
from paperfeed.search.query import MAX_QUERY_CHARS

# Part of every ETag: bump it when the markup of items changes, so that readers refetch.
MARKUP_VERSION = 1
DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"
# The date of a feed with no entries: fixed, so that its body (and ETag) stays the same.
NOTHING_YET = datetime(1970, 1, 1, tzinfo=UTC)
MAX_AUTHORS = 25  # per item; collaborations list thousands
TRENDING_LABELS = {"week": "past week", "month": "past month", "all": "all time"}
# Characters XML 1.0 cannot carry at all; the database may hold them (admin edits).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class BadFeedRequest(Exception):
    """A request no feed can answer; views.py sends the message with a 400."""


def text(value: str) -> str:
    """One line of plain text that XML can carry: spacing collapsed, controls dropped."""
    return " ".join(NOT_XML.sub("", value or "").split())


def absolute(path: str) -> str:
    return settings.PAPERFEED_BASE_URL.rstrip("/") + path


def parse_limit(request: HttpRequest) -> int:
    """?limit=N, kept within 1..MAX_LIMIT; anything else is the default."""
    try:
        limit = int(request.GET.get("limit", selectors.DEFAULT_LIMIT))
    except ValueError:
        return selectors.DEFAULT_LIMIT
    return max(1, min(limit, selectors.MAX_LIMIT))


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- the two formats --------------------------------------------------------------------


class RssFeed(Rss201rev2Feed):
    """RSS 2.0 with one <dc:creator> per author, and the channel dated by its window."""

    def rss_attributes(self) -> dict:
        return {**super().rss_attributes(), "xmlns:dc": DUBLIN_CORE}

    def latest_post_date(self) -> datetime:
        return self.feed["updated"]

    def add_item_elements(self, handler, item) -> None:
        super().add_item_elements(handler, item)
        for name in item["authors"]:
            handler.addQuickElement("dc:creator", name)


class AtomFeed(Atom1Feed):
    """Atom 1.0 with one <author> per author and a related link to the PDF."""

    def latest_post_date(self) -> datetime:
        return self.feed["updated"]

    def add_item_elements(self, handler, item) -> None:
        super().add_item_elements(handler, item)
        for name in item["authors"]:
            handler.startElement("author", {})
            handler.addQuickElement("name", name)
            handler.endElement("author")
        pdf = {"rel": "related", "type": "application/pdf", "title": "PDF"}
        handler.addQuickElement("link", "", {**pdf, "href": item["pdf_url"]})


FORMATS = {"rss": RssFeed, "atom": AtomFeed}


# --- the feeds --------------------------------------------------------------------------


@dataclass(slots=True)
class FeedPage:
    """What one request's feed is: its words, its links and its window of entries."""

    title: str
    description: str
    link: str  # the matching HTML page
    url: str  # this feed, with its parameters in a fixed order
    window: selectors.Window
    private: bool = False


class PaperFeed(Feed):
    """The items, dates, ids and escaping every paper feed shares; subclasses only say
    what is in the feed (`page`)."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.feed_type = FORMATS[fmt]

    def page(self, request: HttpRequest, **kwargs) -> FeedPage:
        raise NotImplementedError

    def page_for(self, request: HttpRequest, **kwargs) -> FeedPage:
        """The request's page, made once: the validators and the body share it."""
        page = getattr(request, "feed_page", None)
        if page is None:
            page = request.feed_page = self.page(request, **kwargs)
        return page

    def _url(self, name: str, query: Sequence[tuple[str, str]] = (), **kwargs) -> str:
        path = reverse(f"feeds:{name}", kwargs={"fmt": self.fmt, **kwargs})
        return absolute(path + (f"?{urlencode(query)}" if query else ""))

    def _limit_query(self, request: HttpRequest) -> list[tuple[str, str]]:
        limit = parse_limit(request)
        return [("limit", str(limit))] if limit != selectors.DEFAULT_LIMIT else []

    # Conditional GET (views.py): from the window, before any item is built.

    def etag(self, request: HttpRequest, **kwargs) -> str:
        page = self.page_for(request, **kwargs)
        identity = (MARKUP_VERSION, self.fmt, page.url, page.title, page.description)
        return page.window.version(*identity)

    def last_modified(self, request: HttpRequest, **kwargs) -> datetime | None:
        return self.page_for(request, **kwargs).window.last_modified

    def __call__(self, request: HttpRequest, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        # Last-Modified comes from the window, like the ETag (views.py sets both); the
        # framework's own, from the items' dates, could contradict it.
        response.headers.pop("Last-Modified", None)
        return response

    # The channel.

    def get_object(self, request: HttpRequest, **kwargs) -> FeedPage:
        page = self.page_for(request, **kwargs)
        page.window.entries = selectors.load_papers(page.window.entries)
        return page

    def _words(self, value: str) -> str:
        # Readers take RSS titles as HTML or as text, as they please: escaped, no reader
        # turns them into markup (a plain-text one may show "&amp;" for "&"). Atom says
        # outright that these are text.
        return html.escape(text(value), quote=False) if self.fmt == "rss" else text(value)

    def title(self, page: FeedPage) -> str:
        return self._words(page.title)

    def subtitle(self, page: FeedPage) -> str:
        return self._words(page.description)

    def description(self, page: FeedPage) -> str:
        return self._words(page.description)

    def link(self, page: FeedPage) -> str:
        return page.link

    def feed_url(self, page: FeedPage) -> str:
        return page.url

    def feed_guid(self, page: FeedPage) -> str:
        return page.url

    def author_name(self, page: FeedPage) -> str:
        return settings.PAPERFEED_SITE_NAME

    def feed_extra_kwargs(self, page: FeedPage) -> dict:
        return {"updated": page.window.last_modified or NOTHING_YET}

    def items(self, page: FeedPage) -> list[selectors.Entry]:
        return page.window.entries

    # The items.

    def item_title(self, entry: selectors.Entry) -> str:
        return self._words(plain_text(entry.paper.title))

    def item_link(self, entry: selectors.Entry) -> str:
        return absolute(entry.paper.get_absolute_url())

    # The paper page's URL is stable and unique per paper: ids repeat across feeds on
    # purpose, so a reader that follows two feeds sees one paper once.
    def item_guid(self, entry: selectors.Entry) -> str:
        return self.item_link(entry)

    item_guid_is_permalink = True

    def item_description(self, entry: selectors.Entry) -> str:
        """HTML: why it is there (private feed), the abstract, authors and links, every
        piece of paper metadata escaped, so that it shows as text."""
        paper = entry.paper
        parts = []
        if entry.reasons:
            parts.append(format_html("<p><em>{}</em></p>", " · ".join(entry.reasons)))
        if paper.abstract:
            parts.append(format_html("<p>{}</p>", text(plain_text(paper.abstract))))
        names = self._authors(entry)
        if names:
            more = len(paper.author_names) - len(names)
            shown = ", ".join(names) + (f" and {more} more" if more > 0 else "")
            parts.append(format_html("<p>{}</p>", shown))
        links = [("Paper page", self.item_link(entry)), ("arXiv", paper.abs_url)]
        links.append(("PDF", paper.pdf_url))
        parts.append(
            format_html("<p>{}</p>", format_html_join(" · ", '<a href="{1}">{0}</a>', links))
        )
        return "".join(parts)

    def _authors(self, entry: selectors.Entry) -> list[str]:
        names = (text(name) for name in entry.paper.author_names[:MAX_AUTHORS])
        return [name for name in names if name]

    def item_pubdate(self, entry: selectors.Entry) -> datetime:
        paper = entry.paper
        return entry.when or paper.published_at or paper.created_at

    def item_updateddate(self, entry: selectors.Entry) -> datetime:
        paper = entry.paper
        return max(d for d in (entry.when, paper.updated_at, self.item_pubdate(entry)) if d)

    def item_categories(self, entry: selectors.Entry) -> list[str]:
        return [name for name in (text(c) for c in entry.paper.categories) if name]

    def item_extra_kwargs(self, entry: selectors.Entry) -> dict:
        return {"authors": self._authors(entry), "pdf_url": entry.paper.pdf_url}


class DailyFeed(PaperFeed):
    """The daily list: the latest day that has papers, or a given date."""

    def page(self, request: HttpRequest, day: str | None = None) -> FeedPage:
        limit = parse_limit(request)
        site = settings.PAPERFEED_SITE_NAME
        if day is None:
            shown = paper_selectors.latest_list_date()
            link, url = reverse("papers:today"), self._url("daily", self._limit_query(request))
            title = f"{site}: daily papers"
        else:
            try:
                shown = date.fromisoformat(day)
            except ValueError as exc:
                raise Http404("Dates look like 2024-12-04.") from exc
            link = reverse("papers:date", args=[shown.isoformat()])
            url = self._url("daily-date", self._limit_query(request), day=shown.isoformat())
            title = f"{site}: papers of {shown:%-d %B %Y}"
        listed = f"listed on {shown:%A %-d %B %Y}" if shown else "listed on the latest day"
        return FeedPage(
            title=title,
            description=f"The papers {listed}, most upvoted first.",
            link=absolute(link),
            url=url,
            window=selectors.daily(shown, limit),
        )


class TrendingFeed(PaperFeed):
    """Trending, as on /papers/trending, with its maximum age (?age=week|month|all)."""

    def page(self, request: HttpRequest) -> FeedPage:
        age = request.GET.get("age", "week")
        if age not in paper_selectors.TRENDING_WINDOWS:
            age = "week"  # as the page does
        label = TRENDING_LABELS.get(age, age)
        query = [("age", age)] if age != "week" else []
        query += self._limit_query(request)
        return FeedPage(
            title=f"{settings.PAPERFEED_SITE_NAME}: trending papers ({label})",
            description=f"The papers with the most attention for their age, {label}.",
            link=absolute(reverse("papers:trending") + f"?age={age}"),
            url=self._url("trending", query),
            window=selectors.trending(age, parse_limit(request)),
        )


class CategoryFeed(PaperFeed):
    """The latest papers listed in one category."""

    def page(self, request: HttpRequest, category: str) -> FeedPage:
        window = selectors.category(category, parse_limit(request))
        if not window.entries and not selectors.category_exists(category):
            raise Http404("No papers in that category here.")
        return FeedPage(
            title=f"{settings.PAPERFEED_SITE_NAME}: papers in {category}",
            description=(
                f"Papers listed in {category}, the latest list day first, "
                "most upvoted first within a day."
            ),
            link=absolute(reverse("papers:today") + "?" + urlencode({"cat": category})),
            url=self._url("category", self._limit_query(request), category=category),
            window=window,
        )


class SearchFeed(PaperFeed):
    """Any search, with the search page's syntax and filters; newest first unless
    ?sort= says otherwise."""

    def page(self, request: HttpRequest) -> FeedPage:
        text_query = request.GET.get("q", "").strip()
        if not text_query:
            raise BadFeedRequest(
                "A search feed needs a query, e.g. /feeds/search.atom?q=diffusion "
                '(the search page\'s syntax: ti:, au:, cat:, "phrases", -word, OR).'
            )
        if len(text_query) > MAX_QUERY_CHARS:
            raise BadFeedRequest(
                f"Search feeds take queries of up to {MAX_QUERY_CHARS} characters."
            )
        query = selectors.SearchFeedQuery(
            text=text_query,
            categories=[c for c in request.GET.getlist("cat") if c][:10],
            date_from=parse_date(request.GET.get("from")),
            date_to=parse_date(request.GET.get("to")),
            sort=sort if (sort := request.GET.get("sort")) in SORTS else "date",
        )
        window, parsed = selectors.search(query, parse_limit(request))
        params = [("q", text_query), *(("cat", c) for c in query.categories)]
        dates = (("from", query.date_from), ("to", query.date_to))
        params += [(name, day.isoformat()) for name, day in dates if day]
        if query.sort != "date":
            params.append(("sort", query.sort))
        shown = parsed.text or text_query
        return FeedPage(
            title=f"{settings.PAPERFEED_SITE_NAME}: search “{shown}”",
            description=f"Papers matching “{shown}”, by {query.sort}.",
            link=absolute(reverse("search:search") + "?" + urlencode(params)),
            url=self._url("search", params + self._limit_query(request)),
            window=window,
        )


class AuthorFeed(PaperFeed):
    """An author's papers, newest first, as on /authors/<slug>."""

    def page(self, request: HttpRequest, slug: str) -> FeedPage:
        author = paper_selectors.author_by_slug(slug)
        if author is None:
            raise Http404("No such author here.")
        return FeedPage(
            title=f"{settings.PAPERFEED_SITE_NAME}: papers by {author.name}",
            description=f"Papers by {author.name}, newest first.",
            link=absolute(reverse("author", args=[author.slug])),
            url=self._url("author", self._limit_query(request), slug=author.slug),
            window=selectors.author(author, parse_limit(request)),
        )


class PrivateFeed(PaperFeed):
    """A member's own feed behind a secret URL: their upvotes and collections."""

    def page(self, request: HttpRequest, token: str) -> FeedPage:
        user = selectors.owner_of_token(token)
        if user is None:
            raise Http404("No such feed.")
        return FeedPage(
            title=f"{settings.PAPERFEED_SITE_NAME}: {user.shown_name}'s papers",
            description="Papers you upvoted and collected, most recent first.",
            link=absolute(reverse("accounts:settings")),
            url=self._url("private", self._limit_query(request), token=token),
            window=selectors.private(user, parse_limit(request)),
            private=True,
        )
