"""Template filters for papers: math rendering, plain-text titles, compact numbers."""

from django import template
from django.utils.safestring import mark_safe

from paperfeed.papers.math import plain_text, render_math

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
