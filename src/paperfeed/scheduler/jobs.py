"""The site's periodic jobs: what runs, and when (settings PAPERFEED_SCHEDULE_*).

Each job is a django-tasks task; the scheduler only queues it, and whichever worker
takes it from the queue runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from paperfeed.scheduler.schedules import Schedule, parse_schedule


@dataclass(frozen=True)
class Job:
    name: str
    task: object  # a django_tasks Task
    schedule: Schedule | None
    # Why the job is off even with a schedule (e.g. no token); empty when it is on.
    off_because: Callable[[], str] = field(default=lambda: "")

    def describe(self) -> str:
        if self.schedule is None:
            return f"{self.name}: off"
        reason = self.off_because()
        return f"{self.name}: {self.schedule}" + (f" (off: {reason})" if reason else "")


def _no_github_token() -> str:
    return "" if settings.PAPERFEED_GITHUB_TOKEN else "no PAPERFEED_GITHUB_TOKEN"


def site_jobs() -> list[Job]:
    from paperfeed.digests.tasks import send_digests
    from paperfeed.papers.tasks import fetch_announcements, refresh_stars
    from paperfeed.scheduler.tasks import prune

    return [
        Job(
            "fetch-announcements",
            fetch_announcements,
            parse_schedule(settings.PAPERFEED_SCHEDULE_FETCH),
        ),
        Job(
            "refresh-stars",
            refresh_stars,
            parse_schedule(settings.PAPERFEED_SCHEDULE_STARS),
            off_because=_no_github_token,
        ),
        Job("send-digests", send_digests, parse_schedule(settings.PAPERFEED_SCHEDULE_DIGESTS)),
        Job("prune", prune, parse_schedule(settings.PAPERFEED_SCHEDULE_PRUNE)),
    ]
