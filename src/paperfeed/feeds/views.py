"""Feed responses with conditional GET, and the private feed's address in settings.

The feeds themselves are in feeds.py; here each one is served with ETag and
Last-Modified from its window (a 304 builds no item), cache headers, and a 400 with a
plain message for a request no feed can answer.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_POST, require_safe

from paperfeed.feeds import services
from paperfeed.feeds.feeds import FORMATS, BadFeedRequest, PaperFeed

# Readers poll every few minutes to hours; five minutes spares the server a burst of
# them and keeps trending fresh enough. Revalidating after that costs a 304.
MAX_AGE = 300


def feed_view(feed_class: type[PaperFeed]) -> Callable[..., HttpResponse]:
    """One view for both formats of a feed: the URL's `fmt` picks RSS or Atom."""
    served = {}
    for fmt in FORMATS:
        feed = feed_class(fmt)
        served[fmt] = condition(etag_func=feed.etag, last_modified_func=feed.last_modified)(feed)

    @require_safe
    def view(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
        try:
            response = served[fmt](request, **kwargs)
        except BadFeedRequest as error:
            return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
        page = getattr(request, "feed_page", None)
        if page is not None and page.private:
            # The URL is the secret: no shared cache keeps it, no search engine lists it.
            patch_cache_control(response, private=True, max_age=MAX_AGE)
            response.headers["X-Robots-Tag"] = "noindex"
        elif page is not None:
            patch_cache_control(response, public=True, max_age=MAX_AGE)
        return response

    view.__name__ = view.__qualname__ = f"{feed_class.__name__}_view"
    return view


@login_required
@require_POST
def private_feed_token(request: HttpRequest) -> HttpResponse:
    """Settings: a new private feed address (the old one stops working), or none."""
    if request.POST.get("action") == "off":
        services.turn_off_private_feed(request.user)
        messages.success(request, "Your private feed is off: its address no longer works.")
    else:
        services.new_private_feed_token(request.user)
        messages.success(
            request, "Your private feed has a new address. Any older address no longer works."
        )
    return redirect(reverse("accounts:settings") + "#feeds")
