"""Template filters for papers: math rendering, plain-text titles, compact numbers."""

from django import template
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import reverse
from django.utils.safestring import mark_safe

from paperfeed.papers.math import plain_text, render_math
from paperfeed.papers.selectors import attach_code_links

register = template.Library()


@register.filter
def math(text: str) -> str:
    """Escape the text and render its $...$ formulas as MathML."""
    return mark_safe(render_math(str(text or "")))  # render_math escapes all text


@register.filter
def nomath(text: str) -> str:
    return plain_text(str(text or ""))


@register.filter
def compact(number: int | None) -> str:
    """1234 -> 1.2k, for star counts."""
    if number is None:
        return ""
    if number < 1000:
        return str(number)
    if number < 1_000_000:
        return f"{number / 1000:.1f}k".replace(".0k", "k")
    return f"{number / 1_000_000:.1f}M".replace(".0M", "M")


@register.filter
def get_item(mapping: dict, key):
    """mapping[key] in a template, or None."""
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def cards(context, entries, link_categories: bool = False) -> str:
    """Render paper cards through the Jinja2 template papers/cards.html (fast lists)."""
    request = context["request"]
    template = get_template("papers/cards.html", using="jinja2")
    attach_code_links([entry.paper for entry in entries])
    # URLs are built from one reversed pattern each rather than 600 reverse() calls, and
    # the CSRF token is fetched once (every lookup of the lazy one masks it anew).
    paper_url = reverse("papers:detail", args=["ID"])
    vote_url = reverse("community:vote", args=["ID"])
    # Jinja2 escapes every value itself (autoescape on), so its output is safe HTML.
    return mark_safe(
        template.render(
            {
                "entries": entries,
                "link_categories": link_categories,
                "next": request.get_full_path(),
                "csrf": get_token(request),
                "paper_url": lambda arxiv_id: paper_url.replace("ID", arxiv_id),
                "vote_url": lambda arxiv_id: vote_url.replace("ID", arxiv_id),
            },
            request,
        )
    )
