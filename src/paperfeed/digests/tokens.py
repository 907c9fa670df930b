"""Signed tokens for the links in digest mails.

- confirm: the double opt-in link; expires (PASSWORD_RESET_TIMEOUT) and names the
  address, so a link for an address that changed does not confirm the new one.
- manage and unsubscribe: the links in every digest; they do not expire (a digest
  read months later must still unsubscribe), and each purpose has its own salt, so an
  unsubscribe token never opens the preferences page or the other way round.
Every token carries the subscription's random key: changing the key kills its links.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from paperfeed.digests.models import Subscription

CONFIRM_SALT = "paperfeed.digests.confirm"
LINK_SALTS = {"manage": "paperfeed.digests.manage", "unsubscribe": "paperfeed.digests.unsubscribe"}


def confirm_token(subscription: Subscription) -> str:
    payload = [subscription.pk, subscription.key, subscription.email.lower()]
    return signing.dumps(payload, salt=CONFIRM_SALT)


def read_confirm_token(token: str) -> Subscription | None:
    try:
        pk, key, email = signing.loads(
            token, salt=CONFIRM_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    subscription = Subscription.objects.filter(pk=pk, key=key).first()
    if subscription is None or subscription.email.lower() != email:
        return None
    return subscription


def link_token(subscription: Subscription, purpose: str) -> str:
    return signing.Signer(salt=LINK_SALTS[purpose]).sign(f"{subscription.pk}.{subscription.key}")


def read_link_token(token: str, purpose: str) -> Subscription | None:
    try:
        value = signing.Signer(salt=LINK_SALTS[purpose]).unsign(token)
        pk, key = value.split(".", 1)
        return Subscription.objects.select_related("user").filter(pk=int(pk), key=key).first()
    except (signing.BadSignature, ValueError):
        return None
