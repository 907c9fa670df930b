"""Reading the site in Chromium: the lists, a paper, an author, trending and search, with
the keyboard, at phone width, in dark mode and without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.live, pytest.mark.browser]


def cards(page):
    return page.locator("main article.card")


def test_reading_journey(demo_server, page, shot):
    """Today, the day before, the week and month tabs, category chips, a paper, one of its
    authors, trending with its age filter, and a search from the header."""
    page.goto(f"{demo_server.url}/papers/")
    expect(page.locator("h1")).to_contain_text("Daily papers")
    expect(cards(page)).to_have_count(40)
    shot(page, "daily")

    today = page.url
    page.locator(".daynav a[rel=prev]").click()
    expect(page).to_have_url(re.compile(r"/papers/date/\d{4}-\d\d-\d\d$"))
    assert page.url != today
    expect(cards(page)).to_have_count(40)

    page.get_by_role("navigation", name="Period").get_by_role("link", name="Week").click()
    expect(page).to_have_url(re.compile(r"/papers/week/\d{4}-W\d\d$"))
    expect(page.locator("h1")).to_contain_text("Weekly papers")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Week")
    assert cards(page).count() > 40
    shot(page, "week")

    page.get_by_role("navigation", name="Period").get_by_role("link", name="Month").click()
    expect(page).to_have_url(re.compile(r"/papers/month/\d{4}-\d\d$"))
    expect(page.locator("h1")).to_contain_text("Monthly papers")

    chips = page.get_by_role("navigation", name="Categories")
    chip = chips.locator("a[href^='?cat=']").first
    category, count = chip.inner_text().split()
    chip.click()
    expect(page).to_have_url(re.compile(rf"\?cat={re.escape(category)}$"))
    expect(chips.locator("a[aria-current=page]")).to_contain_text(category)
    expect(page.locator("p.count")).to_have_text(f"{count} papers in {category}")
    expect(cards(page)).to_have_count(int(count))
    chips.get_by_role("link", name="All").click()
    expect(chips.locator("a[aria-current=page]")).to_have_text("All")

    first = cards(page).first.locator("h2 a")
    title = first.inner_text()
    first.click()
    expect(page).to_have_url(re.compile(r"/papers/9912\.\d{5}$"))
    paper_url = page.url
    expect(page.locator("article.paper h1")).to_have_text(title)
    expect(page.locator(".abstract")).to_contain_text("We study")
    # The abstract's LaTeX arrives as MathML, which Chromium lays out itself.
    expect(page.locator(".abstract math").first).to_be_visible()
    authors = page.locator("p.authors a[href^='/authors/']")
    assert authors.count() >= 1
    expect(page.locator(".similar li")).not_to_have_count(0)
    shot(page, "paper")

    author = authors.first
    name = author.inner_text()
    author.click()
    expect(page).to_have_url(re.compile(r"/authors/[\w-]+$"))
    expect(page.locator("h1")).to_have_text(name)
    # The paper we came from is among the author's papers.
    path = paper_url.removeprefix(demo_server.url)
    expect(page.locator(f"main article.card h2 a[href='{path}']")).to_have_text(title)
    shot(page, "author")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trending").click()
    expect(page).to_have_url(re.compile(r"/papers/trending$"))
    expect(page.locator("h1")).to_have_text("Trending papers")
    ages = page.get_by_role("navigation", name="Maximum age")
    expect(ages.locator("a[aria-current=page]")).to_have_text("Past week")
    assert cards(page).count() > 0
    shot(page, "trending")
    ages.get_by_role("link", name="Past month").click()
    expect(page).to_have_url(re.compile(r"\?age=month$"))
    expect(ages.locator("a[aria-current=page]")).to_have_text("Past month")
    assert cards(page).count() > 0

    box = page.locator("header form.quicksearch input[name=q]")
    word = title.split()[0]
    box.fill(word)
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/search\?q={re.escape(word)}$"))
    expect(page.locator("main p.meta").first).to_contain_text("result")
    expect(cards(page).first.locator("h2")).to_contain_text(word)
    shot(page, "search")


FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.innerText || el.getAttribute("aria-label") || "").trim(),
    href: el.getAttribute("href"),
    inMain: document.querySelector("main").contains(el),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    onScreen: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
      && box.right <= innerWidth && box.bottom <= innerHeight,
  };
}"""


def tab(page) -> dict:
    page.keyboard.press("Tab")
    return page.evaluate(FOCUSED)


def test_keyboard_reaches_skip_link_then_main_nav_with_visible_focus(demo_server, page):
    page.goto(f"{demo_server.url}/papers/")
    stops = [tab(page) for _ in range(6)]
    assert stops[0]["text"] == "Skip to content" and stops[0]["href"] == "#main"
    texts = [stop["text"] for stop in stops]
    daily, trending, submit = (texts.index(name) for name in ("Daily", "Trending", "Submit"))
    assert 0 < daily < trending < submit
    for stop in stops:
        assert stop["outline"] and stop["onScreen"], stop  # focus is visible

    # The skip link moves the keyboard past the header: the next Tab lands in <main>.
    page.goto(f"{demo_server.url}/papers/")
    tab(page)
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    assert tab(page)["inMain"]


