from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from paperfeed.accounts import services
from paperfeed.accounts.models import User


@admin.register(User)
class PaperfeedUserAdmin(UserAdmin):
    list_display = [
        "username",
        "email",
        "display_name",
        "is_active",
        "email_verified_at",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    search_fields = ["username", "email", "display_name"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["display_name", "email", "first_name", "last_name"]}),
        (
            "Activation",
            {
                "fields": ["is_active", "email_verified_at"],
                "description": (
                    "New accounts stay inactive until their owner follows the link in the "
                    "verification mail. An inactive account that has a verification date or "
                    "has logged in before counts as switched off: no new link can reactivate "
                    "it. To get rid of a sign-up that was never verified, delete it."
                ),
            },
        ),
        (
            "Permissions",
            {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "email", "usable_password", "password1", "password2"],
            },
        ),
    ]
    actions = ["activate", "send_verification"]

    @admin.action(description="Activate (mark the address verified)")
    def activate(self, request, queryset):
        count = queryset.filter(is_active=False).update(is_active=True)
        queryset.filter(email_verified_at=None).update(email_verified_at=timezone.now())
        self.message_user(request, f"Activated {count} account(s).", messages.SUCCESS)

    @admin.action(description="Send a new verification mail")
    def send_verification(self, request, queryset):
        waiting = [user for user in queryset if user.awaits_verification]
        sent = sum(services.send_verification(user) for user in waiting)
        self.message_user(
            request,
            f"Sent {sent} verification mail(s); {len(waiting) - sent} failed; "
            f"{queryset.count() - len(waiting)} account(s) skipped (not waiting for one).",
            messages.SUCCESS if sent == len(waiting) else messages.WARNING,
        )
