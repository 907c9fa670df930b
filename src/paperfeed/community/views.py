"""Votes, discussion, submissions, collections and authorship claims.

Thin views: they read the request, call `services` (the rules) and render. Every form
works without JavaScript (post, then redirect back); site.js sends the same forms with
`Accept: application/json` and gets JSON instead of a redirect.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from paperfeed.community import services
from paperfeed.community.models import Collection, Comment
from paperfeed.community.services import Refused
from paperfeed.papers.models import Paper
from paperfeed.papers.records import RecordError, parse_arxiv_id


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def setting_rate(name: str):
    """A django-ratelimit rate read from settings at request time (tests override it)."""

    def rate(group: str, request: HttpRequest) -> str:
        return getattr(settings, name)

    return rate


def limited(setting: str, group: str | None = None):
    """Per member (per address for anyone else), on POST; over the limit: the 429 page."""
    return ratelimit(
        group=group, key="user_or_ip", rate=setting_rate(setting), method="POST", block=True
    )


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` the form sent, if it stays on this site; else `fallback`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def _fallback(kwargs: dict) -> str:
    if "arxiv_id" in kwargs:
        return reverse("papers:detail", args=[kwargs["arxiv_id"]])
    return reverse("papers:today")


def member_required(view):
    """Like login_required; a POST goes back to the page it came from after logging in,
    and a script asking for JSON gets a 401 answer instead of a redirect."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.method == "POST":
            back = safe_next(request, _fallback(kwargs))
        else:
            back = request.get_full_path()
        login = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
        if wants_json(request):
            return JsonResponse({"error": "Log in first.", "login": login}, status=401)
        return redirect(login)

    return wrapped


def refused(request: HttpRequest, exc: Refused, back: str) -> HttpResponse:
    """A refusal outside a form page: JSON for scripts, else a message and back."""
    if wants_json(request):
        return JsonResponse({"error": exc.message, "link": exc.link}, status=exc.status)
    messages.error(request, exc.message)
    return redirect(back)


def paper_or_404(arxiv_id: str) -> Paper:
    try:
        canonical, _ = parse_arxiv_id(arxiv_id)
    except RecordError as exc:
        raise Http404("Not an arXiv id.") from exc
    paper = Paper.objects.filter(arxiv_id=canonical).first()
    if paper is None:
        raise Http404(f"No paper {canonical} here.")
    return paper


# --- votes -----------------------------------------------------------------------------


