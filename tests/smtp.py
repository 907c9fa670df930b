"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives.

Usage::

    def test_something(smtp_settings, client):   # Django now sends mail to the server
        ...                                        # do what sends a mail
        message = smtp_settings.last_to("ada@example.org")
        assert "Activate" in message["Subject"]
        link = smtp_settings.links(message)[0]

`smtp_server` is the bare server (one per test session, emptied before each test);
`smtp_settings` also points Django's SMTP backend at it. Messages are parsed with the
`email` package (modern policy), so headers decode and parts can be walked.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Mailbox:
    """The aiosmtpd handler: stores each message before the server answers 250, so a
    message is here as soon as Django's send() returns."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Condition()  # reentrant; notified on every arrival
        self.host = ""
        self.port = 0

    @property
    def url(self) -> str:
        """For PAPERFEED_SMTP_URL of a live instance."""
        return f"smtp://{self.host}:{self.port}"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._lock.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, address: str, timeout: float = 10) -> EmailMessage:
        """The latest message to `address`, waiting for the first one up to `timeout` s
        (mail from another process, such as a live server, arrives when it arrives)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self.to(address) and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
        return self.last_to(address)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [item.message for item in self.received]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope recipients include `address` (any case)."""
        with self._lock:
            return [
                item.message
                for item in self.received
                if address.lower() in (r.lower() for r in item.rcpt_tos)
            ]

    def last_to(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no mail for {address}; received for {self.recipients()}"
        return found[-1]

    def recipients(self) -> list[str]:
        with self._lock:
            return [r for item in self.received for r in item.rcpt_tos]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        """The URLs in the plain text part, in order."""
        return URL.findall(cls.text(message))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def loopback_smtp() -> Iterator[Mailbox]:
    """Run an SMTP server on 127.0.0.1 (a free port) while the block runs."""
    # aiosmtpd logs every SMTP command at INFO; failures still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    mailbox = Mailbox()
    # server_hostname spares a reverse DNS lookup of this machine on every start.
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=_free_port(), server_hostname="localhost"
    )
    controller.start()
    mailbox.host, mailbox.port = controller.hostname, controller.port
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def _smtp_session():
    with loopback_smtp() as mailbox:
        yield mailbox


@pytest.fixture
def smtp_server(_smtp_session) -> Mailbox:
    """The loopback SMTP server, with no messages yet."""
    _smtp_session.clear()
    yield _smtp_session
    _smtp_session.clear()


@pytest.fixture
def smtp_settings(settings, smtp_server) -> Mailbox:
    """Django's SMTP backend pointed at the loopback server (no TLS, no login)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server
