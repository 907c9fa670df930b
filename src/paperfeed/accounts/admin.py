from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from paperfeed.accounts.models import User


@admin.register(User)
class PaperfeedUserAdmin(UserAdmin):
    list_display = ["username", "email", "display_name", "is_active", "is_staff", "date_joined"]
    fieldsets = [
        *UserAdmin.fieldsets,
        ("paperfeed", {"fields": ["display_name"]}),
    ]
