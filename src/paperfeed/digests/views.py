"""Subscribe, confirm, manage and unsubscribe (signed links, no account needed); the
digest part of a member's settings, saved searches and followed authors; and the
moderators' preview of anyone's next digest. The rules are in services.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from paperfeed.digests import delivery, services
from paperfeed.digests.forms import PreferencesForm, SubscribeForm
from paperfeed.digests.models import Subscription
from paperfeed.digests.tokens import link_token, read_confirm_token, read_link_token
from paperfeed.papers.models import Author


def subscribe_rate(group: str, request: HttpRequest) -> str:
    return settings.PAPERFEED_RATE_SUBSCRIBE


@ratelimit(group="digests.subscribe", key="ip", rate=subscribe_rate, method="POST", block=True)
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        sent = services.subscribe(email)
        return render(request, "digests/check_mail.html", {"email": email, "sent": sent})
    status = 400 if request.method == "POST" else 200
    return render(request, "digests/subscribe.html", {"form": form}, status=status)


def _invalid(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "digests/link_invalid.html", {"reason": reason}, status=404)


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: mail scanners that open links do not subscribe
    anyone by themselves."""
    subscription = read_confirm_token(token)
    if subscription is None:
        return _invalid(request, "This confirmation link is not valid or has expired.")
    if request.method == "POST":
        services.confirm(subscription)
        messages.success(request, f"{subscription.email} is subscribed. Choose what you get:")
        return redirect("digests:manage", link_token(subscription, "manage"))
    return render(request, "digests/confirm.html", {"subscription": subscription})


def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscription = read_link_token(token, "manage")
    if subscription is None:
        return _invalid(request, "This link is not valid.")
    form = PreferencesForm(request.POST or None, instance=subscription)
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            services.confirm(subscription)
            messages.success(request, "You are subscribed again.")
            return redirect(request.path)
        if form.is_valid():
            services.set_preferences(subscription, form.preferences())
            messages.success(request, "Your digest preferences are saved.")
            return redirect(request.path)
    context = {
        "subscription": subscription,
        "form": form,
        "unsubscribe_url": reverse(
            "digests:unsubscribe", args=[link_token(subscription, "unsubscribe")]
        ),
    }
    return render(request, "digests/manage.html", context)


@csrf_exempt  # RFC 8058: mail clients POST here with no cookie and no token
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """POST (one click from the mail client, or the button on the GET page) unsubscribes;
    GET only asks, since link checkers and previews open links on their own."""
    subscription = read_link_token(token, "unsubscribe")
    if subscription is None:
        return _invalid(request, "This unsubscribe link is not valid.")
    if request.method == "POST":
        services.unsubscribe(subscription)
        manage_url = reverse("digests:manage", args=[link_token(subscription, "manage")])
        context = {"subscription": subscription, "manage_url": manage_url}
        return render(request, "digests/unsubscribed.html", context)
    return render(request, "digests/unsubscribe.html", {"subscription": subscription})


# --- members -----------------------------------------------------------------------------


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def member_settings(request: HttpRequest) -> HttpResponse:
    back = reverse("accounts:settings") + "#digests"
    if request.POST.get("action") == "unsubscribe":
        subscription = services.subscription_of(request.user)
        if subscription is not None:
            services.unsubscribe(subscription)
        messages.success(request, "Your e-mail digest is off.")
        return redirect(back)
    subscription = services.subscription_of(request.user)
    form = PreferencesForm(request.POST, instance=subscription or Subscription(), prefix="digest")
    if form.is_valid():
        services.subscribe_member(request.user, form.preferences())
        messages.success(request, f"Your digest goes to {request.user.email}.")
    else:
        messages.error(request, "The digest settings were not saved: " + _errors(form))
    return redirect(back)


def _errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@login_required
@require_POST
def save_search(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("q", "").strip()
    back = _back(request, reverse("search:search"))
    if not query:
        return redirect(back)
    services.save_search(request.user, query)
    subscription = services.subscription_of(request.user)
    note = "" if subscription and subscription.is_active else " once you turn the digest on"
    messages.success(request, f"Search saved: new papers for “{query}” come in your digest{note}.")
    return redirect(back)


@login_required
@require_POST
def forget_search(request: HttpRequest, pk: int) -> HttpResponse:
    services.forget_search(request.user, pk)
    return redirect(reverse("accounts:settings") + "#digests")


@login_required
@require_POST
def follow_author(request: HttpRequest, slug: str) -> HttpResponse:
    author = get_object_or_404(Author, slug=slug)
    on = request.POST.get("on", "1") == "1"
    services.follow(request.user, author, on)
    if on:
        messages.success(request, f"You follow {author.name}: new papers come in your digest.")
    return redirect(_back(request, reverse("author", args=[author.slug])))


# --- moderators --------------------------------------------------------------------------


@staff_member_required
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The digest this subscriber would get if it were sent now (nothing is recorded)."""
    subscription = get_object_or_404(Subscription.objects.select_related("user"), pk=pk)
    period, digest = delivery.preview(subscription)
    if request.GET.get("format") == "text":
        return HttpResponse(digest.text, content_type="text/plain; charset=utf-8")
    context = {"subscription": subscription, "period": period, "digest": digest}
    return render(request, "digests/preview.html", context)
