"""The subscription rules as plain functions: subscribe, confirm, unsubscribe, change
preferences, save searches and follow authors. Views call these; tests too."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from paperfeed.digests.mail import absolute_url, send_notice
from paperfeed.digests.models import FollowedAuthor, SavedSearch, Subscription
from paperfeed.digests.tokens import confirm_token, link_token

# A pending address gets at most one confirmation mail in this time, however many
# people (or scripts, from however many addresses) ask for it.
RESEND_AFTER = timedelta(minutes=10)
PREFERENCES = ("frequency", "weekday", "hour", "time_zone", "trending_count", "categories")


def find(email: str) -> Subscription | None:
    return Subscription.objects.filter(email__iexact=email.strip()).first()


def confirm_link(subscription: Subscription) -> str:
    return absolute_url(reverse("digests:confirm", args=[confirm_token(subscription)]))


def manage_link(subscription: Subscription) -> str:
    return absolute_url(reverse("digests:manage", args=[link_token(subscription, "manage")]))


def subscribe(email: str, preferences: dict | None = None) -> bool:
    """Ask for a subscription at `email`: mail a confirmation link (or, if the address
    is already subscribed, a link to its preferences). The caller shows the same page
    whatever happened, so nobody learns which addresses are subscribed. False only when
    a mail was due and the mail server could not take it. `preferences` (the API's
    subscribe body) apply to a subscription nobody has confirmed yet, never to an
    active one: whoever knows an address must not change what its owner receives."""
    email = BaseUserManager.normalize_email(email.strip())
    subscription = find(email)
    if subscription is None:
        try:
            with transaction.atomic():
                subscription = Subscription.objects.create(email=email, **(preferences or {}))
        except IntegrityError:  # the same address, a moment ago
            subscription = find(email)
    elif preferences and subscription.confirmed_at is None:
        set_preferences(subscription, preferences)
    moment = timezone.now()
    # One conditional update: of two requests at the same moment, one sends.
    may_send = Subscription.objects.filter(pk=subscription.pk).filter(
        Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lt=moment - RESEND_AFTER)
    )
    if not may_send.update(confirmation_sent_at=moment):
        return True
    if subscription.is_active:
        return send_notice(
            subscription.email, "already", {"manage_link": manage_link(subscription)}
        )
    return send_notice(
        subscription.email,
        "confirm",
        {"link": confirm_link(subscription), "valid_days": _valid_days()},
    )


def confirm(subscription: Subscription) -> None:
    """The address owner followed the link: the subscription is on (again)."""
    subscription.confirmed_at = timezone.now()
    subscription.unsubscribed_at = None
    subscription.save(update_fields=["confirmed_at", "unsubscribed_at"])


def unsubscribe(subscription: Subscription) -> None:
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = timezone.now()
        subscription.save(update_fields=["unsubscribed_at"])


def set_preferences(subscription: Subscription, preferences: dict) -> None:
    for name in PREFERENCES:
        if name in preferences:
            setattr(subscription, name, preferences[name])
    subscription.save(update_fields=[n for n in PREFERENCES if n in preferences])


# --- members -----------------------------------------------------------------------------


def subscription_of(user) -> Subscription | None:
    """A member's subscription: theirs, or one made without an account at their address."""
    return (
        Subscription.objects.filter(user=user).first()
        or Subscription.objects.filter(email__iexact=user.email, user__isnull=True).first()
    )


def subscribe_member(user, preferences: dict) -> Subscription:
    """Turn a member's digest on with these preferences. No confirmation mail: the
    account's address is verified already."""
    subscription = subscription_of(user)
    if subscription is None:
        subscription = Subscription(email=user.email)
    subscription.user = user
    subscription.email = user.email
    for name in PREFERENCES:
        if name in preferences:
            setattr(subscription, name, preferences[name])
    if not subscription.is_active:
        subscription.confirmed_at = timezone.now()
        subscription.unsubscribed_at = None
    subscription.save()
    return subscription


def save_search(user, query: str) -> SavedSearch:
    query = " ".join(query.split())[:500]
    saved, _ = SavedSearch.objects.get_or_create(user=user, query=query)
    return saved


def forget_search(user, pk: int) -> None:
    SavedSearch.objects.filter(user=user, pk=pk).delete()


def follow(user, author, on: bool = True) -> None:
    if on:
        FollowedAuthor.objects.get_or_create(user=user, author=author)
    else:
        FollowedAuthor.objects.filter(user=user, author=author).delete()


def follows(user, author) -> bool:
    return FollowedAuthor.objects.filter(user=user, author=author).exists()


def _valid_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
