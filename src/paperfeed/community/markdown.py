"""Comment Markdown: a small CommonMark subset rendered to HTML, then sanitised.

Two independent layers: markdown-it-py with raw HTML off (so `<script>` stays text),
then nh3 with an allow-list, which is what actually guarantees the output is safe.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
# "*" empty: no attribute on every tag (nh3 would otherwise allow lang and title).
ALLOWED_ATTRIBUTES = {"a": {"href"}, "*": set()}
LINK_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

# Headings, rules and images would only be stripped by the sanitiser; turning the rules
# off keeps their text readable instead ("# not a heading" stays as typed).
_parser = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(
    ["heading", "lheading", "hr", "image", "html_block", "html_inline"]
)


def render_markdown(text: str) -> str:
    """Safe HTML for a comment body (see docs/community.md for the subset)."""
    html = _parser.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=LINK_SCHEMES,
        url_relative="deny",  # a link must say where it goes: http(s) or mailto only
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
