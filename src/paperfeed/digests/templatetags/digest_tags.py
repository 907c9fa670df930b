"""Digest controls that other apps' pages show: "Save this search" on the search page,
"Follow" on author pages, and the digest section of the settings page."""

from django import template
from django.conf import settings

from paperfeed.digests import services
from paperfeed.digests.forms import PreferencesForm
from paperfeed.digests.models import SavedSearch, Subscription

register = template.Library()


def _base(context) -> dict:
    return {
        "user": context.get("user"),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


@register.inclusion_tag("digests/_save_search.html", takes_context=True)
def save_search_button(context, query: str) -> dict:
    user = context.get("user")
    query = " ".join((query or "").split())
    saved = bool(
        user
        and user.is_authenticated
        and SavedSearch.objects.filter(user=user, query=query).exists()
    )
    return {**_base(context), "query": query, "saved": saved}


@register.inclusion_tag("digests/_follow.html", takes_context=True)
def follow_button(context, author) -> dict:
    user = context.get("user")
    following = bool(user and user.is_authenticated and services.follows(user, author))
    return {**_base(context), "author": author, "following": following}


@register.inclusion_tag("digests/_settings_section.html", takes_context=True)
def digest_settings(context) -> dict:
    user = context["user"]
    subscription = services.subscription_of(user)
    form = PreferencesForm(instance=subscription or Subscription(), prefix="digest")
    return {
        **_base(context),
        "subscription": subscription,
        "active": bool(subscription and subscription.is_active),
        "form": form,
        "saved_searches": list(user.saved_searches.all()),
        "followed": list(user.followed_authors.select_related("author")),
        "site_categories": settings.PAPERFEED_CATEGORIES,
    }
