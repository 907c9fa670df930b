"""Instance counts for `paperfeed stats` (and, later, the API)."""

from __future__ import annotations

from django.db.models import Count

from paperfeed.papers.models import Author, CodeLink, Listing, Paper, PaperCategory


def instance_stats() -> dict:
    per_category = dict(
        PaperCategory.objects.values_list("category")
        .annotate(n=Count("id"))
        .order_by("-n", "category")
        .values_list("category", "n")
    )
    primary = dict(
        Paper.objects.values_list("primary_category")
        .annotate(n=Count("id"))
        .order_by("-n", "primary_category")
        .values_list("primary_category", "n")
    )
    return {
        "papers": Paper.objects.count(),
        "authors": Author.objects.count(),
        "listings": Listing.objects.count(),
        "list_days": Listing.objects.values("date").distinct().count(),
        "code_links": CodeLink.objects.count(),
        "code_links_by_kind": dict(
            CodeLink.objects.values_list("kind")
            .annotate(n=Count("id"))
            .order_by("kind")
            .values_list("kind", "n")
        ),
        "withdrawn": Paper.objects.filter(withdrawn=True).count(),
        "categories": per_category,
        "primary_categories": primary,
    }
