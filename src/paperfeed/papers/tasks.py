"""Background jobs run by the worker (django-tasks, database backend)."""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

from paperfeed.papers.ingest import ingest_listing

log = logging.getLogger(__name__)


@task()
def fetch_announcements(categories: list[str] | None = None) -> dict:
    """Ingest today's arXiv announcements for each category; returns counts per category."""
    results = {}
    for category in categories or settings.PAPERFEED_CATEGORIES:
        outcome = ingest_listing(category, progress=False)
        log.info("%s", outcome.summary())
        results[category] = {
            "status": outcome.run.status,
            "new": outcome.run.new,
            "listed": outcome.run.listed,
            "message": outcome.run.message,
        }
    return results


@task()
def refresh_stars() -> dict:
    """Refresh code-repository stars from GitHub (only with PAPERFEED_GITHUB_TOKEN)."""
    from paperfeed.papers.stars import outcome_dict
    from paperfeed.papers.stars import refresh_stars as refresh

    return outcome_dict(refresh())
