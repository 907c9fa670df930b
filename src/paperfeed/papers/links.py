"""Find code repositories and project pages in an abstract or a comments field.

URLs are normalised (https, lower-case host, no .git, no trailing punctuation, no
sub-paths below a repository) so that the same repository written three ways is one link.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

URL = re.compile(
    r"(?:https?://|(?<![\w./@-])(?=(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org"
    r"|huggingface\.co)/))[^\s<>\"'{}|\\^`\[\]]+",
    re.IGNORECASE,
)
PROJECT_CUE = re.compile(
    r"(project|demo)\s*(page|website|site|webpage)|home\s*page|web\s*page|website", re.I
)
BARE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co")
TRAILING = ".,;:!?)]}>'\""
HF_KINDS = {"datasets", "spaces", "models"}
HF_NOT_REPOS = {"papers", "docs", "blog", "join", "login", "settings", "collections", "learn"}


def _repo_path(path: str, depth: int) -> str | None:
    parts = [p for p in path.split("/") if p]
    if depth < 1 or len(parts) < depth:
        return None
    parts = parts[:depth]
    parts[-1] = parts[-1].removesuffix(".git")
    return "/".join(parts)


def classify(url: str) -> tuple[str, str] | None:
    """Return (kind, normalised url) for a code or project URL, or None to ignore it."""
    url = url.rstrip(TRAILING)
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or "." not in host:
        return None
    path = parts.path
    if host == "github.com":
        repo = _repo_path(path, 2)
        return ("github", f"https://github.com/{repo.lower()}") if repo else None
    if host == "bitbucket.org":
        repo = _repo_path(path, 2)
        return ("bitbucket", f"https://bitbucket.org/{repo.lower()}") if repo else None
    if host == "gitlab.com":
        # GitLab projects may sit in nested groups; "/-/" starts the in-project part.
        project = path.split("/-/")[0]
        repo = _repo_path(project, len([p for p in project.split("/") if p]))
        if not repo or "/" not in repo:
            return None
        return "gitlab", f"https://gitlab.com/{repo.lower()}"
    if host == "huggingface.co":
        segments = [p for p in path.split("/") if p]
        if not segments or segments[0] in HF_NOT_REPOS:
            return None
        depth = 3 if segments[0] in HF_KINDS else 2
        repo = _repo_path(path, depth)
        return ("huggingface", f"https://huggingface.co/{repo}") if repo else None
    return None


def _project_url(url: str) -> str | None:
    url = url.rstrip(TRAILING)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in {"http", "https"} or not host or "." not in host:
        return None
    if host.endswith("arxiv.org") or host.endswith("doi.org"):
        return None
    path = parts.path.rstrip("/")
    return f"https://{host}{path}" + (f"?{parts.query}" if parts.query else "")


def _may_have_url(text: str) -> bool:
    """Cheap test that lets most abstracts (no URL at all) skip the URL regex."""
    lowered = text.lower()
    return "://" in lowered or any(host in lowered for host in BARE_HOSTS)


def extract_links(*texts: str | None) -> list[tuple[str, str]]:
    """All (kind, url) pairs found in the texts, in order of appearance, deduplicated."""
    found: dict[str, str] = {}
    for text in texts:
        if not text or not _may_have_url(text):
            continue
        for match in URL.finditer(text):
            raw = match.group(0)
            if hit := classify(raw):
                found.setdefault(hit[1], hit[0])
                continue
            try:
                host = (urlsplit(raw).hostname or "").lower() if "://" in raw else ""
            except ValueError:
                continue
            before = text[max(0, match.start() - 60) : match.start()]
            cued = host.endswith(".github.io") or PROJECT_CUE.search(before)
            if cued and (url := _project_url(raw)):
                found.setdefault(url, "project")
    return [(kind, url) for url, kind in found.items()]