PHONE_PAGES = [
    "/papers/",
    "/papers/trending",
    "/papers/9912.00001",
    "/search?q=attention",
    "/about/ranking",
]


def test_phone_width_has_no_horizontal_scroll(demo_server, new_page):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{demo_server.url}/papers/9912.00001")
    author = page.locator("p.authors a").first.get_attribute("href")
    page.goto(f"{demo_server.url}/papers/")
    week = page.get_by_role("link", name="Week").get_attribute("href")
    month = page.get_by_role("link", name="Month").get_attribute("href")
    for path in [*PHONE_PAGES, week, month, author]:
        page.goto(demo_server.url + path)
        width, viewport = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width <= viewport, f"{path} scrolls sideways at phone width: {width} > {viewport}"


def lightness(css_color: str) -> float:
    """0 (black) to 1 (white) for a computed rgb() colour, weighted as the eye sees."""
    red, green, blue = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_dark_mode(demo_server, new_page, shot):
    for scheme in ("light", "dark"):
        page = new_page(color_scheme=scheme)
        page.goto(f"{demo_server.url}/papers/")
        background, text = page.evaluate(
            "() => { const body = getComputedStyle(document.body); "
            "return [body.backgroundColor, body.color]; }"
        )
        if scheme == "dark":
            assert lightness(background) < 0.2 and lightness(text) > 0.7, (background, text)
            shot(page, "daily-dark")
        else:
            assert lightness(background) > 0.8 and lightness(text) < 0.3, (background, text)


def test_works_without_javascript(demo_server, new_page):
    page = new_page(java_script_enabled=False)
    page.goto(f"{demo_server.url}/papers/")
    expect(cards(page)).to_have_count(40)
    title = cards(page).first.locator("h2 a").inner_text()
    cards(page).first.locator("h2 a").click()
    expect(page.locator("article.paper h1")).to_have_text(title)
    expect(page.locator(".abstract")).to_contain_text("We study")
    page.goto(f"{demo_server.url}/papers/trending?age=month")
    assert cards(page).count() > 0
    page.locator("header input[name=q]").fill("attention")
    page.locator("header input[name=q]").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=attention$"))


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# What injected markup would leave behind in the page, if any of it became markup.
INJECTED = """() => {
  const all = [...document.querySelectorAll("*")];
  const active = ["script", "img", "iframe", "svg", "style", "object", "embed"];
  const url = (el) => ["href", "src", "action"].map((name) => el.getAttribute(name)).find(Boolean);
  return {
    pwned: window.__pwned,
    active: active.flatMap((tag) => [...document.querySelectorAll("main " + tag)])
      .map((el) => el.outerHTML),
    handlers: all.flatMap((el) => [...el.attributes]
      .filter((a) => a.name.startsWith("on")).map((a) => el.tagName + " " + a.name)),
    urls: all.map(url).filter((u) => u && /^\\s*(javascript|data|vbscript):/i.test(u)),
  };
}"""


def assert_inert(page) -> None:
    found = page.evaluate(INJECTED)
    assert found == {"pwned": None, "active": [], "handlers": [], "urls": []}, page.url


def test_hostile_text_stays_text(start, page, browser_log):
    """Titles, abstracts, authors and comments full of markup, and a formula whose \\text{}
    carries an <img onerror>, render as text on every page that shows them."""
    server = start("--no-fetch")
    mark = server.mark()
    files = [FIXTURES / "hostile_browser.jsonl", FIXTURES / "hostile.jsonl"]
    server.cli("ingest", "file", *map(str, files))
    # Similar papers (from the embeddings the worker computes) repeat the hostile titles.
    server.wait_for(r"embed_papers_task state=SUCCESSFUL", timeout=60, since=mark)

    page.goto(f"{server.url}/papers/2412.66603")
    assert_inert(page)
    title = page.locator("article.paper h1").inner_text()
    assert '<script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=1">' in title
    assert "<img src=x onerror=window.__pwned=1>" in title
    assert "<script>window.__pwned=1</script>" in page.title()
    abstract = page.locator(".abstract").inner_text()
    assert "<script>window.__pwned=1</script>" in abstract
    assert '<img src=x onerror="window.__pwned=1">' in abstract
    assert "$\\text{<img src=x onerror=window.__pwned=1>}$" in abstract
    authors = page.locator("p.authors a")
    expect(authors.first).to_have_text("Mallory <script>window.__pwned=1</script>")
    expect(page.locator(".similar li")).not_to_have_count(0)

    authors.first.click()
    expect(page.locator("h1")).to_have_text("Mallory <script>window.__pwned=1</script>")
    assert_inert(page)
    for path in ("/papers/2412.66601", "/papers/2412.66602"):
        page.goto(server.url + path)
        assert_inert(page)
    for query, shown in (
        ("pwned", "Pwned Titles <script>"),
        ("robust", "<script>alert(1)</script>"),
    ):
        page.goto(f"{server.url}/search?q={query}")
        assert_inert(page)
        expect(cards(page).first.locator("h2")).to_contain_text(shown)
    assert browser_log.dialogs == []
