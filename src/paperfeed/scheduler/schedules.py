"""When a periodic job runs, written as a short phrase in a setting:

    every 15m                         every 15 minutes (also 30s, 2h), aligned to the clock
    daily 04:00 UTC                   every day at 04:00 in a time zone (default UTC)
    sun-thu 20:30 America/New_York    on some weekdays (ranges and lists: mon,wed,fri)
    off                               never

A schedule answers one question: which slot (the scheduled time) is the latest one at
or before a moment. The scheduler runs a job once per slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
UNITS = {"s": 1, "m": 60, "h": 3600}


class ScheduleError(ValueError):
    """A schedule phrase that cannot be read; the message shows what would."""


@dataclass(frozen=True)
class Every:
    seconds: int

    def latest(self, now: datetime) -> datetime:
        stamp = int(now.timestamp()) // self.seconds * self.seconds
        return datetime.fromtimestamp(stamp, UTC)

    def __str__(self) -> str:
        for unit, size in reversed(UNITS.items()):
            if self.seconds % size == 0:
                return f"every {self.seconds // size}{unit}"
        raise AssertionError(self.seconds)


@dataclass(frozen=True)
class AtTime:
    weekdays: frozenset[int]  # Monday is 0
    at: time
    zone: str

    def latest(self, now: datetime) -> datetime:
        tz = ZoneInfo(self.zone)
        today = now.astimezone(tz).date()
        for back in range(8):
            day = today - timedelta(days=back)
            if day.weekday() not in self.weekdays:
                continue
            slot = datetime.combine(day, self.at, tz)
            if slot <= now:
                return slot.astimezone(UTC)
        raise AssertionError("a week always holds a slot")

    def __str__(self) -> str:
        days = (
            "daily" if len(self.weekdays) == 7 else ",".join(DAYS[d] for d in sorted(self.weekdays))
        )
        return f"{days} {self.at:%H:%M} {self.zone}"


Schedule = Every | AtTime


def _weekdays(text: str) -> frozenset[int]:
    if text == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ScheduleError(f"{part!r} is not a day or a range of days like mon-fri")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        # A range may wrap round the week: sun-thu is Sunday, Monday, ..., Thursday.
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


def parse_schedule(phrase: str) -> Schedule | None:
    """The schedule a phrase describes; None for "off" (or nothing)."""
    words = phrase.strip().lower().split()
    if not words or words == ["off"]:
        return None
    if words[0] == "every":
        match = re.fullmatch(r"(\d+)([smh])", "".join(words[1:]))
        if not match or int(match.group(1)) == 0:
            raise ScheduleError(f"{phrase!r}: write e.g. 'every 15m', 'every 30s', 'every 2h'")
        return Every(int(match.group(1)) * UNITS[match.group(2)])
    if len(words) not in (2, 3) or not re.fullmatch(r"\d{1,2}:\d{2}", words[1]):
        raise ScheduleError(f"{phrase!r}: write e.g. 'daily 04:00 UTC' or 'sun-thu 20:30 Zone'")
    hour, minute = (int(n) for n in words[1].split(":"))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{phrase!r}: {words[1]} is not a time of day")
    zone = phrase.split()[2] if len(words) == 3 else "UTC"  # zone names keep their case
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"{phrase!r}: {zone!r} is not a time zone name") from exc
    return AtTime(_weekdays(words[0]), time(hour, minute), zone)
