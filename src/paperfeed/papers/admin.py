from django.contrib import admin

from paperfeed.papers.models import Author, CodeLink, IngestRun, Listing, Paper


class CodeLinkInline(admin.TabularInline):
    model = CodeLink
    extra = 0


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["arxiv_id", "title", "primary_category", "version", "published_at", "upvotes"]
    list_filter = ["primary_category", "withdrawn", "source"]
    search_fields = ["arxiv_id", "title"]
    readonly_fields = ["content_hash", "created_at", "modified_at"]
    inlines = [CodeLinkInline]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["date", "paper", "source", "submitter_name"]
    list_filter = ["source", "date"]
    raw_id_fields = ["paper", "submitter"]


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "source",
        "key",
        "status",
        "new",
        "updated",
        "unchanged",
        "rejected",
    ]
    list_filter = ["source", "status"]
    readonly_fields = [f.name for f in IngestRun._meta.fields]
