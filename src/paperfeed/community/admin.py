from django.contrib import admin

from paperfeed.community.models import Comment, Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "created_at"]
    raw_id_fields = ["paper", "user"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "created_at", "hidden"]
    list_filter = ["hidden"]
    raw_id_fields = ["paper", "user", "parent"]
