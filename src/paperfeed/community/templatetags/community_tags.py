"""Template helpers for the community partials."""

from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict, key):
    """`{{ verified_authors|lookup:author.pk }}`: a dict item by a variable key."""
    return mapping.get(key) if hasattr(mapping, "get") else None
