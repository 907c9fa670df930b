from django.urls import path, re_path

from paperfeed.community import views
from paperfeed.papers.urls import ARXIV_ID

app_name = "community"

urlpatterns = [
    path("papers/submit", views.submit, name="submit"),
    re_path(rf"^papers/{ARXIV_ID}/vote$", views.vote, name="vote"),
    re_path(rf"^papers/{ARXIV_ID}/comments$", views.comment, name="comment"),
    re_path(rf"^papers/{ARXIV_ID}/claim$", views.claim, name="claim"),
    re_path(rf"^papers/{ARXIV_ID}/collections$", views.paper_collections, name="paper-collections"),
    path("comments/<int:pk>/edit", views.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/delete", views.comment_delete, name="comment-delete"),
    path("comments/<int:pk>/hide", views.comment_hide, name="comment-hide"),
    path("collections/", views.collections, name="collections"),
    path("collections/<int:pk>/<str:slug>", views.collection, name="collection"),
]
