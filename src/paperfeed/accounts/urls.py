from django.contrib.auth import views as auth_views
from django.urls import path

from paperfeed.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup", views.signup, name="signup"),
    path("accounts/verify/<str:uidb64>/<str:token>", views.verify, name="verify"),
    path("accounts/verify", views.resend, name="resend"),
    path("accounts/login", views.login, name="login"),
    path("accounts/logout", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset", views.password_reset, name="password_reset"),
    path(
        "accounts/password-reset/<str:uidb64>/<str:token>",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("accounts/email/<str:token>", views.confirm_email, name="confirm_email"),
    path("settings", views.settings_page, name="settings"),
    path("users/<str:username>", views.profile, name="profile"),
]
