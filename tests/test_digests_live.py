"""Digests against the real thing: `paperfeed serve` and `paperfeed worker` processes, the
`paperfeed digest` command, and an SMTP server on loopback.

- subscribe through the form, confirm through the mailed link, get the digest with the
  right papers and headers, unsubscribe with the one-click POST, get nothing more;
- a worker killed (SIGKILL) in the middle of 1,000 digests, then a new one started;
- the mail server stopped for a while in the middle of 1,000 digests;
after which every subscriber has exactly one digest, counted at the SMTP server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.live import free_port
from tests.smtp import Mailbox

pytestmark = [pytest.mark.live, pytest.mark.django_db]

# Papers listed today in the live instance: (id, title, upvotes, categories).
PAPERS = [
    ("2412.00001", "Alpha: sparse attention for long documents", 12, ["cs.CL"]),
    ("2412.00002", "Beta: diffusion models for protein design", 7, ["cs.LG"]),
    ("2412.00003", "Gamma: neural decoders for quantum codes", 2, ["quant-ph"]),
]

SETUP = """
from datetime import timedelta
from django.utils import timezone
from paperfeed.digests.models import Subscription
from paperfeed.papers.models import Paper
from paperfeed.papers.records import ListingInfo, PaperRecord, validate
from paperfeed.papers.upsert import store_batch

today = timezone.localdate()
papers = {papers!r}
store_batch([
    validate(PaperRecord(
        arxiv_id=arxiv_id, title=title, abstract="We study " + title.lower() + ".",
        authors=["Ada Lovelace"], categories=categories,
        published_at=timezone.now() - timedelta(days=1),
        listing=ListingInfo(date=today, source="announcement"), source="test",
    ))
    for arxiv_id, title, _, categories in papers
])
for arxiv_id, _, votes, _ in papers:
    Paper.objects.filter(arxiv_id=arxiv_id).update(upvotes=votes)
Subscription.objects.bulk_create([
    Subscription(email=f"s{{n:04d}}@example.org", hour=0,
                 confirmed_at=timezone.now() - timedelta(days=2))
    for n in range({subscribers})
])
"""

QUIET = {
    "PAPERFEED_SEMANTIC": "off",  # no embedding model in the worker
    "PAPERFEED_SCHEDULE_FETCH": "off",
    "PAPERFEED_SCHEDULE_PRUNE": "off",
}


def fill(server, subscribers: int = 0) -> None:
    server.manage("shell", "-c", SETUP.format(papers=PAPERS, subscribers=subscribers))


def csrf(page: str, action: str) -> str:
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"no form for {action}"
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(1)).group(1)


def subscribe_through_the_site(server, mailbox: Mailbox, email: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        page = browser.get("/papers/trending").text
        answer = browser.post(
            "/digests/subscribe",
            data={"email": email, "csrfmiddlewaretoken": csrf(page, "/digests/subscribe")},
        )
        assert answer.status_code == 200 and "Check your mail" in answer.text
        confirmation = mailbox.wait_for(email)
        (link,) = [u for u in mailbox.links(confirmation) if "/digests/confirm/" in u]
        assert link.startswith(server.url + "/digests/confirm/")
        page = browser.get(link)
        assert "Yes, subscribe me" in page.text
        path = link.removeprefix(server.url)
        done = browser.post(link, data={"csrfmiddlewaretoken": csrf(page.text, path)})
        assert done.status_code == 302 and "/digests/manage/" in done.headers["location"]


def test_subscribe_confirm_receive_and_unsubscribe_in_one_click(start, smtp_server):
    mailbox = smtp_server
    server = start("--no-fetch", PAPERFEED_SMTP_URL=mailbox.url, **QUIET)
    fill(server)
    subscribe_through_the_site(server, mailbox, "reader@example.org")

    run = server.cli("digest", "send", "--now")
    assert "1 planned (0 with nothing new), 1 sent, 0 failed" in run.stdout, run.stdout
    messages = mailbox.to("reader@example.org")
    assert len(messages) == 2  # the confirmation, then the digest
    digest = messages[-1]
    assert re.fullmatch(r"paperfeed: 3 papers for \w{3} \d+ \w{3} \d{4}", digest["Subject"])
    text = Mailbox.text(digest).replace("\r\n", "\n")
    assert re.findall(r"^\* (.+)$", text, re.M) == [title for _, title, _, _ in PAPERS]
    assert text.count("Why: trending on paperfeed") == 3
    html = Mailbox.html(digest)
    for arxiv_id, title, _, _ in PAPERS:
        assert f'href="{server.url}/papers/{arxiv_id}"' in html and title in html
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<([^>]+)>", digest["List-Unsubscribe"].strip()).group(1)
    assert unsubscribe.startswith(f"{server.url}/digests/unsubscribe/")
    assert f"Unsubscribe: {unsubscribe}" in text

    # What a mail client does for its "Unsubscribe" button (RFC 8058): a bare POST.
    answer = httpx.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 200 and "You are unsubscribed" in answer.text

    # The next run still mails a new subscriber, and nothing more to the reader.
    subscribe_through_the_site(server, mailbox, "other@example.org")
    run = server.cli("digest", "send", "--now")
    assert "1 planned (0 with nothing new), 1 sent" in run.stdout, run.stdout
    assert len(mailbox.to("other@example.org")) == 2
    assert len(mailbox.to("reader@example.org")) == 2
    status = server.cli("digest", "status").stdout
    assert re.search(r"sent: 2\b", status) and re.search(r"pending: 0\b", status)


def worker(server, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paperfeed", "worker", "--no-migrate", "--interval", "0.2"],
        env=server.env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(condition, timeout: float, what: str, explain=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{explain()}")
        time.sleep(0.05)


def assert_one_each(mailbox: Mailbox, n: int) -> None:
    counts = Counter(mailbox.recipients())
    twice = {address: k for address, k in counts.items() if k > 1}
    assert not twice, f"{len(twice)} subscribers got more than one digest: {list(twice)[:5]}"
    missing = {f"s{k:04d}@example.org" for k in range(n)} - counts.keys()
    assert not missing, f"{len(missing)} subscribers got none: {sorted(missing)[:5]}"


class KillingMailbox(Mailbox):
    """An SMTP server that SIGKILLs the sending worker the moment it has stored message
    number `at`, before it answers 250: the worst moment for a sender that records a
    digest as sent once the server has answered (it would send that one again), and the
    moment a sender dies in while the server takes a message."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at
        self.victim: int | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        answer = await super().handle_DATA(server, session, envelope)
        if self.victim is not None and len(self.received) == self.at:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None
        return answer


