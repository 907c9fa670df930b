from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from paperfeed.api.main import api
from paperfeed.papers import views as paper_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="papers:today", permanent=False)),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("paperfeed/favicon.svg"), permanent=True)),
    # Community actions first: /papers/submit and /papers/<id>/vote sit beside paper pages.
    path("", include("paperfeed.community.urls")),
    path("papers/", include("paperfeed.papers.urls")),
    path("authors/<str:slug>", paper_views.author_page, name="author"),
    # arxiv.org/abs/... and /pdf/... links work with the host swapped for this instance.
    re_path(r"^(?:abs|pdf)/(?P<ref>.+)$", paper_views.arxiv_redirect, name="arxiv-redirect"),
    path("about/ranking", paper_views.about_ranking, name="about-ranking"),
    path("search", include("paperfeed.search.urls")),
    path("feeds/", include("paperfeed.feeds.urls")),
    path("digests/", include("paperfeed.digests.urls")),
    path("", include("paperfeed.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("paperfeed.api.urls")),
]
