from django.urls import path, re_path

from paperfeed.papers import views

app_name = "papers"

# An arXiv id as it appears in our URLs: new-style (2401.12345) or old-style
# (hep-th/9901001), with an optional version that redirects to the bare id.
ARXIV_ID = r"(?P<arxiv_id>[\w.\-]+(?:/\d{7})?(?:v\d+)?)"

urlpatterns = [
    path("", views.daily, name="today"),
    path("date/<str:day>", views.daily, name="date"),
    path("go", views.jump, name="jump"),
    path("week/<str:week>", views.weekly, name="week"),
    path("month/<str:month>", views.monthly, name="month"),
    path("trending", views.trending, name="trending"),
    # Paper pages come last: the id pattern would also match the words above.
    re_path(rf"^{ARXIV_ID}\.md$", views.paper_markdown, name="markdown"),
    re_path(rf"^{ARXIV_ID}$", views.paper_detail, name="detail"),
]
