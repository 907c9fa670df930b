"""The scheduler's own housekeeping job."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from paperfeed.scheduler.models import ScheduledRun

KEEP_DAYS = 30


@task()
def prune() -> dict:
    """Forget scheduled runs and finished task results older than KEEP_DAYS."""
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(days=KEEP_DAYS)
    runs, _ = ScheduledRun.objects.filter(created_at__lt=cutoff).delete()
    results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return {"scheduled_runs": runs, "task_results": results}
