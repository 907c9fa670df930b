"""Values every page template can use."""

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.PAPERFEED_SITE_NAME,
        "base_url": settings.PAPERFEED_BASE_URL.rstrip("/"),
    }
