from django.urls import path

from paperfeed.digests import views

app_name = "digests"

urlpatterns = [
    path("subscribe", views.subscribe, name="subscribe"),
    path("confirm/<str:token>", views.confirm, name="confirm"),
    path("manage/<str:token>", views.manage, name="manage"),
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("settings", views.member_settings, name="member-settings"),
    path("searches", views.save_search, name="save-search"),
    path("searches/<int:pk>/forget", views.forget_search, name="forget-search"),
    path("authors/<str:slug>/follow", views.follow_author, name="follow-author"),
    path("preview/<int:pk>", views.preview, name="preview"),
]
