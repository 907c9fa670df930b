"""Account mails: each is three templates under accounts/mail/ (subject, plain text and
HTML), sent as one message with the HTML as an alternative."""

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

log = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """A link for a mail: PAPERFEED_BASE_URL (scheme and host) followed by a site path."""
    return settings.PAPERFEED_BASE_URL.rstrip("/") + path


def mail_context(extra: dict) -> dict:
    return {
        "site_name": settings.PAPERFEED_SITE_NAME,
        "base_url": settings.PAPERFEED_BASE_URL.rstrip("/"),
        **extra,
    }


def send_account_mail(to: str, name: str, context: dict) -> bool:
    """Render accounts/mail/<name>_subject.txt, <name>.txt and <name>.html and send them.

    Returns False (and logs) when the mail server cannot be reached or refuses the
    message, so that a page can say so instead of failing with a server error.
    """
    context = mail_context(context)
    subject = render_to_string(f"accounts/mail/{name}_subject.txt", context)
    subject = " ".join(subject.split())  # one line, whatever the template looks like
    text = render_to_string(f"accounts/mail/{name}.txt", context)
    html = render_to_string(f"accounts/mail/{name}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        log.exception("could not send the %s mail to %s", name, to)
        return False
    return True
