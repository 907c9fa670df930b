from django.contrib import admin

from paperfeed.scheduler.models import ScheduledRun


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    list_display = ["job", "slot", "worker", "task_id", "created_at"]
    list_filter = ["job"]
    date_hierarchy = "slot"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
