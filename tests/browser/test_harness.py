"""The browser harness itself: mail from a live instance reaches the loopback SMTP server,
and screenshots come out at both widths."""

from __future__ import annotations

import struct

import pytest

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.live, pytest.mark.browser]


def test_live_instance_mails_the_loopback_smtp_server(mail_server, mailbox):
    mail_server.manage("sendtestemail", "someone@example.org")
    message = mailbox.wait_for("someone@example.org")
    assert message["Subject"].startswith("Test email from")
    assert message["To"] == "someone@example.org"
    assert "paperfeed@localhost" in message["From"]
    assert "it was successful" in mailbox.text(message)
    # Links in its mails (verification, password reset) will point at the instance.
    code = "from django.conf import settings; print(settings.PAPERFEED_BASE_URL)"
    assert mail_server.manage("shell", "-c", code).splitlines()[-1] == mail_server.url


def png_width(path) -> int:
    header = path.read_bytes()[:24]
    assert header.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">I", header[16:20])[0]


def test_shot_writes_desktop_and_phone_pages(page, shot, screenshots):
    page.set_content("<title>harness</title><p>" + "text " * 2000)
    shot(page, "harness")
    assert png_width(screenshots / "harness-desktop.png") == DESKTOP["width"]
    assert png_width(screenshots / "harness-phone.png") == PHONE["width"]
    assert page.viewport_size == DESKTOP  # the page is back at its own size
