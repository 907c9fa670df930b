from django.urls import path, re_path

from paperfeed.papers import views

app_name = "papers"

urlpatterns = [
    path("", views.daily, name="today"),
    path("date/<str:day>", views.daily, name="date"),
    # Old-style ids contain a slash (hep-th/9901001), so this pattern comes last.
    re_path(r"^(?P<arxiv_id>[\w.\-]+(?:/\d{7})?(?:v\d+)?)$", views.paper_detail, name="detail"),
]
