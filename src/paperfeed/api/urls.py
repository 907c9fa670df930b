from django.urls import path

from paperfeed.api import views

app_name = "api_tokens"

urlpatterns = [
    path("settings/tokens", views.create, name="create"),
    path("settings/tokens/<int:pk>/revoke", views.revoke, name="revoke"),
]
