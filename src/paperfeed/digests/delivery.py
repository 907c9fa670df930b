"""The delivery ledger: plan each due digest once, then send it once.

plan: every active subscription whose period's digest is due and not yet in the ledger
gets a Delivery row, with its content (sections of paper ids) fixed there and then and
a SentPaper row for each paper, in one transaction per batch. The unique (subscription,
period) constraint makes a second planner (another worker, the CLI) a no-op.

send: senders claim pending deliveries in batches (SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL; on SQLite the claim is one write transaction, which SQLite serialises) and
hold them for a lease. A delivery is marked sent by a conditional update that only its
current claimant can make, written just before the message's final line goes to the
mail server (see smtp.py). A sender that dies leaves its claimed deliveries in
"sending"; when the lease runs out another sender takes them over and sends them.

Mail server failures: when the server cannot be reached, the batch goes back to the
queue and the run waits, doubling the wait each time (RETRY_SECONDS, 2x, 4x ... up to
RETRY_MAX_SECONDS), for as long as RUN_SECONDS allows; the next run goes on. A server
that refuses one message for now (4xx) costs that delivery an attempt; MAX_ATTEMPTS or
a permanent refusal (5xx) marks it failed and frees its papers for later digests.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from paperfeed.digests.content import (
    PeriodContent,
    Section,
    Wants,
    paper_ids,
    sections_from_json,
    sections_to_json,
)
from paperfeed.digests.mail import DigestMail, mail_domain
from paperfeed.digests.models import (
    Delivery,
    FollowedAuthor,
    SavedSearch,
    SentPaper,
    Subscription,
)
from paperfeed.digests.periods import Period, current_period, is_due
from paperfeed.digests.smtp import DigestSender, SendFailure
from paperfeed.papers.bulk import insert_rows

log = logging.getLogger(__name__)

PLAN_BATCH = 500
State = Delivery.State

# Time is read and spent through these two names, so that tests can replace them.
now = timezone.now
sleep = time.sleep


@dataclass
class RunReport:
    planned: int = 0
    empty: int = 0  # due, but nothing new to send: recorded as skipped
    sent: int = 0
    failed: int = 0
    retried: int = 0
    waiting: int = 0  # still queued when the run ended (a later run sends them)
    lines: list[str] = field(default_factory=list)  # --dry-run: one line per digest

    def summary(self) -> str:
        return (
            f"digests: {self.planned} planned ({self.empty} with nothing new), "
            f"{self.sent} sent, {self.failed} failed, {self.retried} retried, "
            f"{self.waiting} waiting"
        )


# --- planning ----------------------------------------------------------------------------


def due_subscriptions(
    at: datetime, *, frequency: str | None = None, any_hour: bool = False
) -> list[tuple[Subscription, Period]]:
    """Active subscriptions whose current period is due at `at` and not in the ledger.
    With `any_hour`, each one's current period is due now, whatever its hour."""
    subscriptions = Subscription.objects.filter(
        confirmed_at__isnull=False, unsubscribed_at__isnull=True
    ).select_related("user")
    if frequency:
        subscriptions = subscriptions.filter(frequency=frequency)
    due = []
    for subscription in subscriptions.order_by("id").iterator(chunk_size=2000):
        period = current_period(subscription, at)
        if any_hour or is_due(subscription, period, at):
            due.append((subscription, period))
    done = set()
    for start in range(0, len(due), PLAN_BATCH):
        chunk = due[start : start + PLAN_BATCH]
        done.update(
            Delivery.objects.filter(
                subscription_id__in=[s.pk for s, _ in chunk],
                period__in={p.key for _, p in chunk},
            ).values_list("subscription_id", "period")
        )
    return [(s, p) for s, p in due if (s.pk, p.key) not in done]


def wants_of(subscriptions: list[Subscription]) -> dict[int, Wants]:
    """Each subscription's wishes, with members' searches and authors: two queries."""
    users = [s.user_id for s in subscriptions if s.user_id]
    searches, authors = defaultdict(list), defaultdict(list)
    for user_id, query in SavedSearch.objects.filter(user_id__in=users).values_list(
        "user_id", "query"
    ):
        searches[user_id].append(query)
    follows = FollowedAuthor.objects.filter(user_id__in=users).values_list(
        "user_id", "author_id", "author__name"
    )
    for user_id, author_id, name in follows:
        authors[user_id].append((author_id, name))
    return {
        s.pk: Wants(
            trending=s.trending_count,
            categories=list(s.categories or []),
            searches=searches.get(s.user_id, []) if s.user_id else [],
            authors=authors.get(s.user_id, []) if s.user_id else [],
        )
        for s in subscriptions
    }


