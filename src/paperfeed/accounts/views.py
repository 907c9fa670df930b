"""Sign up, verification, log in, password reset, settings and profile pages.

The views parse requests and render; the rules are in `services.py` and the profile's
queries in `selectors.py`.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django_ratelimit.decorators import ratelimit

from paperfeed.accounts import selectors, services
from paperfeed.accounts.forms import (
    DisplayNameForm,
    EmailChangeForm,
    LoginForm,
    PasswordResetRequestForm,
    ResendVerificationForm,
    SettingsPasswordForm,
    SignupForm,
)
from paperfeed.accounts.models import User


# Rates are read at request time, so an operator's (or a test's) setting always applies.
def signup_rate(group: str, request: HttpRequest) -> str:
    return settings.PAPERFEED_RATE_SIGNUPS


def login_rate(group: str, request: HttpRequest) -> str:
    return settings.PAPERFEED_RATE_LOGINS


# Every form that makes the site send a mail (sign-up, new verification link, password
# reset) draws on one budget per IP address, so none of them can be used to flood inboxes.
limit_account_mail = ratelimit(
    group="accounts.mail", key="ip", rate=signup_rate, method="POST", block=True
)
limit_logins = ratelimit(
    group="accounts.login", key="ip", rate=login_rate, method="POST", block=True
)


def _check_mail(request: HttpRequest, *, kind: str, email: str = "", sent: bool = True):
    """The "we sent you a mail" page; `sent` False says the mail server failed."""
    context = {
        "kind": kind,
        "email": email,
        "sent": sent,
        "valid_days": services.link_valid_days(),
        "resend_form": ResendVerificationForm(),
    }
    return render(request, "accounts/check_mail.html", context)


@limit_account_mail
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:settings")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        valid = form.is_valid()
        if form.pending_user is not None:
            # Signed up before and never followed the link: send it again.
            sent = services.send_verification(form.pending_user)
            return _check_mail(request, kind="again", email=form.pending_user.email, sent=sent)
        if valid:
            data = form.cleaned_data
            try:
                user = services.register(data["username"], data["email"], data["password1"])
            except IntegrityError:  # someone took the name or address a moment ago
                form.add_error(None, "That username or address was just taken. Try again.")
            else:
                sent = services.send_verification(user)
                return _check_mail(request, kind="signup", email=user.email, sent=sent)
    return render(request, "accounts/signup.html", {"form": form})


def verify(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = services.verify(uidb64, token)
    if user is None:
        context = {"form": ResendVerificationForm(), "invalid_link": True}
        return render(request, "accounts/resend.html", context)
    auth_login(request, user)
    messages.success(request, f"Welcome, {user.username}: your address is verified.")
    return redirect(settings.LOGIN_REDIRECT_URL)


@limit_account_mail
def resend(request: HttpRequest) -> HttpResponse:
    form = ResendVerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sent = services.resend_verification(form.cleaned_data["login"])
        return _check_mail(request, kind="resend", sent=sent)
    return render(request, "accounts/resend.html", {"form": form})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        url = super().get_redirect_url()
        # A `next` that leads back to this page would loop (Django refuses with an error
        # for someone already logged in): use the default destination instead.
        return "" if urlsplit(url).path == self.request.path else url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        if getattr(form, "unverified_user", None) is not None:
            context["resend_form"] = ResendVerificationForm(
                initial={"login": form.cleaned_data.get("username", "")}
            )
        return context


login = limit_logins(LoginView.as_view())


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = PasswordResetRequestForm
    subject_template_name = "accounts/mail/password_reset_subject.txt"
    email_template_name = "accounts/mail/password_reset.txt"
    html_email_template_name = "accounts/mail/password_reset.html"

    def form_valid(self, form):
        form.save(
            request=self.request,
            subject_template_name=self.subject_template_name,
            email_template_name=self.email_template_name,
            html_email_template_name=self.html_email_template_name,
        )
        # The same page whether or not an account uses the address: no enumeration.
        return _check_mail(self.request, kind="reset", email=form.cleaned_data["email"])


password_reset = limit_account_mail(PasswordResetView.as_view())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    post_reset_login = True
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your new password is set, and you are logged in.")
        return response


password_reset_confirm = PasswordResetConfirmView.as_view()


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    # Three forms on one page; the submit button's name says which one was sent.
    action = request.POST.get("action") if request.method == "POST" else None
    name_form = DisplayNameForm(
        request.POST if action == "name" else None,
        initial={"display_name": user.display_name},
        prefix="name",
    )
    email_form = EmailChangeForm(user, request.POST if action == "email" else None, prefix="email")
    password_form = SettingsPasswordForm(
        user, request.POST if action == "password" else None, prefix="password"
    )
    if action == "name" and name_form.is_valid():
        services.set_display_name(user, name_form.cleaned_data["display_name"])
        messages.success(request, "Your display name is saved.")
        return redirect("accounts:settings")
    if action == "email" and email_form.is_valid():
        new_email = email_form.cleaned_data["new_email"]
        if services.request_email_change(user, new_email):
            messages.success(
                request,
                f"We sent a confirmation link to {new_email}. Your address stays "
                f"{user.email} until you follow it.",
            )
            return redirect("accounts:settings")
        email_form.add_error(None, "We could not send the mail just now. Try again later.")
    if action == "password" and password_form.is_valid():
        password_form.save()
        update_session_auth_hash(request, password_form.user)  # stay logged in here
        messages.success(request, "Your password is changed.")
        return redirect("accounts:settings")
    context = {
        "name_form": name_form,
        "email_form": email_form,
        "password_form": password_form,
        "claims": selectors.claims_of(user),
    }
    return render(request, "accounts/settings.html", context)


def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.confirm_email_change(token)
    except services.EmailChangeError as error:
        return render(request, "accounts/link_invalid.html", {"reason": str(error)})
    messages.success(request, f"Your e-mail address is now {user.email}.")
    return redirect("accounts:settings" if request.user.is_authenticated else "accounts:login")


def profile(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    # "person", not "user": the templates' `user` is whoever is looking.
    context = {"person": person, **selectors.profile(person, viewer=request.user)}
    return render(request, "accounts/profile.html", context)
