"""The scheduler's ledger: one row per job and time slot, created by whichever worker
gets there first. The unique constraint is what keeps several workers (on several
machines, on PostgreSQL) from running one job twice for the same slot."""

from django.db import models


class ScheduledRun(models.Model):
    job = models.CharField(max_length=64)
    slot = models.DateTimeField(help_text="the scheduled time this run is for")
    task_id = models.CharField(max_length=64, blank=True, help_text="the queued task")
    worker = models.CharField(max_length=255, blank=True, help_text="host and process")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "slot"], name="scheduledrun_unique_slot")
        ]
        ordering = ["-slot", "job"]

    def __str__(self) -> str:
        return f"{self.job} at {self.slot:%Y-%m-%d %H:%M:%S}"