@require_POST
@member_required
@limited("PAPERFEED_RATE_VOTES")
def vote(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """`on=1` votes, `on=0` takes the vote back (both idempotent); no `on` toggles."""
    paper = paper_or_404(arxiv_id)
    wanted = request.POST.get("on")
    if wanted in {"0", "1"}:
        state = services.set_vote(request.user, paper, wanted == "1")
    else:
        state = services.toggle_vote(request.user, paper)
    if wants_json(request):
        return JsonResponse({"voted": state.voted, "upvotes": state.upvotes})
    return redirect(safe_next(request, paper.get_absolute_url()))


# --- discussion ------------------------------------------------------------------------


def _comment_html(request: HttpRequest, comment: Comment, paper: Paper) -> str:
    comment.shown_replies = []
    return render_to_string(
        "community/_comment.html", {"comment": comment, "paper": paper}, request=request
    )


def _comment_form_page(
    request: HttpRequest, paper: Paper, *, error: str, body: str, status: int, **extra
) -> HttpResponse:
    """The comment form on a page of its own: after a refusal, with the text kept."""
    context = {"paper": paper, "error": error, "body": body, **extra}
    return render(request, "community/comment_form.html", context, status=status)


@require_POST
@member_required
@limited("PAPERFEED_RATE_COMMENTS", group="comments")
def comment(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Post a comment, or a reply to the comment `parent`."""
    paper = paper_or_404(arxiv_id)
    body = request.POST.get("body", "")
    parent = None
    if parent_id := request.POST.get("parent"):
        parent = Comment.objects.filter(pk=parent_id if parent_id.isdigit() else 0).first()
    try:
        if request.POST.get("parent") and parent is None:
            raise Refused("That comment is gone, so your reply was not posted.", status=404)
        new = services.add_comment(request.user, paper, body, parent)
    except Refused as exc:
        if wants_json(request):
            return JsonResponse({"error": exc.message}, status=exc.status)
        return _comment_form_page(
            request, paper, error=exc.message, body=body, status=exc.status, parent=parent
        )
    if wants_json(request):
        paper.refresh_from_db(fields=["num_comments"])
        return JsonResponse(
            {
                "id": new.pk,
                "parent": new.parent_id,
                "html": _comment_html(request, new, paper),
                "num_comments": paper.num_comments,
            },
            status=201,
        )
    return redirect(f"{paper.get_absolute_url()}#comment-{new.pk}")


@member_required
@limited("PAPERFEED_RATE_COMMENTS", group="comments")
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("paper", "user"), pk=pk)
    paper = comment.paper
    if comment.user_id != request.user.pk or comment.deleted_at is not None:
        raise Http404("No such comment of yours.")
    if request.method != "POST":
        return _comment_form_page(request, paper, error="", body=comment.body, status=200,
                                  editing=comment)  # fmt: skip
    body = request.POST.get("body", "")
    try:
        comment = services.edit_comment(request.user, comment, body)
    except Refused as exc:
        if wants_json(request):
            return JsonResponse({"error": exc.message}, status=exc.status)
        return _comment_form_page(request, paper, error=exc.message, body=body,
                                  status=exc.status, editing=comment)  # fmt: skip
    if wants_json(request):
        return JsonResponse({"id": comment.pk, "html": comment.body_html})
    return redirect(f"{paper.get_absolute_url()}#comment-{comment.pk}")


@require_POST
@member_required
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("paper"), pk=pk)
    back = f"{comment.paper.get_absolute_url()}#discussion"
    try:
        removed = services.delete_comment(request.user, comment)
    except Refused as exc:
        return refused(request, exc, back)
    if wants_json(request):
        return JsonResponse({"deleted": True, "removed": removed})
    messages.success(request, "Your comment was deleted.")
    return redirect(back)


@require_POST
@member_required
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    """A moderator hides (`hidden=1`, the default) or shows again (`hidden=0`) a comment."""
    if not request.user.is_staff:
        raise PermissionDenied("Only moderators can hide comments.")
    comment = get_object_or_404(Comment.objects.select_related("paper"), pk=pk)
    hidden = request.POST.get("hidden", "1") == "1"
    services.set_hidden(request.user, comment, hidden)
    if wants_json(request):
        return JsonResponse({"hidden": hidden})
    return redirect(f"{comment.paper.get_absolute_url()}#comment-{comment.pk}")


# --- submissions -----------------------------------------------------------------------


@member_required
@limited("PAPERFEED_RATE_SUBMISSIONS")
def submit(request: HttpRequest) -> HttpResponse:
    context = {
        "max_age_days": settings.PAPERFEED_SUBMIT_MAX_AGE_DAYS,
        "daily_cap": settings.PAPERFEED_SUBMIT_DAILY_CAP,
        "value": request.GET.get("id", ""),
    }
    status = 200
    if request.method == "POST":
        text = request.POST.get("id", "")
        try:
            listing = services.submit_paper(request.user, text)
        except Refused as exc:
            context.update(value=text, error=exc.message, link=exc.link)
            status = exc.status
        else:
            messages.success(request, "Thank you: the paper is on today's list.")
            return redirect(listing.paper.get_absolute_url())
    context["left_today"] = services.submissions_left_today(request.user)
    return render(request, "community/submit.html", context, status=status)


# --- collections -----------------------------------------------------------------------


def _is_public(request: HttpRequest) -> bool:
    return request.POST.get("is_public", "") in {"1", "on", "true"}


@member_required
def collections(request: HttpRequest) -> HttpResponse:
    """The member's collections, and a form to start a new one."""
    error, status = None, 200
    if request.method == "POST":
        try:
            created = services.create_collection(
                request.user,
                request.POST.get("name", ""),
                request.POST.get("description", ""),
                _is_public(request),
            )
        except Refused as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"Collection {created.name!r} created.")
            return redirect(created)
    mine = Collection.objects.filter(owner=request.user).annotate(size=Count("items"))
    context = {"collections": mine, "error": error, "form": request.POST}
    return render(request, "community/collections.html", context, status=status)


def collection(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    """A collection's page; its owner edits, deletes and prunes it here (POST `action`)."""
    found = get_object_or_404(Collection.objects.select_related("owner"), pk=pk)
    owner = request.user.is_authenticated and found.owner_id == request.user.pk
    if not found.is_public and not owner:
        raise Http404("No such collection.")
    if request.method == "POST":
        if not owner:
            raise PermissionDenied("Only the owner can change a collection.")
        return _change_collection(request, found)
    if slug != found.slug:
        return redirect(found, permanent=True)
    items = found.items.select_related("paper").order_by("-added_at", "-id")
    return render(
        request,
        "community/collection.html",
        {"collection": found, "items": items, "owner": owner},
    )


def _change_collection(request: HttpRequest, found: Collection) -> HttpResponse:
    action = request.POST.get("action")
    try:
        if action == "update":
            services.update_collection(
                request.user,
                found,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                is_public=_is_public(request),
            )
            messages.success(request, "Collection saved.")
        elif action == "delete":
            services.delete_collection(request.user, found)
            messages.success(request, f"Collection {found.name!r} deleted.")
            return redirect("community:collections")
        elif action == "remove":
            paper = get_object_or_404(Paper, pk=request.POST.get("paper") or 0)
            services.remove_from_collection(request.user, found, paper)
        else:
            raise Refused("Unknown action.")
    except Refused as exc:
        messages.error(request, exc.message)
        found.refresh_from_db()
    return redirect(found)


@require_POST
@member_required
def paper_collections(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Add the paper to one of the member's collections (`collection`, `action=add`),
    take it out (`action=remove`), or start a new collection with it (`name`)."""
    paper = paper_or_404(arxiv_id)
    back = safe_next(request, f"{paper.get_absolute_url()}#collections")
    try:
        if request.POST.get("name") is not None and not request.POST.get("collection"):
            chosen = services.create_collection(
                request.user,
                request.POST.get("name", ""),
                is_public=_is_public(request),
                paper=paper,
            )
            contains = True
        else:
            chosen = Collection.objects.filter(
                pk=request.POST.get("collection") or 0, owner=request.user
            ).first()
            if chosen is None:
                raise Refused("No such collection of yours.", status=404)
            contains = request.POST.get("action", "add") == "add"
            if contains:
                services.add_to_collection(request.user, chosen, paper)
            else:
                services.remove_from_collection(request.user, chosen, paper)
    except Refused as exc:
        return refused(request, exc, back)
    if wants_json(request):
        return JsonResponse({"collection": chosen.pk, "name": chosen.name, "contains": contains})
    return redirect(back)


# --- authorship claims -----------------------------------------------------------------


@require_POST
@member_required
def claim(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Claim to be one of the paper's authors (`author`), or withdraw (`action=withdraw`)."""
    paper = paper_or_404(arxiv_id)
    back = f"{paper.get_absolute_url()}#claim"
    try:
        if request.POST.get("action") == "withdraw":
            services.withdraw_claim(request.user, paper)
            messages.success(request, "Your claim was withdrawn.")
        else:
            author = request.POST.get("author", "")
            services.claim_authorship(request.user, paper, int(author) if author.isdigit() else 0)
            messages.success(request, "Thank you: a moderator will check your claim.")
    except Refused as exc:
        return refused(request, exc, back)
    return redirect(back)
