"""/feeds/...: every feed in RSS 2.0 (.rss) and Atom 1.0 (.atom); see docs/feeds.md."""

from django.urls import path, re_path

from paperfeed.feeds import feeds, views

app_name = "feeds"

FORMAT = r"\.(?P<fmt>rss|atom)$"
# As papers.views.CATEGORY: cs.LG, math.AG, hep-th, q-bio.NC.
CATEGORY = r"(?P<category>[A-Za-z-]{2,16}(?:\.[A-Za-z-]{1,16})?)"

urlpatterns = [
    re_path(r"^daily" + FORMAT, views.feed_view(feeds.DailyFeed), name="daily"),
    re_path(
        r"^daily/(?P<day>\d{4}-\d{2}-\d{2})" + FORMAT,
        views.feed_view(feeds.DailyFeed),
        name="daily-date",
    ),
    re_path(r"^trending" + FORMAT, views.feed_view(feeds.TrendingFeed), name="trending"),
    re_path(
        rf"^category/{CATEGORY}" + FORMAT, views.feed_view(feeds.CategoryFeed), name="category"
    ),
    re_path(r"^search" + FORMAT, views.feed_view(feeds.SearchFeed), name="search"),
    re_path(
        r"^authors/(?P<slug>[^/]+?)" + FORMAT, views.feed_view(feeds.AuthorFeed), name="author"
    ),
    re_path(
        r"^private/(?P<token>[A-Za-z0-9_-]{20,100})" + FORMAT,
        views.feed_view(feeds.PrivateFeed),
        name="private",
    ),
    path("private", views.private_feed_token, name="private-token"),
]
