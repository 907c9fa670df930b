"""Site-wide views: the 429 page."""

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Too many requests: a clear page (or JSON for scripts) and a Retry-After hint."""
    if request.headers.get("Accept", "").startswith("application/json"):
        response = HttpResponse(
            '{"error": "Too many requests. Wait a minute and try again."}',
            status=429,
            content_type="application/json",
        )
    else:
        html = render_to_string("429.html", request=request)
        response = HttpResponse(html, status=429)
    response["Retry-After"] = "60"
    return response
