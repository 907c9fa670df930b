"""Digest subscriptions, what they follow, and the delivery ledger.

- Subscription: one address (with or without an account), double opt-in, when and what.
- SavedSearch, FollowedAuthor: a member's alerts, shown as digest sections.
- Delivery: one row per (subscription, period), the ledger that makes "each period's
  digest exactly once" hold across crashed workers and failing mail servers.
- SentPaper: one row per (subscription, paper), so no paper reaches a person twice.
"""

import secrets
from zoneinfo import available_timezones

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


def new_key() -> str:
    return secrets.token_urlsafe(12)


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones()) if "/" in name or name == "UTC"]


class Subscription(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    email = models.EmailField("e-mail address", max_length=254)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="digest_subscription",
        help_text="The member this is, if any: their saved searches and followed authors.",
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default="daily")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="for weekly digests"
    )
    hour = models.PositiveSmallIntegerField(default=7, help_text="local hour, 0-23")
    time_zone = models.CharField(max_length=64, default="UTC")
    trending_count = models.PositiveSmallIntegerField(
        default=5, help_text="trending papers at the top of each digest"
    )
    categories = models.JSONField(default=list, blank=True, help_text='e.g. ["cs.LG"]')
    # In every signed link: a moderator who changes it kills the links already mailed.
    key = models.CharField(max_length=32, default=new_key)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscription_email_unique_ci"),
        ]
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    @property
    def recipient(self) -> str:
        """A member's digest follows their account's current address."""
        return self.user.email if self.user_id else self.email


class SavedSearch(models.Model):
    """A search a member saved from the search page; new matches come in their digest."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    query = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "query"], name="savedsearch_unique")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.query


class FollowedAuthor(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_authors"
    )
    author = models.ForeignKey("papers.Author", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "author"], name="followedauthor_unique")
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} follows {self.author}"


class Delivery(models.Model):
    """One subscriber's digest for one period, from planning to the mail server's answer.

    pending -> sending (claimed by a sender until lease_until) -> sent, or back to
    pending with a later next_attempt_at when the mail server fails, or failed for good.
    `sent_at` is written before the message's final line goes to the server and
    `accepted_at` when the server answers 250: see docs/digests.md for what that buys.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped", "skipped (nothing new)"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    period = models.CharField(max_length=16, help_text="2025-01-14 (daily) or 2025-W03 (weekly)")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    content = models.JSONField(default=dict, help_text="sections and paper ids, fixed at planning")
    message_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claim = models.CharField(max_length=32, blank=True, help_text="the sender holding it")
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period"], name="delivery_unique")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_queue_idx")]
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.subscription} {self.period} ({self.state})"


class SentPaper(models.Model):
    """A paper that went (or is going) to a subscriber: never put in a digest again."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="papers")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "paper"], name="sentpaper_unique")
        ]

    def __str__(self) -> str:
        return f"{self.paper_id} to {self.subscription_id}"
