"""The scheduler: schedule phrases, one run per job and slot however many workers look,
catching up after downtime but not on a fresh instance; real `paperfeed worker`
processes racing for the same slots; and the GitHub stars job against a loopback API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django_tasks import task

from paperfeed.papers import stars
from paperfeed.papers.models import CodeLink, Paper
from paperfeed.papers.records import PaperRecord, validate
from paperfeed.papers.upsert import store_batch
from paperfeed.scheduler.jobs import Job, site_jobs
from paperfeed.scheduler.loop import Scheduler
from paperfeed.scheduler.models import ScheduledRun
from paperfeed.scheduler.schedules import AtTime, Every, ScheduleError, parse_schedule
from tests.upstream import fixture

pytestmark = pytest.mark.django_db

RUNS: list[str] = []


@task()
def remember_run() -> None:
    """A job for these tests (the test settings run queued tasks at once)."""
    RUNS.append("ran")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- schedule phrases --------------------------------------------------------------------


@pytest.mark.nodb
def test_schedule_phrases():
    assert parse_schedule("every 15m") == Every(900)
    assert str(parse_schedule("every 2h")) == "every 2h"
    assert parse_schedule("off") is None and parse_schedule("  ") is None
    arxiv = parse_schedule("sun-thu 20:30 America/New_York")
    assert isinstance(arxiv, AtTime) and arxiv.weekdays == {6, 0, 1, 2, 3}
    assert str(arxiv) == "mon,tue,wed,thu,sun 20:30 America/New_York"
    assert str(parse_schedule("daily 04:00")) == "daily 04:00 UTC"
    assert parse_schedule("mon,wed-thu 9:05 Europe/Paris").weekdays == {0, 2, 3}
    for bad in ("every", "every 0m", "every 5 days", "daily 25:00", "someday 10:00",
                "daily 10:00 Mars/Olympus", "at noon"):  # fmt: skip
        with pytest.raises(ScheduleError):
            parse_schedule(bad)


@pytest.mark.nodb
def test_latest_slot_follows_the_zone_and_the_weekdays():
    arxiv = parse_schedule("sun-thu 20:30 America/New_York")
    # Thursday 5 Dec 2024, 20:30 EST is Friday 01:30 UTC.
    assert arxiv.latest(utc(2024, 12, 6, 1, 30)) == utc(2024, 12, 6, 1, 30)
    assert arxiv.latest(utc(2024, 12, 6, 1, 29)) == utc(2024, 12, 5, 1, 30)  # Wednesday's
    # No announcements on Friday and Saturday evenings: Thursday's slot holds until Sunday's.
    assert arxiv.latest(utc(2024, 12, 8, 12, 0)) == utc(2024, 12, 6, 1, 30)
    assert arxiv.latest(utc(2024, 12, 9, 1, 30)) == utc(2024, 12, 9, 1, 30)
    # In summer (EDT, UTC-4) the same local time is an hour earlier in UTC.
    assert arxiv.latest(utc(2024, 7, 2, 0, 30)) == utc(2024, 7, 2, 0, 30)
    every = parse_schedule("every 15m")
    assert every.latest(utc(2024, 12, 4, 9, 44, 59)) == utc(2024, 12, 4, 9, 30)


# --- one run per slot --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_runs():
    RUNS.clear()


def test_each_slot_is_queued_once(settings):
    job = Job("remember", remember_run, parse_schedule("every 1h"))
    scheduler = Scheduler([job], started_at=utc(2024, 12, 4, 8, 50))
    assert scheduler.tick(utc(2024, 12, 4, 8, 59)) == []  # 08:00 passed before it started
    (run,) = scheduler.tick(utc(2024, 12, 4, 9, 0, 1))
    assert (run.job, run.slot) == ("remember", utc(2024, 12, 4, 9))
    assert run.task_id and RUNS == ["ran"]
    assert scheduler.tick(utc(2024, 12, 4, 9, 30)) == []
    assert len(scheduler.tick(utc(2024, 12, 4, 10, 0))) == 1
    # Another worker looking at the same slots queues nothing.
    other = Scheduler([job], started_at=utc(2024, 12, 4, 8, 0))
    assert other.tick(utc(2024, 12, 4, 10, 5)) == []
    assert RUNS == ["ran", "ran"]


def test_a_fresh_instance_skips_missed_slots_but_a_known_one_catches_up():
    job = Job("remember", remember_run, parse_schedule("daily 04:00 UTC"))
    fresh = Scheduler([job], started_at=utc(2024, 12, 4, 9))
    assert fresh.tick(utc(2024, 12, 4, 9)) == []  # today's 04:00 was before it existed
    assert len(fresh.tick(utc(2024, 12, 5, 4, 0, 30))) == 1
    # Down from the 5th to the 8th: on restart, the latest missed slot runs, once.
    restarted = Scheduler([job], started_at=utc(2024, 12, 8, 12))
    (caught_up,) = restarted.tick(utc(2024, 12, 8, 12))
    assert caught_up.slot == utc(2024, 12, 8, 4)
    assert restarted.tick(utc(2024, 12, 8, 13)) == []
    assert ScheduledRun.objects.count() == 2


def test_jobs_that_are_off_are_not_queued(settings):
    settings.PAPERFEED_SCHEDULE_FETCH = "off"
    settings.PAPERFEED_GITHUB_TOKEN = ""
    jobs = {job.name: job for job in site_jobs()}
    assert jobs["fetch-announcements"].describe() == "fetch-announcements: off"
    assert jobs["refresh-stars"].describe() == (
        "refresh-stars: daily 04:00 UTC (off: no PAPERFEED_GITHUB_TOKEN)"
    )
    assert jobs["send-digests"].describe() == "send-digests: every 15m"
    scheduler = Scheduler(started_at=utc(2024, 12, 1))
    queued = {run.job for run in scheduler.tick(utc(2024, 12, 4, 4, 0, 1))}
    assert "fetch-announcements" not in queued and "refresh-stars" not in queued
    assert "send-digests" in queued  # no subscribers: the run has nothing to do


@pytest.mark.django_db(transaction=True)
def test_schedulers_racing_for_a_slot_queue_it_once():
    job = Job("remember", remember_run, parse_schedule("every 1h"))
    barrier = threading.Barrier(6)

    def tick(_):
        scheduler = Scheduler([job], started_at=utc(2024, 12, 4, 8))
        barrier.wait()
        try:
            return len(scheduler.tick(utc(2024, 12, 4, 9, 0, 1)))
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(tick, range(6))) == 1
    assert RUNS == ["ran"] and ScheduledRun.objects.count() == 1


@pytest.mark.live
def test_two_worker_processes_run_each_slot_once(start, upstream):
    """Two `paperfeed worker` processes on one database (PostgreSQL in the PostgreSQL run:
    as on two machines) schedule the arXiv fetch every second for a few seconds; each slot
    is fetched once, by one of them."""
    upstream.add("/rss/cs.LG", fixture("rss_cs_LG.xml"), content_type="application/rss+xml")
    upstream.add("/api/query", fixture("arxiv_api_empty.atom"), content_type="application/atom+xml")
    server = start(
        "--no-fetch",
        "--no-worker",
        PAPERFEED_CATEGORIES="cs.LG",
        PAPERFEED_ARXIV_LISTING_URL=f"{upstream.url}/rss/",
        PAPERFEED_ARXIV_API_URL=f"{upstream.url}/api/query",
        PAPERFEED_SCHEDULE_FETCH="every 1s",
        PAPERFEED_SCHEDULE_DIGESTS="off",
        PAPERFEED_SCHEDULE_PRUNE="off",
        PAPERFEED_SCHEDULER_INTERVAL="0.1",
    )
    command = [sys.executable, "-m", "paperfeed", "worker", "--no-migrate", "--interval", "0.1"]
    workers = [
        subprocess.Popen(command, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    try:
        time.sleep(6)
    finally:
        for worker in workers:
            worker.terminate()
        logs = [worker.communicate(timeout=30)[0].decode() for worker in workers]
    code = (
        "import json; from django_tasks_db.models import DBTaskResult; "
        "from paperfeed.scheduler.models import ScheduledRun; "
        "runs = ScheduledRun.objects.filter(job='fetch-announcements'); "
        "tasks = DBTaskResult.objects.filter(task_path__endswith='fetch_announcements'); "
        "print(json.dumps({'slots': runs.count(),"
        " 'distinct': runs.values('slot').distinct().count(),"
        " 'tasks': tasks.count(), 'done': tasks.filter(status='SUCCESSFUL').count()}))"
    )
    counts = json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])
    fetches = len(upstream.requests_for("/rss/cs.LG"))
    assert counts["slots"] >= 3, (counts, logs)
    assert counts["slots"] == counts["distinct"] == counts["tasks"]
    # Every queued fetch ran once (the last may still have been running at the stop).
    assert counts["done"] <= fetches <= counts["tasks"], (counts, fetches)
    assert counts["done"] >= counts["tasks"] - 1
    assert all("scheduler: fetch-announcements: every 1s" in log for log in logs), logs


# --- code-repository stars ---------------------------------------------------------------


def repo_paper(n: int, *urls: str) -> Paper:
    record = PaperRecord(
        arxiv_id=f"2412.{n:05d}",
        title=f"Paper {n}",
        abstract="Code: " + " and ".join(urls),
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        published_at=datetime.now(UTC) - timedelta(days=2),
        source="test",
    )
    store_batch([validate(record)])
    return Paper.objects.get(arxiv_id=f"2412.{n:05d}")


def test_stars_come_from_the_github_api_with_the_token(settings, upstream, sleeps):
    settings.PAPERFEED_GITHUB_TOKEN = "ghp_test_token"
    settings.PAPERFEED_GITHUB_API_URL = upstream.url
    paper = repo_paper(1, "https://github.com/acme/fast-thing", "https://github.com/acme/gone")
    other = repo_paper(2, "https://github.com/acme/small")
    upstream.add("/repos/acme/fast-thing", json.dumps({"stargazers_count": 1234}),
                 content_type="application/json")  # fmt: skip
    upstream.add("/repos/acme/gone", '{"message": "Not Found"}', status=404,
                 content_type="application/json")  # fmt: skip
    upstream.add("/repos/acme/small", json.dumps({"stargazers_count": 7}),
                 content_type="application/json")  # fmt: skip
    outcome = stars.refresh_stars()
    assert (outcome.checked, outcome.updated, outcome.gone, outcome.stopped) == (2, 2, 1, "")
    request = upstream.requests_for("/repos/acme/fast-thing")[0]
    assert request["headers"]["Authorization"] == "Bearer ghp_test_token"
    assert request["headers"]["Accept"] == "application/vnd.github+json"
    assert request["headers"]["User-Agent"].startswith("paperfeed/")
    paper.refresh_from_db()
    other.refresh_from_db()
    assert (paper.stars, other.stars) == (1234, 7)
    assert CodeLink.objects.get(url="https://github.com/acme/gone").stars is None


def test_stars_stop_at_the_rate_limit_and_need_a_token(settings, upstream, sleeps):
    settings.PAPERFEED_GITHUB_API_URL = upstream.url
    repo_paper(1, "https://github.com/acme/one")
    repo_paper(2, "https://github.com/acme/two")
    settings.PAPERFEED_GITHUB_TOKEN = ""
    assert stars.refresh_stars() is None and not upstream.requests
    assert stars.outcome_dict(None) == {"skipped": "no PAPERFEED_GITHUB_TOKEN"}

    settings.PAPERFEED_GITHUB_TOKEN = "ghp_test_token"
    upstream.add(
        "/repos/acme/one",
        '{"message": "API rate limit exceeded"}',
        status=403,
        headers={"X-RateLimit-Remaining": "0"},
        content_type="application/json",
    )
    outcome = stars.refresh_stars()
    assert outcome.checked == 0 and "HTTP 403" in outcome.stopped
    assert len(upstream.requests) == 1  # the second repository waits for the next run
