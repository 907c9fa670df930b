"""Stars of the papers' GitHub repositories, from the GitHub REST API.

Runs only with a token (PAPERFEED_GITHUB_TOKEN): without one GitHub allows 60 calls an
hour, too few to be worth it. Each run looks at the GitHub links of papers from the
last RECENT_DAYS days (never-counted first), at most PAPERFEED_STARS_PER_RUN of them,
through the polite HTTP client (spacing, retries, Retry-After). A paper's `stars` is the
most stars among its repositories: what cards show and trending counts.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Max, Q
from django.utils import timezone

from paperfeed.papers.http import PoliteClient, UpstreamError
from paperfeed.papers.models import CodeLink, Paper

log = logging.getLogger(__name__)

RECENT_DAYS = 30
GITHUB_REPO = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+)")
GONE = {404, 410, 451}  # deleted, renamed away or blocked: skip the link, go on


@dataclass
class StarsOutcome:
    checked: int = 0
    updated: int = 0
    gone: int = 0
    stopped: str = ""  # why the run ended early (rate limit, bad token), if it did

    def summary(self) -> str:
        text = f"stars: {self.checked} repositories checked, {self.updated} changed"
        text += f", {self.gone} gone" if self.gone else ""
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")


def links_to_refresh(limit: int) -> list[CodeLink]:
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    recent = Paper.objects.filter(
        Q(published_at__gte=since) | Q(listings__date__gte=since.date())
    ).values("pk")
    links = CodeLink.objects.filter(kind=CodeLink.Kind.GITHUB, paper_id__in=recent)
    return list(links.order_by(F("stars").asc(nulls_first=True), "id")[:limit])


def refresh_stars(limit: int | None = None) -> StarsOutcome | None:
    """Fetch the star counts; None (and nothing fetched) when no token is configured."""
    token = settings.PAPERFEED_GITHUB_TOKEN
    if not token:
        log.info("stars: no PAPERFEED_GITHUB_TOKEN, nothing to do")
        return None
    api = settings.PAPERFEED_GITHUB_API_URL.rstrip("/")
    outcome = StarsOutcome()
    changed_papers: set[int] = set()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    with PoliteClient("github", min_interval=0.1, headers=headers) as client:
        for link in links_to_refresh(limit or settings.PAPERFEED_STARS_PER_RUN):
            match = GITHUB_REPO.fullmatch(link.url)
            if not match:
                continue
            try:
                body = client.get(f"{api}/repos/{match.group(1)}/{match.group(2)}")
            except UpstreamError as error:
                if error.status in GONE:
                    outcome.gone += 1
                    continue
                # Rate limit spent (403), bad token (401), GitHub down: the next run goes on.
                outcome.stopped = str(error)
                break
            outcome.checked += 1
            try:
                stars = json.loads(body)["stargazers_count"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(stars, int) and stars >= 0 and stars != link.stars:
                CodeLink.objects.filter(pk=link.pk).update(stars=stars)
                changed_papers.add(link.paper_id)
                outcome.updated += 1
    most = (
        CodeLink.objects.filter(paper_id__in=changed_papers)
        .values("paper_id")
        .annotate(most=Max("stars"))
        .values_list("paper_id", "most")
    )
    for paper_id, stars in most:
        Paper.objects.filter(pk=paper_id).update(stars=stars)
    log.info("%s", outcome.summary())
    return outcome


def outcome_dict(outcome: StarsOutcome | None) -> dict:
    return asdict(outcome) if outcome else {"skipped": "no PAPERFEED_GITHUB_TOKEN"}
