"""The reading pages: day, week and month lists, trending, paper and author pages."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paperfeed.community.models import AuthorClaim
from paperfeed.papers import selectors
from paperfeed.papers.demo import fill_demo
from paperfeed.papers.math import render_math
from paperfeed.papers.models import Author, CodeLink, Listing, Paper, PaperAuthor, PaperCategory

pytestmark = pytest.mark.django_db

MONDAY = date(2024, 12, 2)  # ISO week 2024-W49


def make_paper(n: int, *, upvotes=0, comments=0, stars=None, title=None, cats=("cs.LG",)):
    paper = Paper.objects.create(
        arxiv_id=f"2412.{n:05d}",
        title=title or f"Paper number {n}",
        abstract=f"Abstract of paper {n}.",
        author_names=[f"Author {n}"],
        categories=list(cats),
        primary_category=cats[0],
        upvotes=upvotes,
        num_comments=comments,
        stars=stars,
        published_at=datetime(2024, 12, 1, tzinfo=UTC),
        content_hash="x",
        source="test",
    )
    PaperCategory.objects.bulk_create(
        [PaperCategory(paper=paper, category=c, is_primary=i == 0) for i, c in enumerate(cats)]
    )
    return paper


def list_on(paper, day, source="announcement", **extra):
    return Listing.objects.create(paper=paper, date=day, source=source, **extra)


def order_in(body: str, papers) -> list[int]:
    return [body.index(p.get_absolute_url() + '"') for p in papers]


def test_week_lists_each_paper_once_ranked_by_upvotes(client):
    low, high, tie_first, tie_second = (
        make_paper(i, upvotes=u) for i, u in enumerate([1, 9, 3, 3])
    )
    list_on(tie_first, MONDAY)
    list_on(low, MONDAY + timedelta(days=1))
    list_on(high, MONDAY + timedelta(days=2))
    list_on(tie_second, MONDAY + timedelta(days=3))
    list_on(high, MONDAY + timedelta(days=4), source="submission")  # again, later that week
    list_on(make_paper(9), MONDAY + timedelta(days=7))  # next week
    body = client.get("/papers/week/2024-W49").content.decode()
    assert body.count('class="card"') == 4
    assert "4 papers" in body
    positions = order_in(body, [high, tie_first, tie_second, low])
    assert positions == sorted(positions)
    assert 'href="/papers/week/2024-W50"' in body  # next week with papers


def test_week_and_month_urls_are_checked(client):
    assert client.get("/papers/week/2024-W1").url == "/papers/week/2024-W01"
    assert client.get("/papers/week/2024-W60").status_code == 404
    assert client.get("/papers/week/nonsense").status_code == 404
    assert client.get("/papers/month/2024-2").url == "/papers/month/2024-02"
    assert client.get("/papers/month/2024-13").status_code == 404


def test_month_list_and_neighbours(client):
    november, december = make_paper(1, upvotes=2), make_paper(2, upvotes=5)
    list_on(november, date(2024, 11, 20))
    list_on(december, date(2024, 12, 31))
    body = client.get("/papers/month/2024-12").content.decode()
    assert december.get_absolute_url() in body
    assert november.get_absolute_url() not in body
    assert 'href="/papers/month/2024-11"' in body
    assert "December 2024" in body


def test_category_filter_uses_every_category_of_a_paper(client):
    vision = make_paper(1, cats=("cs.CV",))
    cross = make_paper(2, cats=("cs.LG", "cs.CV"))
    text = make_paper(3, cats=("cs.CL",))
    for paper in (vision, cross, text):
        list_on(paper, MONDAY)
    body = client.get(f"/papers/date/{MONDAY}?cat=cs.CV").content.decode()
    assert vision.get_absolute_url() in body and cross.get_absolute_url() in body
    assert text.get_absolute_url() not in body
    assert "cs.CV <span" in body  # the chip with its count
    week = client.get("/papers/week/2024-W49?cat=cs.CL").content.decode()
    assert week.count('class="card"') == 1
    # Junk in the filter is ignored, never an error.
    assert client.get(f"/papers/date/{MONDAY}?cat=<script>").status_code == 200


def test_submitted_only_policy_hides_announcements(client, settings):
    announced, submitted = make_paper(1), make_paper(2)
    list_on(announced, MONDAY)
    list_on(submitted, MONDAY, source="submission", submitter_name="ada")
    settings.PAPERFEED_LISTING_POLICY = "submitted"
    body = client.get(f"/papers/date/{MONDAY}").content.decode()
    assert submitted.get_absolute_url() in body
    assert announced.get_absolute_url() not in body
    assert "submitted by ada" in body
    settings.PAPERFEED_LISTING_POLICY = "announcements"
    assert announced.get_absolute_url() in client.get(f"/papers/date/{MONDAY}").content.decode()


def test_date_picker_redirects(client):
    assert client.get("/papers/go?d=2024-12-03").url == "/papers/date/2024-12-03"
    assert client.get("/papers/go?w=2024-W49&cat=cs.LG").url == "/papers/week/2024-W49?cat=cs.LG"
    assert client.get("/papers/go?m=2024-12").url == "/papers/month/2024-12"
    assert client.get("/papers/go?d=garbage").url == "/papers/"


def test_day_pages_split_long_lists(client, settings):
    settings.PAPERFEED_DAY_PAGE = 3
    for i in range(5):
        list_on(make_paper(i, upvotes=10 - i), MONDAY)
    first = client.get(f"/papers/date/{MONDAY}").content.decode()
    second = client.get(f"/papers/date/{MONDAY}?page=2").content.decode()
    assert first.count('class="card"') == 3 and second.count('class="card"') == 2
    assert "Next page" in first and "Next page" not in second
    assert "5 papers" in second


# --- trending --------------------------------------------------------------------------


def test_trending_score_decays_with_age():
    fresh = selectors.trending_score(10, 0, None, age_hours=1)
    old = selectors.trending_score(10, 0, None, age_hours=24 * 6)
    assert fresh > 20 * old
    assert selectors.trending_score(0, 0, 1023, age_hours=5) == pytest.approx(
        selectors.trending_score(10, 0, None, age_hours=5)
    )
    assert selectors.trending_score(0, 4, None, 5) == selectors.trending_score(2, 0, None, 5)


def test_trending_orders_by_decayed_score_with_age_filter(client, monkeypatch):
    now = datetime(2024, 12, 20, 12, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    today = date(2024, 12, 20)
    old_star = make_paper(1, upvotes=40)  # popular, but three weeks old
    list_on(old_star, today - timedelta(days=21))
    rising = make_paper(2, upvotes=6, comments=2)
    list_on(rising, today)
    starred = make_paper(3, upvotes=1, stars=5000)
    list_on(starred, today - timedelta(days=1))
    quiet = make_paper(4)
    list_on(quiet, today)

    week = client.get("/papers/trending").content.decode()
    assert old_star.get_absolute_url() not in week
    positions = order_in(week, [rising, starred, quiet])
    assert positions == sorted(positions)
    everything = client.get("/papers/trending?age=all").content.decode()
    assert old_star.get_absolute_url() in everything
    assert client.get("/papers/trending?age=forever").status_code == 200  # falls back to week


def test_about_ranking_page_states_the_formula(client):
    body = client.get("/about/ranking").content.decode()
    assert "log<sub>2</sub>(1 + stars)" in body
    assert str(selectors.GRAVITY) in body


# --- paper and author pages -----------------------------------------------------------


def test_math_renders_as_mathml_and_stays_safe():
    html = render_math(r"Bounds of $\mathcal{O}(n^2)$ for $5 and <b>bold</b>")
    assert "<math" in html and "<msup>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "$5 and" in html  # a lone dollar is text
    hostile = render_math(r"x $\text{<img src=x onerror=alert(1)>}$ y")
    assert "<img" not in hostile and "&lt;img" in hostile
    assert render_math("$x_$") == "$x_$"


def test_paper_page_has_math_links_meta_and_author_pages(client):
    paper = make_paper(1, title=r"Fast $k$-means <i>really</i>", stars=1234)
    author = Author.objects.create(slug="ada-lovelace", name="Ada Lovelace")
    paper.authorships.create(author=author, position=0)
    CodeLink.objects.create(
        paper=paper, kind="github", url="https://github.com/x/y", source="abstract", stars=1234
    )
    body = client.get(paper.get_absolute_url()).content.decode()
    assert "<math" in body and "&lt;i&gt;really&lt;/i&gt;" in body
    assert 'href="/authors/ada-lovelace"' in body
    assert '<meta property="og:title" content="Fast k-means &lt;i&gt;really&lt;/i&gt;">' in body
    assert "1.2k" in body
    assert '<link rel="canonical"' in body


def test_arxiv_style_urls_redirect_to_the_paper(client):
    make_paper(1)
    assert client.get("/abs/2412.00001v3").url == "/papers/2412.00001"
    assert client.get("/pdf/2412.00001v1.pdf").url == "/papers/2412.00001"
    assert client.get("/pdf/hep-th/9901001").url == "/papers/hep-th/9901001"
    assert client.get("/abs/not-an-id").status_code == 404


def test_author_page_lists_papers_coauthors_and_verified_members(client):
    fill_demo(days=2, per_day=10, users=3)
    author = max(Author.objects.all(), key=lambda a: a.authorships.count())
    user = get_user_model().objects.create(username="ada")
    paper = author.authorships.first().paper
    AuthorClaim.objects.create(user=user, paper=paper, author=author, status="approved")
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"/authors/{author.slug}").content.decode()
    assert len(queries) <= 8
    assert body.count('class="card"') == author.authorships.count()
    assert "Verified as" in body and "/users/ada" in body
    assert client.get("/authors/nobody-at-all").status_code == 404


# --- bounded work per page ---------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True])
def test_daily_page_with_200_papers_does_a_bounded_number_of_queries(client, signed_in):
    fill_demo(days=1, per_day=200, users=20)
    day = Listing.objects.first().date
    if signed_in:
        client.force_login(get_user_model().objects.first())
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"/papers/date/{day.isoformat()}").content.decode()
    assert body.count('class="card"') == 200
    assert len(queries) <= 9, [q["sql"][:120] for q in queries]


@pytest.mark.parametrize("period", ["week", "month", "trending"])
def test_range_pages_do_a_bounded_number_of_queries(client, period):
    fill_demo(days=6, per_day=30, users=10)
    day = Listing.objects.first().date
    url = {
        "week": f"/papers/week/{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}",
        "month": f"/papers/month/{day:%Y-%m}",
        "trending": "/papers/trending?age=all",
    }[period]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) <= 8, [q["sql"][:120] for q in queries]


def test_paper_page_does_a_bounded_number_of_queries(client):
    fill_demo(days=1, per_day=20, users=10)
    paper = Paper.objects.order_by("-num_comments").first()
    client.force_login(get_user_model().objects.first())
    with CaptureQueriesContext(connection) as queries:
        assert client.get(paper.get_absolute_url()).status_code == 200
    assert len(queries) <= 16, [q["sql"][:120] for q in queries]


def test_week_tab_links_to_the_month_of_its_thursday(client):
    list_on(make_paper(1), date(2024, 12, 3))
    body = client.get("/papers/week/2024-W48").content.decode()  # 25 Nov - 1 Dec
    assert 'href="/papers/month/2024-11"' in body
    body = client.get("/papers/week/2025-W01").content.decode()  # 30 Dec - 5 Jan
    assert 'href="/papers/month/2025-01"' in body


def test_paper_with_thousands_of_authors_renders(client):
    paper = make_paper(1)
    authors = Author.objects.bulk_create(
        [Author(slug=f"member-{i}", name=f"Member {i}") for i in range(3000)]
    )
    paper.authorships.bulk_create(
        [PaperAuthor(paper=paper, author=a, position=i) for i, a in enumerate(authors)]
    )
    body = client.get(paper.get_absolute_url()).content.decode()
    assert body.index("/authors/member-0") < body.index("/authors/member-2999")