def test_worker_killed_in_the_middle_of_1000_digests(start, tmp_path):
    """The worker inside `paperfeed serve` would do; a `paperfeed worker` is the same
    program and easier to kill by itself. SIGKILL: no clean-up of any kind. It dies with
    a batch of digests claimed (taken over when the lease runs out) and one digest
    stored by the server but not answered."""
    mailbox = KillingMailbox(at=300)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), server_hostname="x")
    controller.start()
    mailbox.host, mailbox.port = controller.hostname, controller.port
    server = start(
        "--no-fetch",
        "--no-worker",
        PAPERFEED_SMTP_URL=mailbox.url,
        PAPERFEED_SCHEDULE_DIGESTS="every 1s",
        PAPERFEED_SCHEDULER_INTERVAL="0.2",
        PAPERFEED_DIGEST_LEASE_SECONDS="2",
        PAPERFEED_DIGEST_BATCH="20",
        **QUIET,
    )
    fill(server, subscribers=1000)
    log = tmp_path / "workers.log"

    def explain() -> str:
        status = server.cli("digest", "status", check=False).stdout
        return f"{status}\n{log.read_text()[-6000:]}"

    first = worker(server, log)
    mailbox.victim = first.pid
    try:
        assert first.wait(timeout=120) == -signal.SIGKILL, explain()
        assert len(mailbox.received) == 300
        second = worker(server, log)
        try:
            wait_until(
                lambda: len(set(mailbox.recipients())) >= 1000, 120, "1000 subscribers", explain
            )
            time.sleep(3)  # past another lease: anything sent twice would have arrived
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        controller.stop()
    assert_one_each(mailbox, 1000)
    status = server.cli("digest", "status").stdout
    assert re.search(r"sent: 1,000\b", status), status


def test_mail_server_stopped_for_a_while_in_the_middle_of_1000_digests(start):
    port = free_port()
    mailbox = Mailbox()
    mailbox.host, mailbox.port = "127.0.0.1", port

    def smtp_server() -> Controller:
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="x")
        controller.start()
        return controller

    controller = smtp_server()
    server = start(
        "--no-fetch",
        "--no-worker",
        PAPERFEED_SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=3",
        PAPERFEED_DIGEST_RETRY_SECONDS="0.2",
        **QUIET,
    )
    fill(server, subscribers=1000)
    sender = subprocess.Popen(
        [sys.executable, "-m", "paperfeed", "digest", "send"],
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: len(mailbox.received) >= 300, 120, "300 digests")
        controller.stop()
        stopped_at = len(mailbox.received)
        time.sleep(2)
        assert len(mailbox.received) == stopped_at  # really down
        controller = smtp_server()
        output, _ = sender.communicate(timeout=120)
    finally:
        controller.stop()
        if sender.poll() is None:
            sender.kill()
    assert sender.returncode == 0, output
    assert "1000 planned (0 with nothing new), 1000 sent, 0 failed" in output, output
    retried = int(re.search(r"(\d+) retried", output).group(1))
    assert retried >= 1 and "mail server unreachable" in output
    assert_one_each(mailbox, 1000)
