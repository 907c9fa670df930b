from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from paperfeed.digests.models import Delivery, FollowedAuthor, SavedSearch, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "user",
        "frequency",
        "hour",
        "time_zone",
        "confirmed_at",
        "unsubscribed_at",
        "preview_link",
    ]
    list_filter = ["frequency", ("confirmed_at", admin.EmptyFieldListFilter), "unsubscribed_at"]
    search_fields = ["email", "user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "confirmation_sent_at", "preview_link"]

    @admin.display(description="next digest")
    def preview_link(self, obj: Subscription) -> str:
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">preview</a>', reverse("digests:preview", args=[obj.pk]))


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "subscription",
        "period",
        "state",
        "attempts",
        "sent_at",
        "accepted_at",
        "last_error",
    ]
    list_filter = ["state"]
    search_fields = ["subscription__email", "message_id", "period"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ["query", "user", "created_at"]
    search_fields = ["query", "user__username"]
    raw_id_fields = ["user"]


@admin.register(FollowedAuthor)
class FollowedAuthorAdmin(admin.ModelAdmin):
    list_display = ["author", "user", "created_at"]
    search_fields = ["author__name", "user__username"]
    raw_id_fields = ["user", "author"]
