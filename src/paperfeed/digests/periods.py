"""Digest periods: which day's (or week's) digest a subscriber is on, and when it is due.

A daily digest's period is the subscriber's local date; a weekly one's is the ISO week
of their local date. Each period's digest is due from the subscriber's hour (on their
weekday, for weekly ones) in their time zone. A delivery row per (subscription,
period) makes each period's digest go once, however often the sender runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperfeed.digests.models import Subscription


@dataclass(frozen=True)
class Period:
    key: str  # "2025-01-14" or "2025-W03": unique per subscription in the ledger
    slot: datetime  # when this period's digest is due (UTC)
    label: str  # for the subject line and the mail's heading


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def current_period(subscription: Subscription, now: datetime) -> Period:
    tz = zone(subscription.time_zone)
    today = now.astimezone(tz).date()
    if subscription.frequency == Subscription.Frequency.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        year, week, _ = monday.isocalendar()
        day = monday + timedelta(days=subscription.weekday)
        slot = datetime.combine(day, time(subscription.hour), tz)
        return Period(f"{year}-W{week:02d}", slot.astimezone(UTC), f"week of {monday:%-d %b %Y}")
    slot = datetime.combine(today, time(subscription.hour), tz)
    return Period(today.isoformat(), slot.astimezone(UTC), f"{today:%a %-d %b %Y}")


def is_due(subscription: Subscription, period: Period, now: datetime) -> bool:
    """Due from the slot on; a period whose slot passed before the subscription was
    confirmed is skipped (the first digest comes at the next slot)."""
    if period.slot > now:
        return False
    return subscription.confirmed_at is None or subscription.confirmed_at <= period.slot
