"""Browser tests: Debian's Chromium driven by Playwright against a live `paperfeed serve`.

Fixtures:

* `demo_server`: one `paperfeed serve --demo` for the whole session, for tests that only
  read. Tests that change data start their own instance (`start`, `mail_server`).
* `page`: a fresh browser context and page per test (desktop size); `new_page(**options)`
  opens more, with Playwright context options (`java_script_enabled=False`,
  `color_scheme="dark"`, `viewport=PHONE`, ...).
* `browser_log`: what the test's pages reported. Console errors, uncaught exceptions,
  server errors (5xx) and failed sub-resources fail the test at teardown; dialogs are
  dismissed and listed in `browser_log.dialogs`.
* `shot(page, name)`: full-page screenshots at desktop and phone width into
  test-artifacts/screenshots/ (NAME-desktop.png, NAME-phone.png).
* `mailbox`, `mail_server`: a loopback SMTP server (aiosmtpd) and an instance of its own
  that sends mail to it, with PAPERFEED_BASE_URL its own address (for sign-up flows).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import Server, live_environment
from tests.smtp import Mailbox, loopback_smtp

CHROMIUM = Path("/usr/bin/chromium")
# As root there is no sandbox; the rest keeps Chromium from calling Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# --- the live instance -------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """`paperfeed serve --demo` shared by the session's read-only tests."""
    server = Server(live_environment(tmp_path_factory.mktemp("demo") / "home"), "--demo")
    # The worker embeds the demo papers first; pages are stable (similar papers, hybrid
    # search) once it is done.
    server.wait_for(r"embed_papers_task state=(SUCCESSFUL|FAILED)", timeout=120)
    yield server
    server.stop()


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian: apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class BrowserLog:
    """Problems the pages of one test reported, each prefixed with the page's URL."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def watch(self, context) -> None:
        context.on("console", self._console)
        context.on("weberror", lambda error: self.errors.append(f"uncaught: {error.error}"))
        context.on("response", self._response)
        context.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.page.url if message.page else "?"
            self.errors.append(f"{where}: console error: {message.text}")

    def _response(self, response) -> None:
        # A page a test opens on purpose may be a 404; its CSS, scripts and images may not.
        failed = response.status >= 500 or (
            response.status >= 400 and response.request.resource_type != "document"
        )
        if failed:
            self.errors.append(f"{response.url}: HTTP {response.status}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.page.url if dialog.page else '?'}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def browser_log():
    log = BrowserLog()
    yield log
    if log.errors:
        pytest.fail("the browser reported problems:\n" + "\n".join(log.errors), pytrace=False)


@pytest.fixture
def new_page(browser, browser_log):
    """Open a page in a fresh context; keyword arguments are Playwright context options."""
    contexts = []

    def _new_page(**options):
        context = browser.new_context(**{"viewport": DESKTOP, "locale": "en-US", **options})
        context.set_default_timeout(10_000)
        browser_log.watch(context)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture
def shot(screenshots):
    """shot(page, name): full-page screenshots at desktop and phone width."""

    def _shot(page, name: str) -> None:
        size = page.viewport_size
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.screenshot(path=screenshots / f"{name}-{label}.png", full_page=True)
        page.set_viewport_size(size)

    return _shot


# --- mail --------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    with loopback_smtp() as box:
        yield box


@pytest.fixture
def mail_server(start, mailbox) -> Server:
    """An instance of its own with demo data, sending its mail to `mailbox`; for tests
    that sign up, log in, vote, comment or submit. Semantic search is off: embedding the
    demo papers would take the CPUs for seconds, and flows do not need it."""
    return start("--demo", PAPERFEED_SMTP_URL=mailbox.url, PAPERFEED_SEMANTIC="off")
