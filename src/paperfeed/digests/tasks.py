"""The digests' background job (queued by the scheduler, see scheduler/jobs.py)."""

from dataclasses import asdict

from django_tasks import task

from paperfeed.digests.delivery import send_digests as run


@task()
def send_digests() -> dict:
    """Plan and send every digest that is due (each subscriber at their hour)."""
    report = run()
    return {k: v for k, v in asdict(report).items() if k != "lines"}
