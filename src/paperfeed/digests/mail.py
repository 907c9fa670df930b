"""The digest mail (HTML and plain text), and the short notices about subscriptions.

The digest is written for mail clients, not browsers: one centred table at most 600
pixels wide, inline styles only, no stylesheet, script or image, so that Gmail, Outlook
and phone clients show the same thing. Templates are Jinja2 (digests/jinja2/) for speed:
each paper's block is rendered once per run and reused in every digest that carries it,
and only the reasons and the footer are rendered per subscriber.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import engines
from django.template.loader import render_to_string
from django.urls import reverse
from markupsafe import Markup

from paperfeed.digests.content import Section, paper_ids
from paperfeed.digests.models import Subscription
from paperfeed.digests.tokens import link_token
from paperfeed.papers.math import plain_text
from paperfeed.papers.models import CodeLink, Paper

log = logging.getLogger(__name__)

EXCERPT_CHARS = 160  # about two lines at the mail's width
SPACE = re.compile(r"\s+")


def absolute_url(path: str) -> str:
    return settings.PAPERFEED_BASE_URL.rstrip("/") + path


def mail_domain() -> str:
    return urlsplit(settings.PAPERFEED_BASE_URL).hostname or "localhost"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of an abstract as plain text, cut at a word, with an ellipsis if cut."""
    text = SPACE.sub(" ", plain_text(text or "")).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-")
    return cut + "…"


def author_line(names: list[str]) -> str:
    shown = ", ".join(names[:4])
    return shown + (" et al." if len(names) > 4 else "")


def reason_text(reason: list[str], site_name: str) -> str:
    kind, *rest = reason
    if kind == "trending":
        return f"trending on {site_name}"
    if kind == "search":
        return f"matches your saved search “{rest[0]}”"
    if kind == "author":
        return f"by {rest[0]}, whom you follow"
    if kind == "category":
        return f"new in {rest[0]}"
    return rest[0] if rest else kind  # for_you: the recommender's own words


@dataclass
class PaperBlock:
    html: Markup
    text: str


@dataclass
class RenderedDigest:
    subject: str
    text: str
    html: str
    unsubscribe_url: str


class DigestMail:
    """Renders digests; keep one per run so that paper blocks are shared."""

    def __init__(self) -> None:
        env = engines["jinja2"].env
        self.templates = {
            name: env.get_template(f"digests/{name}")
            for name in ("digest.html", "digest.txt", "_paper.html", "_paper.txt")
        }
        self.site_name = settings.PAPERFEED_SITE_NAME
        self.base_url = settings.PAPERFEED_BASE_URL.rstrip("/")
        self.blocks: dict[int, PaperBlock] = {}
        # One reverse() each; links are built by replacing the placeholder.
        self._paper_path = reverse("papers:detail", args=["ID"])
        self._manage_path = reverse("digests:manage", args=["TOKEN"])
        self._unsubscribe_path = reverse("digests:unsubscribe", args=["TOKEN"])

    def prepare(self, ids: Iterable[int]) -> None:
        """Render the blocks of papers not seen yet: two queries for any number."""
        missing = set(ids) - self.blocks.keys()
        if not missing:
            return
        papers = Paper.objects.filter(pk__in=missing).only(
            "id", "arxiv_id", "version", "title", "abstract", "author_names"
        )
        code = {}
        links = CodeLink.objects.filter(paper_id__in=missing).exclude(kind=CodeLink.Kind.PROJECT)
        for paper_id, url in links.order_by("-id").values_list("paper_id", "url"):
            code[paper_id] = url  # the first link wins (ordered last to first)
        for paper in papers:
            view = {
                "title": SPACE.sub(" ", plain_text(paper.title)).strip(),
                "authors": author_line(paper.author_names),
                "excerpt": excerpt(paper.abstract),
                "url": self.base_url + self._paper_path.replace("ID", paper.arxiv_id),
                "abs_url": paper.abs_url,
                "pdf_url": paper.pdf_url,
                "code_url": code.get(paper.pk, ""),
                "site_name": self.site_name,
            }
            self.blocks[paper.pk] = PaperBlock(
                Markup(self.templates["_paper.html"].render(view)),
                self.templates["_paper.txt"].render(view),
            )

    def subject(self, subscription: Subscription, count: int, label: str) -> str:
        if subscription.frequency == Subscription.Frequency.WEEKLY:
            return f"{self.site_name} weekly: {count} paper{'s' * (count != 1)}, {label}"
        return f"{self.site_name}: {count} paper{'s' * (count != 1)} for {label}"

    def render(
        self, subscription: Subscription, sections: list[Section], label: str
    ) -> RenderedDigest:
        self.prepare(paper_ids(sections))
        shown = [
            {
                "title": section.title,
                "papers": [
                    {
                        "block": self.blocks[item.paper_id],
                        "why": " · ".join(reason_text(r, self.site_name) for r in item.reasons),
                    }
                    for item in section.items
                    if item.paper_id in self.blocks  # a paper deleted since planning
                ],
            }
            for section in sections
        ]
        count = sum(len(section["papers"]) for section in shown)
        unsubscribe_url = self.base_url + self._unsubscribe_path.replace(
            "TOKEN", link_token(subscription, "unsubscribe")
        )
        context = {
            "subject": self.subject(subscription, count, label),
            "label": label,
            "sections": [section for section in shown if section["papers"]],
            "site_name": self.site_name,
            "base_url": self.base_url,
            "frequency": subscription.get_frequency_display().lower(),
            "email": subscription.recipient,
            "manage_url": self.base_url
            + self._manage_path.replace("TOKEN", link_token(subscription, "manage")),
            "unsubscribe_url": unsubscribe_url,
        }
        return RenderedDigest(
            context["subject"],
            self.templates["digest.txt"].render(context),
            self.templates["digest.html"].render(context),
            unsubscribe_url,
        )

    def message(
        self,
        subscription: Subscription,
        sections: list[Section],
        label: str,
        message_id: str,
    ) -> EmailMultiAlternatives:
        digest = self.render(subscription, sections, label)
        headers = {
            "Message-ID": message_id,
            # RFC 2369 and RFC 8058: mail clients show an "Unsubscribe" button that
            # POSTs "List-Unsubscribe=One-Click" to this URL.
            "List-Unsubscribe": f"<{digest.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{self.site_name} digests <digests.{mail_domain()}>",
        }
        message = EmailMultiAlternatives(
            digest.subject,
            digest.text,
            settings.DEFAULT_FROM_EMAIL,
            [subscription.recipient],
            headers=headers,
        )
        message.attach_alternative(digest.html, "text/html")
        return message


# --- notices: confirmation and "you are already subscribed" -----------------------------


def send_notice(to: str, name: str, context: dict) -> bool:
    """Render digests/mail/<name>_subject.txt, <name>.txt and <name>.html and send them;
    False (logged) if the mail server cannot take the message."""
    context = {
        "site_name": settings.PAPERFEED_SITE_NAME,
        "base_url": settings.PAPERFEED_BASE_URL.rstrip("/"),
        **context,
    }
    subject = " ".join(render_to_string(f"digests/mail/{name}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject,
        render_to_string(f"digests/mail/{name}.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [to],
    )
    message.attach_alternative(render_to_string(f"digests/mail/{name}.html", context), "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        log.exception("could not send the %s mail to %s", name, to)
        return False
    return True
