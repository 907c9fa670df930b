"""Sending one digest through Django's mail backend, with the ledger written at the
one moment that makes a crash safe.

Over SMTP a message is delivered when the server receives the line "." that ends its
data and answers 250; a connection that drops before that line delivers nothing. So the
sender sends the whole message, then calls `commit` (which marks the delivery sent in
the database, if this sender still holds it), and only then sends the final ".":

- the sender dies before `commit`: nothing was delivered and the ledger says so; the
  delivery is sent again (by whoever takes it over);
- `commit` says another sender took the delivery over: the connection is dropped
  without the final line, so that copy is never delivered;
- the sender dies after `commit` but before its "." leaves (microseconds): the ledger
  says sent and nothing arrives. The one way to lose a digest; it never doubles one.

Backends other than SMTP (the console backend of an instance with no mail server) get
`commit` just before the message is handed over: at most once there too.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class SendFailure(Exception):
    """A digest that did not go.

    permanent: the server refused it for good (5xx): do not try again.
    connection: the server could not be reached or went away: not this message's fault.
    committed: `commit` had already marked it sent; the caller must undo that.
    """

    def __init__(self, why: str, *, permanent=False, connection=False, committed=False):
        super().__init__(why)
        self.permanent = permanent
        self.connection = connection
        self.committed = committed


class DigestSender:
    """One connection to the mail server, reused for message after message."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)
        self.smtp = isinstance(self.backend, SMTPBackend)

    def close(self) -> None:
        try:
            self.backend.close()
        except OSError:
            self._drop()

    def send(self, message: EmailMessage, commit: Callable[[], bool]) -> bool:
        """Deliver `message`; False (nothing delivered) if `commit` returned False."""
        if not self.smtp:
            if not commit():
                return False
            try:
                self.backend.send_messages([message])
            except OSError as error:
                raise SendFailure(str(error), connection=True, committed=True) from error
            return True
        try:
            return self._send_smtp(message, commit, retry_stale=True)
        except SendFailure:
            raise
        except OSError as error:  # smtplib's errors are OSErrors too
            self._drop()
            raise SendFailure(_describe(error), connection=True) from error

    def _send_smtp(self, message: EmailMessage, commit: Callable[[], bool], retry_stale: bool):
        fresh = self.backend.open()
        smtp = self.backend.connection
        if fresh and smtp.sock is not None:
            # The final line goes alone, after the message: without this, Nagle's
            # algorithm holds it back until the server acknowledges the message (a delayed
            # ACK: tens of milliseconds per digest).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(message.from_email, encoding)
        recipients = [sanitize_address(address, encoding) for address in message.recipients()]
        data = LEADING_DOT.sub(b"..", message.message().as_bytes(linesep="\r\n"))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            smtp.ehlo_or_helo_if_needed()
            self._expect(smtp.mail(sender), (250,), "MAIL FROM")
            for recipient in recipients:
                self._expect(smtp.rcpt(recipient), (250, 251), f"RCPT TO {recipient}")
            self._expect(smtp.docmd("DATA"), (354,), "DATA")
            smtp.send(data)
        except SendFailure:
            raise
        except OSError:
            self._drop()
            if fresh or not retry_stale:
                raise
            # A kept-open connection the server closed while idle: one more try.
            return self._send_smtp(message, commit, retry_stale=False)
        # The server holds the whole message and waits for the final line.
        try:
            committed = commit()
        except BaseException:
            self._drop()
            raise
        if not committed:
            self._drop()  # never send the final line: the server discards the message
            return False
        try:
            smtp.send(b".\r\n")
        except OSError as error:
            self._drop()
            raise SendFailure(_describe(error), connection=True, committed=True) from error
        try:
            code, reply = smtp.getreply()
        except OSError as error:
            # The final line left but no answer came: most likely the server died before
            # reading it. Like any SMTP client, count it as not delivered (a copy may
            # come twice in the rare case that the server took it and then went away).
            self._drop()
            raise SendFailure(
                "no answer to the end of the message: " + _describe(error),
                connection=True,
                committed=True,
            ) from error
        if code != 250:
            raise SendFailure(
                f"end of data: {code} {_text(reply)}", permanent=code >= 500, committed=True
            )
        return True

    def _expect(self, answer: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
        code, reply = answer
        if code in codes:
            return
        if code == -1 or code == 421:  # 421: the server is closing the connection
            self._drop()
            raise SendFailure(f"{step}: {code} {_text(reply)}", connection=True)
        try:
            self.backend.connection.rset()
        except OSError:
            self._drop()
        raise SendFailure(f"{step}: {code} {_text(reply)}", permanent=code >= 500)

    def _drop(self) -> None:
        """Close the socket without QUIT (mid-message, QUIT would be read as data)."""
        connection = self.backend.connection
        self.backend.connection = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")
