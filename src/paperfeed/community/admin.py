"""Moderation in the admin: comments (hide, unhide), authorship claims (approve, reject),
collections and votes. Every change goes through `services`, so counters stay exact."""

from django.contrib import admin, messages
from django.utils.text import Truncator

from paperfeed.community import services
from paperfeed.community.models import AuthorClaim, Collection, CollectionItem, Comment, Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "created_at"]
    raw_id_fields = ["paper", "user"]
    search_fields = ["paper__arxiv_id", "user__username"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False  # members vote; the admin only removes

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: Vote) -> None:
        services.set_vote(obj.user, obj.paper, False)

    def delete_queryset(self, request, queryset) -> None:
        for vote in queryset.select_related("user", "paper"):
            services.set_vote(vote.user, vote.paper, False)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["excerpt", "paper", "user", "created_at", "hidden", "is_reply", "deleted"]
    list_filter = ["hidden", ("deleted_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["body", "user__username", "paper__arxiv_id", "paper__title"]
    raw_id_fields = ["paper", "user", "parent"]
    list_select_related = ["paper", "user"]
    date_hierarchy = "created_at"
    actions = ["hide", "unhide"]
    # Text and visibility change only through the site and the actions, which keep the
    # rendered HTML and the paper's comment count in step.
    readonly_fields = ["paper", "user", "parent", "body", "body_html", "hidden", "created_at",
                       "edited_at", "deleted_at"]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="comment")
    def excerpt(self, obj: Comment) -> str:
        return Truncator(obj.body).chars(80) or "(deleted)"

    @admin.display(boolean=True, description="reply")
    def is_reply(self, obj: Comment) -> bool:
        return obj.parent_id is not None

    @admin.display(boolean=True)
    def deleted(self, obj: Comment) -> bool:
        return obj.deleted_at is not None

    @admin.action(description="Hide the selected comments")
    def hide(self, request, queryset) -> None:
        changed = sum(services.set_hidden(request.user, c, True) for c in queryset)
        self.message_user(request, f"{changed} comment(s) hidden.")

    @admin.action(description="Show the selected comments again")
    def unhide(self, request, queryset) -> None:
        changed = sum(services.set_hidden(request.user, c, False) for c in queryset)
        self.message_user(request, f"{changed} comment(s) shown again.")

    def delete_model(self, request, obj: Comment) -> None:
        services.purge_comment(obj)

    def delete_queryset(self, request, queryset) -> None:
        for comment in queryset:
            services.purge_comment(comment)


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    raw_id_fields = ["paper"]
    extra = 0


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_public", "updated_at"]
    list_filter = ["is_public"]
    search_fields = ["name", "description", "owner__username"]
    raw_id_fields = ["owner"]
    list_select_related = ["owner"]
    inlines = [CollectionItemInline]


@admin.register(AuthorClaim)
class AuthorClaimAdmin(admin.ModelAdmin):
    list_display = ["user", "author", "paper", "status", "created_at", "decided_at", "decided_by"]
    list_filter = ["status", "created_at"]
    search_fields = ["user__username", "user__email", "author__name", "paper__arxiv_id"]
    raw_id_fields = ["user", "paper", "author"]
    list_select_related = ["user", "author", "paper", "decided_by"]
    readonly_fields = ["status", "created_at", "decided_at", "decided_by"]
    actions = ["approve", "reject"]

    def _decide(self, request, queryset, approve: bool) -> None:
        done = 0
        for claim in queryset.select_related("author", "paper"):
            try:
                services.decide_claim(claim, request.user, approve)
                done += 1
            except services.Refused as exc:
                self.message_user(request, exc.message, messages.WARNING)
        verb = "approved" if approve else "rejected"
        self.message_user(request, f"{done} claim(s) {verb}.")

    @admin.action(description="Approve the selected claims (verified author)")
    def approve(self, request, queryset) -> None:
        self._decide(request, queryset, True)

    @admin.action(description="Reject the selected claims")
    def reject(self, request, queryset) -> None:
        self._decide(request, queryset, False)
