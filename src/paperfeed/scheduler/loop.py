"""The scheduler: a loop in each worker process that queues every job once per slot.

django-tasks has no periodic scheduler, so each `paperfeed worker` (the one inside
`paperfeed serve` too) runs this loop in a thread. Every few seconds it asks each job's
schedule for its latest slot and tries to create the ScheduledRun row for (job, slot)
together with the queued task, in one transaction. The row's unique constraint decides
which worker wins; the others get an IntegrityError and move on, so a slot runs once
however many workers look at it.

A slot that passed before this scheduler started is caught up only if the job has run
on this database before: a fresh instance does not start by running yesterday's jobs,
but an instance that was down over a slot runs it when it comes back (once: only the
latest missed slot).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from paperfeed.scheduler.jobs import Job, site_jobs
from paperfeed.scheduler.models import ScheduledRun

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, jobs: list[Job] | None = None, started_at: datetime | None = None):
        self.jobs = site_jobs() if jobs is None else jobs
        self.started_at = started_at or timezone.now()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def due(self, job: Job, now: datetime) -> datetime | None:
        """The slot this job should run for now, or None."""
        if job.schedule is None or job.off_because():
            return None
        slot = job.schedule.latest(now)
        if ScheduledRun.objects.filter(job=job.name, slot=slot).exists():
            return None
        if slot < self.started_at and not ScheduledRun.objects.filter(job=job.name).exists():
            return None
        return slot

    def tick(self, now: datetime | None = None) -> list[ScheduledRun]:
        """Queue every job that is due; returns the runs this scheduler created."""
        now = now or timezone.now()
        created = []
        for job in self.jobs:
            slot = self.due(job, now)
            if slot is None:
                continue
            try:
                with transaction.atomic():
                    run = ScheduledRun.objects.create(job=job.name, slot=slot, worker=self.worker)
                    # The queue is a table of the same database: the run and its task
                    # are committed together or not at all.
                    result = job.task.enqueue()
                    run.task_id = str(result.id)
                    run.save(update_fields=["task_id"])
            except IntegrityError:
                log.debug("%s at %s: another worker queued it", job.name, slot)
                continue
            log.info("scheduler: queued %s for %s", job.name, f"{slot:%Y-%m-%d %H:%M:%S %Z}")
            created.append(run)
        return created

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        log.info("scheduler: %s", "; ".join(job.describe() for job in self.jobs))
        while True:
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the loop
                log.exception("scheduler: tick failed; trying again in %.0f s", interval)
            finally:
                close_old_connections()
            if stop.wait(interval):
                return


def start_in_thread(interval: float) -> threading.Event:
    """Run the scheduler in a daemon thread of this process; set the event to stop it."""
    stop = threading.Event()
    scheduler = Scheduler()
    thread = threading.Thread(
        target=scheduler.run_forever, args=(stop, interval), name="scheduler", daemon=True
    )
    thread.start()
    return stop
