"""A paper page as Markdown (`/papers/<id>.md`), what the Hugging Face client's
`read_paper` fetches: for scripts and agents that want the page as text.

Every stored text is escaped for Markdown renderers: `<`, `>` and `&` become entities
(so hostile HTML in a title, abstract or comment stays text wherever the file is
rendered), and comments are quoted so that their own Markdown cannot break the page's
structure."""

from __future__ import annotations

from paperfeed.community.models import Comment
from paperfeed.papers.models import CodeLink, Paper

MAX_COMMENTS = 200


def inert(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    return " ".join(inert(text).split())


def paper_markdown(paper: Paper, page_url: str) -> str:
    lines = [f"# {_one_line(paper.title)}", ""]
    if paper.author_names:
        lines.append(f"**Authors:** {', '.join(_one_line(n) for n in paper.author_names)}")
    facts = [f"**arXiv:** {paper.arxiv_id}" + (f"v{paper.version}" if paper.version else "")]
    if paper.published_at:
        facts.append(f"**Published:** {paper.published_at:%Y-%m-%d}")
    if paper.categories:
        facts.append(f"**Categories:** {', '.join(_one_line(c) for c in paper.categories)}")
    facts.append(f"**Upvotes:** {paper.upvotes}")
    facts.append(f"**Comments:** {paper.num_comments}")
    lines += ["", " · ".join(facts), "", "## Links", ""]
    lines.append(f"- Page: <{page_url}>")
    lines.append(f"- arXiv: <https://arxiv.org/abs/{paper.arxiv_id}>")
    lines.append(f"- PDF: <https://arxiv.org/pdf/{paper.arxiv_id}>")
    for link in CodeLink.objects.filter(paper=paper).order_by("id"):
        label = link.get_kind_display()
        stars = f" ({link.stars} stars)" if link.stars is not None else ""
        lines.append(f"- {label}: <{inert(link.url)}>{stars}")
    lines += ["", "## Abstract", "", inert(paper.abstract.strip()) or "(no abstract)"]
    comments = list(
        Comment.objects.filter(paper=paper, hidden=False, deleted_at__isnull=True)
        .select_related("user")
        .order_by("created_at", "id")[:MAX_COMMENTS]
    )
    if comments:
        lines += ["", "## Discussion", ""]
        for comment in comments:
            marker = "  - " if comment.parent_id else "- "
            indent = " " * len(marker)
            body = inert(comment.body.strip()).splitlines() or [""]
            lines.append(
                f"{marker}**{_one_line(comment.user.username)}** "
                f"({comment.created_at:%Y-%m-%d}){' (reply)' if comment.parent_id else ''}:"
            )
            lines += [f"{indent}> {line}".rstrip() for line in body]
    return "\n".join(lines) + "\n"
