"""A polite HTTP client for upstream services: spacing between calls, retries with
backoff, Retry-After, and bodies read whole or not at all.

Time is read through `clock` and spent through `sleep` so that tests can replace both.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from datetime import UTC, datetime

import httpx
from django.conf import settings

from paperfeed import __version__

log = logging.getLogger(__name__)

clock = time.monotonic
sleep = time.sleep

USER_AGENT = (
    f"paperfeed/{__version__} (self-hosted daily papers; +https://pypi.org/project/paperfeed)"
)
RETRY_STATUSES = {429, 500, 502, 503, 504}


class UpstreamError(Exception):
    """An upstream service failed for good (after retries) or refused the request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status of a refusal, when there was one


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PoliteClient:
    """GETs with at least `min_interval` seconds between the starts of two calls."""

    _locks: dict[str, threading.Lock] = {}
    _last_call: dict[str, float] = {}

    def __init__(
        self,
        name: str,
        *,
        min_interval: float = 0.0,
        retries: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.name = name
        self.min_interval = min_interval
        self.retries = settings.PAPERFEED_HTTP_RETRIES if retries is None else retries
        self.max_wait = settings.PAPERFEED_HTTP_MAX_WAIT
        self.client = httpx.Client(
            timeout=settings.PAPERFEED_HTTP_TIMEOUT,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=True,
        )
        self._lock = self._locks.setdefault(name, threading.Lock())

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait_turn(self) -> None:
        last = self._last_call.get(self.name)
        if last is not None:
            wait = self.min_interval - (clock() - last)
            if wait > 0:
                sleep(wait)
        self._last_call[self.name] = clock()

    def get(self, url: str, params: dict | None = None) -> bytes:
        """Return the whole body of a 200 answer, retrying what may pass on a retry."""
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self._wait_turn()
                try:
                    response = self.client.get(url, params=params)
                    body = response.content  # raises if the body is cut short
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    problem, wait = f"{type(exc).__name__}: {exc}".rstrip(": "), None
                else:
                    if response.status_code == 200:
                        return body
                    if response.status_code not in RETRY_STATUSES:
                        raise UpstreamError(
                            f"{self.name} answered HTTP {response.status_code} for {response.url}",
                            status=response.status_code,
                        )
                    problem = f"HTTP {response.status_code}"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt > self.retries:
                raise UpstreamError(
                    f"{self.name} failed after {attempt} attempts ({problem}) for {url}"
                )
            if wait is None:
                wait = min(60.0, 2.0 ** (attempt - 1)) * max(self.min_interval, 1.0)
            if wait > self.max_wait:
                raise UpstreamError(
                    f"{self.name} asked us to wait {wait:.0f}s (over the {self.max_wait:.0f}s "
                    f"limit, PAPERFEED_HTTP_MAX_WAIT); try again later"
                )
            log.warning(
                "%s: %s; retry %d/%d in %.1fs", self.name, problem, attempt, self.retries, wait
            )
            sleep(wait)