def sent_papers(subscription_ids: list[int], content: PeriodContent) -> dict[int, set[int]]:
    sent = defaultdict(set)
    rows = SentPaper.objects.filter(
        subscription_id__in=subscription_ids, paper_id__in=content.window.values("pk")
    ).values_list("subscription_id", "paper_id")
    for subscription_id, paper_id in rows:
        sent[subscription_id].add(paper_id)
    return sent


def build_digests(
    due: list[tuple[Subscription, Period]], contents: dict[str, PeriodContent]
) -> list[tuple[Subscription, Period, list[Section]]]:
    """The sections of each due digest, in the order given (reads only)."""
    wants = wants_of([s for s, _ in due])
    sent: dict[int, set[int]] = {}
    for frequency, content in contents.items():
        mine = [s for s, _ in due if s.frequency == frequency]
        content.load_authors({a for s in mine for a, _ in wants[s.pk].authors})
        sent.update(sent_papers([s.pk for s in mine], content))
    return [
        (s, period, contents[s.frequency].build(s, wants[s.pk], sent.get(s.pk, set())))
        for s, period in due
    ]


def plan(
    at: datetime | None = None,
    *,
    frequency: str | None = None,
    any_hour: bool = False,
    dry_run: bool = False,
    report: RunReport | None = None,
) -> RunReport:
    """Put every due digest in the ledger, with its content."""
    at = at or now()
    report = report or RunReport()
    due = due_subscriptions(at, frequency=frequency, any_hour=any_hour)
    contents: dict[str, PeriodContent] = {}
    for start in range(0, len(due), PLAN_BATCH):
        chunk = due[start : start + PLAN_BATCH]
        for subscription, _ in chunk:
            if subscription.frequency not in contents:
                contents[subscription.frequency] = PeriodContent(subscription.frequency, at)
        built = build_digests(chunk, contents)
        if dry_run:
            for subscription, period, sections in built:
                count = len(paper_ids(sections))
                report.lines.append(
                    f"{subscription.recipient}\t{subscription.frequency} {period.key}\t"
                    f"{count} paper{'s' * (count != 1)}"
                )
                report.planned += 1
                report.empty += not count
            continue
        for attempt in range(3):
            try:
                _record(built, at, report)
                break
            except IntegrityError:
                # Another planner recorded some of these first: look again.
                if attempt == 2:
                    raise
    return report


def message_id(subscription: Subscription, period: Period, domain: str) -> str:
    """Short (a folded Message-ID header confuses some tools), unique, and it names the
    ledger row: <2024-12-04.42.9f86d081884c@papers.example.org>."""
    return f"<{period.key}.{subscription.pk}.{secrets.token_hex(6)}@{domain}>"


def _record(built, at: datetime, report: RunReport) -> None:
    domain = mail_domain()
    with transaction.atomic():
        ids = [s.pk for s, _, _ in built]
        taken = set(
            Delivery.objects.filter(
                subscription_id__in=ids, period__in={p.key for _, p, _ in built}
            ).values_list("subscription_id", "period")
        )
        # Papers recorded for these subscribers since the digests were built (a planner
        # of another period running at the same moment) are dropped now.
        recorded = defaultdict(set)
        wanted = {pk for _, _, sections in built for pk in paper_ids(sections)}
        for subscription_id, paper_id in SentPaper.objects.filter(
            subscription_id__in=ids, paper_id__in=wanted
        ).values_list("subscription_id", "paper_id"):
            recorded[subscription_id].add(paper_id)
        deliveries, papers = [], []
        for subscription, period, sections in built:
            if (subscription.pk, period.key) in taken:
                continue
            clash = recorded.get(subscription.pk)
            if clash:
                for section in sections:
                    section.items = [i for i in section.items if i.paper_id not in clash]
                sections = [s for s in sections if s.items]
            delivery = Delivery(
                subscription=subscription,
                period=period.key,
                state=State.PENDING if sections else State.SKIPPED,
                content={"label": period.label, "sections": sections_to_json(sections)},
                message_id=message_id(subscription, period, domain) if sections else "",
                next_attempt_at=at,
            )
            deliveries.append(delivery)
            papers.append(paper_ids(sections))
        Delivery.objects.bulk_create(deliveries, batch_size=500)
        # Tens of rows per digest: plain multi-row INSERTs (bulk_create is 3x slower here).
        insert_rows(
            SentPaper,
            ["subscription_id", "paper_id", "delivery_id"],
            [
                (d.subscription_id, pk, d.pk)
                for d, ids_ in zip(deliveries, papers, strict=True)
                for pk in ids_
            ],
        )
    report.planned += len(deliveries)
    report.empty += sum(1 for d in deliveries if d.state == State.SKIPPED)


