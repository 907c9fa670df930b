from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="papers:today", permanent=False)),
    path("papers/", include("paperfeed.papers.urls")),
    path("search", include("paperfeed.search.urls")),
    path("admin/", admin.site.urls),
]
