"""API rate limits, counted in the shared cache with django-ratelimit (as the site's own
limits are, so every web process sees the same counts).

Two layers: every API request counts against its token's budget, or its address's when
it has no valid token (PAPERFEED_API_RATE_TOKEN / _ANON); and votes, comments and
submissions also draw on the member's budget for that action, the same one the site's
forms use, so the API is no way around the site's limits.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import ALL, get_usage

from paperfeed.api.access import resolve
from paperfeed.api.errors import ApiError, error_response

# The site's django-ratelimit groups for the same actions (a decorator without a group
# counts under the view's dotted name); the API adds to the same counters.
VOTES = ("paperfeed.community.views.vote", "PAPERFEED_RATE_VOTES", "votes")
COMMENTS = ("comments", "PAPERFEED_RATE_COMMENTS", "comments")
SUBMISSIONS = ("paperfeed.community.views.submit", "PAPERFEED_RATE_SUBMISSIONS", "submissions")
INDEXING = ("api.index", "PAPERFEED_RATE_SUBMISSIONS", "papers to index")

UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def describe(rate: str) -> str:
    """'600/m' -> '600 a minute' (for messages)."""
    count, _, period = rate.partition("/")
    unit = UNITS.get(period[-1:], period)
    number = period[:-1]
    return f"{count} every {number} {unit}s" if number else f"{count} a {unit}"


def _over(request: HttpRequest, group: str, key, rate: str, method=ALL) -> int | None:
    """Count this request; the seconds to wait if it is over the limit, else None."""
    usage = get_usage(request, group=group, key=key, rate=rate, method=method, increment=True)
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


def _too_many(noun: str, who: str, rate: str, wait: int) -> tuple[str, dict]:
    message = f"Too many {noun}: {who} may send {describe(rate)}. Try again in {wait} s."
    return message, {"Retry-After": str(wait)}


def general_limit(request: HttpRequest) -> HttpResponse | None:
    """The per-token or per-address budget: a 429 answer once it is spent, else None."""
    access = resolve(request)
    if access.token is not None:
        rate, who = settings.PAPERFEED_API_RATE_TOKEN, "one access token"
        token_id = access.token.pk
        wait = _over(request, "api.token", lambda group, request: f"token:{token_id}", rate)
    else:
        rate, who = settings.PAPERFEED_API_RATE_ANON, "one address without a token"
        wait = _over(request, "api.anon", "ip", rate)
    if wait is None:
        return None
    message, headers = _too_many("requests", who, rate, wait)
    return error_response(429, message, headers)


def action_limit(request: HttpRequest, budget: tuple[str, str, str]) -> None:
    """Count a vote, comment or submission against the member's budget for it; raises a
    429 ApiError once it is spent."""
    group, setting, noun = budget
    rate = getattr(settings, setting)
    # The site's decorators count POSTs only, and the method is part of the counter's
    # key: an API POST adds to the very counter the site's form does; a DELETE or PATCH
    # (no form sends those) has a counter of its own, of the same size.
    wait = _over(request, group, "user_or_ip", rate, method=request.method)
    if wait is not None:
        message, headers = _too_many(noun, "one member", rate, wait)
        raise ApiError(429, message, headers=headers)