# --- sending -----------------------------------------------------------------------------


def backoff(failures: int) -> float:
    base = settings.PAPERFEED_DIGEST_RETRY_SECONDS
    return min(base * 2 ** max(failures - 1, 0), settings.PAPERFEED_DIGEST_RETRY_MAX_SECONDS)


def claim(token: str, size: int) -> list[int]:
    """Take up to `size` deliveries that are due or whose sender's lease ran out."""
    moment = now()
    with transaction.atomic():
        ready = Delivery.objects.filter(
            Q(state=State.PENDING, next_attempt_at__lte=moment)
            | Q(state=State.SENDING, lease_until__lt=moment)
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            ready = ready.select_for_update(skip_locked=True)
        ids = list(ready.values_list("pk", flat=True)[:size])
        lease = moment + timedelta(seconds=settings.PAPERFEED_DIGEST_LEASE_SECONDS)
        Delivery.objects.filter(pk__in=ids).update(
            state=State.SENDING, claim=token, lease_until=lease
        )
    return ids


def next_retry() -> datetime | None:
    """When the earliest delivery waiting for a retry becomes due. (Deliveries another
    sender holds are not waited for: if that sender died, a later run takes them over
    once its lease has run out.)"""
    return Delivery.objects.filter(state=State.PENDING).aggregate(at=Min("next_attempt_at"))["at"]


class Run:
    """One sender: claims batches and sends them until the queue is empty or time is up."""

    def __init__(self, report: RunReport, seconds: float | None = None):
        self.report = report
        self.token = uuid.uuid4().hex
        self.deadline = now() + timedelta(
            seconds=settings.PAPERFEED_DIGEST_RUN_SECONDS if seconds is None else seconds
        )
        self.mail = DigestMail()
        self.sender = DigestSender()
        self.outages = 0  # connection failures in a row
        self.pause_until: datetime | None = None  # after one: wait before trying again

    def mine(self, pk: int):
        return Delivery.objects.filter(pk=pk, claim=self.token)

    def send_all(self) -> None:
        try:
            while True:
                if self.pause_until is not None:
                    if self.pause_until > self.deadline:
                        break
                    sleep(max(0.0, (self.pause_until - now()).total_seconds()))
                    self.pause_until = None
                ids = claim(self.token, settings.PAPERFEED_DIGEST_BATCH)
                if ids:
                    self.send_batch(ids)
                    continue
                wake = next_retry()
                if wake is None or wake > self.deadline:
                    break
                sleep(max(0.0, (wake - now()).total_seconds()))
        finally:
            self.sender.close()
            self.report.waiting = Delivery.objects.filter(
                state__in=[State.PENDING, State.SENDING]
            ).count()

    def send_batch(self, ids: list[int]) -> None:
        deliveries = list(
            Delivery.objects.filter(pk__in=ids, claim=self.token)
            .select_related("subscription__user")
            .order_by("id")
        )
        self.mail.prepare(
            {pk for d in deliveries for s in d.content.get("sections", []) for pk, _ in s["items"]}
        )
        for position, delivery in enumerate(deliveries):
            if not self.send_one(delivery):
                # The mail server is unreachable: hand the rest back, and wait (the
                # whole run, not just this batch) before trying again.
                rest = [d.pk for d in deliveries[position + 1 :]]
                self.pause_until = now() + timedelta(seconds=backoff(self.outages))
                Delivery.objects.filter(pk__in=rest, claim=self.token, state=State.SENDING).update(
                    state=State.PENDING,
                    claim="",
                    lease_until=None,
                    next_attempt_at=self.pause_until,
                )
                return

    def send_one(self, delivery: Delivery) -> bool:
        """Send one claimed delivery; False when the mail server could not be reached."""
        subscription = delivery.subscription
        if not subscription.is_active:  # unsubscribed since it was planned
            with transaction.atomic():
                if (
                    self.mine(delivery.pk)
                    .filter(state=State.SENDING)
                    .update(state=State.SKIPPED, last_error="unsubscribed before sending")
                ):
                    SentPaper.objects.filter(delivery=delivery).delete()
            return True
        sections = sections_from_json(delivery.content.get("sections", []))
        try:
            message = self.mail.message(
                subscription, sections, delivery.content.get("label", ""), delivery.message_id
            )
        except Exception as error:  # one digest that cannot be rendered must not stop the run
            log.exception("digests: cannot render %s", delivery)
            return self.failed(delivery, SendFailure(f"cannot render: {error!r}"))

        def commit() -> bool:
            return bool(
                self.mine(delivery.pk)
                .filter(state=State.SENDING)
                .update(state=State.SENT, sent_at=now(), attempts=F("attempts") + 1)
            )

        try:
            delivered = self.sender.send(message, commit)
        except SendFailure as failure:
            return self.failed(delivery, failure)
        if delivered:
            self.mine(delivery.pk).update(accepted_at=now())
            self.report.sent += 1
            self.outages = 0
        return True

    def failed(self, delivery: Delivery, failure: SendFailure) -> bool:
        was = State.SENT if failure.committed else State.SENDING
        attempts = delivery.attempts + 1
        if failure.connection:
            self.outages += 1
            wait = backoff(self.outages)
            log.warning("digests: mail server unreachable (%s); retrying in %.1f s", failure, wait)
            # Not this message's fault: no attempt is counted against it.
            self.mine(delivery.pk).filter(state=was).update(
                state=State.PENDING,
                claim="",
                lease_until=None,
                sent_at=None,
                attempts=delivery.attempts,
                next_attempt_at=now() + timedelta(seconds=wait),
                last_error=str(failure)[:2000],
            )
            self.report.retried += 1
            return False
        if failure.permanent or attempts >= settings.PAPERFEED_DIGEST_MAX_ATTEMPTS:
            log.warning("digests: %s failed for good: %s", delivery, failure)
            with transaction.atomic():
                if (
                    self.mine(delivery.pk)
                    .filter(state=was)
                    .update(
                        state=State.FAILED,
                        attempts=attempts,
                        sent_at=None,
                        last_error=str(failure)[:2000],
                    )
                ):
                    # Its papers were never delivered: later digests may carry them.
                    SentPaper.objects.filter(delivery=delivery).delete()
            self.report.failed += 1
            return True
        self.mine(delivery.pk).filter(state=was).update(
            state=State.PENDING,
            claim="",
            lease_until=None,
            sent_at=None,
            attempts=attempts,
            next_attempt_at=now() + timedelta(seconds=backoff(attempts)),
            last_error=str(failure)[:2000],
        )
        self.report.retried += 1
        return True


def send_pending(report: RunReport | None = None, *, seconds: float | None = None) -> RunReport:
    """Send every queued delivery (this run's and any left by earlier runs)."""
    report = report or RunReport()
    Run(report, seconds).send_all()
    return report


def send_digests(
    *,
    frequency: str | None = None,
    any_hour: bool = False,
    dry_run: bool = False,
    seconds: float | None = None,
) -> RunReport:
    """Plan what is due, then send everything queued: the scheduled job and the CLI."""
    report = plan(frequency=frequency, any_hour=any_hour, dry_run=dry_run)
    if not dry_run:
        send_pending(report, seconds=seconds)
    log.info("%s", report.summary())
    return report


def preview(subscription: Subscription, at: datetime | None = None):
    """(period, rendered digest) of what this subscriber would get now; records nothing."""
    at = at or now()
    period = current_period(subscription, at)
    content = PeriodContent(subscription.frequency, at)
    ((_, _, sections),) = build_digests([(subscription, period)], {subscription.frequency: content})
    return period, DigestMail().render(subscription, sections, period.label)
