"""Private feed addresses: make a member's secret token, replace it, or switch it off."""

from __future__ import annotations

import secrets

from paperfeed.feeds.models import FeedToken


def new_private_feed_token(user) -> str:
    """A fresh token for the member's private feed; any older one stops working."""
    token = secrets.token_urlsafe(32)
    FeedToken.objects.update_or_create(user=user, defaults={"token": token})
    return token


def turn_off_private_feed(user) -> bool:
    """Remove the member's token: their private feed URL answers 404 from now on."""
    deleted, _ = FeedToken.objects.filter(user=user).delete()
    return bool(deleted)
