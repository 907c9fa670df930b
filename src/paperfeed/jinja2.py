"""The Jinja2 environment for the few templates that render many items at once (the
cards of a 200-paper day): Jinja2 compiles templates to Python and renders such a list
several times faster than Django's engine. Pages themselves stay Django templates."""

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment

from paperfeed.papers.templatetags.paper_tags import compact, math, nomath


def environment(**options) -> Environment:
    env = Environment(**options)
    env.globals.update({"static": static, "url": lambda name, *args: reverse(name, args=args)})
    env.filters.update({"math": math, "nomath": nomath, "compact": compact})
    return env
