import pytest

from paperfeed.papers import http

pytest_plugins = ["tests.upstream", "tests.smtp", "tests.live"]


@pytest.fixture
def sleeps(monkeypatch):
    """Replace the HTTP client's sleep (time is the one thing tests mock) and record waits."""
    waited: list[float] = []
    monkeypatch.setattr(http, "sleep", waited.append)
    return waited


@pytest.fixture
def upstream_settings(settings, upstream):
    """Point every upstream address at the loopback server."""
    settings.PAPERFEED_ARXIV_API_URL = f"{upstream.url}/api/query"
    settings.PAPERFEED_ARXIV_OAI_URL = f"{upstream.url}/oai"
    settings.PAPERFEED_ARXIV_LISTING_URL = f"{upstream.url}/rss/"
    settings.PAPERFEED_HF_API_URL = upstream.url
    return upstream
