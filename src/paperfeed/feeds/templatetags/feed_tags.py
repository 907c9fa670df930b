"""Links to feeds from pages: <link rel="alternate"> in the head, "RSS · Atom" in the
page, and the private feed's section of the settings page."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.http import QueryDict
from django.urls import reverse

from paperfeed.feeds import selectors
from paperfeed.search.query import MAX_QUERY_CHARS

register = template.Library()

# Which template arguments are parts of the feed's path; the rest go in its query.
PATH_ARGUMENTS = {"daily": (), "trending": (), "category": ("category",), "author": ("slug",)}
# Parameters at their feed's default are left out, so that links name the feed's own URL.
DEFAULTS = {"trending": {"age": "week"}, "search": {"sort": "date"}}
# The search page's parameters that a search feed takes over.
SEARCH_PARAMETERS = ("q", "cat", "from", "to", "sort")


def feed_urls(kind: str, request=None, **arguments) -> dict[str, str]:
    """The RSS and Atom URLs of a feed, by format. The search feed takes the request's
    own search parameters."""
    path = {name: arguments.pop(name) for name in PATH_ARGUMENTS.get(kind, ())}
    query = QueryDict(mutable=True)
    if kind == "search" and request is not None:
        for name in SEARCH_PARAMETERS:
            query.setlist(name, [v for v in request.GET.getlist(name) if v])
    for name, value in arguments.items():
        if value:
            query[name] = value
    for name, default in DEFAULTS.get(kind, {}).items():
        if query.get(name) == default:
            del query[name]
    if "q" in query:
        query["q"] = query["q"].strip()[:MAX_QUERY_CHARS]  # as the page cuts it
    suffix = f"?{query.urlencode()}" if query else ""
    return {
        fmt: reverse(f"feeds:{kind}", kwargs={"fmt": fmt, **path}) + suffix
        for fmt in ("rss", "atom")
    }


def _feeds(context, kind: str, title: str, arguments: dict) -> dict:
    return {"title": title, "urls": feed_urls(kind, context.get("request"), **arguments)}


@register.inclusion_tag("feeds/alternates.html", takes_context=True)
def feed_alternates(context, kind: str, title: str, **arguments) -> dict:
    """<link rel="alternate"> tags for the page's <head>: RSS and Atom."""
    return _feeds(context, kind, title, arguments)


@register.inclusion_tag("feeds/links.html", takes_context=True)
def feed_links(context, kind: str, title: str, **arguments) -> dict:
    """A small "Subscribe: RSS · Atom" line for the page itself."""
    return _feeds(context, kind, title, arguments)


@register.inclusion_tag("feeds/settings_section.html", takes_context=True)
def private_feed_settings(context) -> dict:
    """The settings page's section: the member's private feed URLs and their buttons."""
    urls = None
    if token := selectors.token_of(context["user"]):
        base = settings.PAPERFEED_BASE_URL.rstrip("/")
        urls = {
            fmt: base + reverse("feeds:private", kwargs={"fmt": fmt, "token": token})
            for fmt in ("atom", "rss")
        }
    return {"urls": urls, "csrf_token": context.get("csrf_token")}
