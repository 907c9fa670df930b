"""The settings page's API tokens section: create a token (its secret is shown once, on
the page that answers the form) and revoke one. The section itself is
templates/api/_settings_tokens.html, included by the accounts settings page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from paperfeed.api import tokens
from paperfeed.community.services import Refused


def _back() -> str:
    return reverse("accounts:settings") + "#api-tokens"


@never_cache
@require_POST
@login_required
def create(request: HttpRequest) -> HttpResponse:
    try:
        token, secret = tokens.create_token(
            request.user, request.POST.get("name", ""), request.POST.get("scope", "")
        )
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect(_back())
    # Rendered, not redirected: the secret must not travel through a message cookie or
    # a URL, and the page is not cached (never_cache).
    return render(request, "api/token_created.html", {"token": token, "secret": secret})


@require_POST
@login_required
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = tokens.revoke_token(request.user, pk)
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Token {token.name!r} is revoked; it no longer works.")
    return redirect(_back())
