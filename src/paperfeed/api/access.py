"""Who is calling the API: a member by access token (`Authorization: Bearer pf_...`), a
member by session cookie (the site's own login, CSRF-checked), or anyone.

Reads need nothing; a valid token on a read only changes which rate budget it counts
against. Writes need a write token or a CSRF-checked session.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from paperfeed.api import tokens
from paperfeed.api.errors import ApiError
from paperfeed.api.models import AccessToken

BAD_TOKEN = (
    "That access token is not valid here: it is unknown, revoked, or its account is "
    "switched off. Create a new one on your settings page, under API tokens."
)
FOREIGN_TOKEN = (
    "That bearer token is not one of this site's access tokens (they start with pf_). "
    "Create one on your settings page, under API tokens."
)
READ_ONLY = (
    "This access token can only read. Create a token with the write scope on your "
    "settings page to vote, comment, submit or change collections."
)
NO_CSRF = (
    "Requests made with the site's session cookie need its CSRF token in the "
    "X-CSRFToken header; scripts should use an access token instead."
)


@dataclass(frozen=True)
class Access:
    user: object | None = None
    token: AccessToken | None = None
    via: str = "anonymous"  # token, session or anonymous
    rejected: str | None = None  # why a presented bearer token was not accepted

    @property
    def can_write(self) -> bool:
        if self.via == "session":
            return True
        return self.token is not None and self.token.can_write


ANONYMOUS = Access()


def bearer(request: HttpRequest) -> str | None:
    """The bearer token of the request, if it sends one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def resolve(request: HttpRequest) -> Access:
    """Who sent the request; worked out once per request (one indexed query at most)."""
    cached = getattr(request, "_api_access", None)
    if cached is not None:
        return cached
    access = ANONYMOUS
    if (secret := bearer(request)) is not None:
        if not tokens.looks_like_ours(secret):
            access = Access(rejected=FOREIGN_TOKEN)
        elif (token := tokens.authenticate(secret)) is None:
            access = Access(rejected=BAD_TOKEN)
        else:
            access = Access(user=token.user, token=token, via="token")
    elif request.user.is_authenticated:
        access = Access(user=request.user, via="session")
    request._api_access = access
    return access


class TokenAuth(HttpBearer):
    """`Authorization: Bearer pf_...`; `scope` is what the operation needs."""

    def __init__(self, scope: str = AccessToken.Scope.READ):
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Access:
        access = resolve(request)
        if access.via != "token":
            raise ApiError(401, access.rejected or BAD_TOKEN)
        if self.scope == AccessToken.Scope.WRITE and not access.can_write:
            raise ApiError(403, READ_ONLY)
        request.user = access.user  # the rules and the rate limits see the member
        return access


class SessionAuth(APIKeyCookie):
    """The site's login cookie, for the interactive docs and the site's own pages. Every
    request it authenticates goes through Django's CSRF check, so a write must carry the
    CSRF token (X-CSRFToken) and no other site can make a member's browser write."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise ApiError(403, NO_CSRF)
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Access | None:
        if key is None:
            return None
        access = resolve(request)
        return access if access.via == "session" else None


READ = [TokenAuth(AccessToken.Scope.READ), SessionAuth()]
WRITE = [TokenAuth(AccessToken.Scope.WRITE), SessionAuth()]
