"""Personal access tokens: made, checked and revoked here (the settings page, the admin
and the API all call these functions).

A token is `pf_` and 43 URL-safe characters (256 random bits). Being that random, a
plain SHA-256 digest is enough to store it safely: nobody can guess a token back from
its digest, and a lookup by digest is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from paperfeed.api.models import AccessToken
from paperfeed.community.services import Refused

PREFIX = "pf_"
MAX_SECRET_CHARS = 100
MAX_ACTIVE_TOKENS = 50
MAX_NAME_CHARS = AccessToken._meta.get_field("name").max_length
SHOWN_PREFIX_CHARS = 8  # "pf_" and five characters: enough to tell tokens apart in a list
# Writing "last used" on every request would make every API read a database write.
LAST_USED_PRECISION = timedelta(minutes=1)

# Time is read through `now` so that tests can freeze it.
now = timezone.now


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_ours(secret: str) -> bool:
    """A token of this instance's shape (another site's token, say Hugging Face's `hf_`
    that its client sends by itself, is not ours to judge)."""
    return secret.startswith(PREFIX) and len(secret) <= MAX_SECRET_CHARS


def create_token(user, name: str, scope: str) -> tuple[AccessToken, str]:
    """A new token for the user; returns it with its secret, which is not stored."""
    name = " ".join((name or "").split())
    if not name:
        raise Refused("Give the token a name, say what it is for (“laptop script”).")
    if len(name) > MAX_NAME_CHARS:
        raise Refused(f"Token names are limited to {MAX_NAME_CHARS} characters.")
    if scope not in AccessToken.Scope.values:
        raise Refused("A token's scope is read or write.")
    with transaction.atomic():
        active = AccessToken.objects.filter(user=user, revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_TOKENS:
            raise Refused(
                f"You have {active} active tokens, the most one account may hold. Revoke "
                "one you no longer use first."
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        token = AccessToken.objects.create(
            user=user,
            name=name,
            scope=scope,
            prefix=secret[:SHOWN_PREFIX_CHARS],
            digest=digest(secret),
        )
    return token, secret


def revoke_token(user, token_id: int) -> AccessToken:
    """The owner revokes one of their tokens (idempotent); it stops working at once."""
    token = AccessToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise Refused("No such token of yours.", status=404)
    if token.revoked_at is None:
        token.revoked_at = now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate(secret: str) -> AccessToken | None:
    """The active token with this secret, its owner loaded; None if there is none, it is
    revoked, or its owner's account is switched off."""
    if not looks_like_ours(secret):
        return None
    token = (
        AccessToken.objects.select_related("user")
        .filter(digest=digest(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    moment = now()
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_PRECISION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment
    return token


def tokens_of(user) -> list[AccessToken]:
    return list(AccessToken.objects.filter(user=user))
