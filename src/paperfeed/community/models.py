"""What people add to papers: upvotes, discussion, collections and authorship claims.

The paper row carries `upvotes` and `num_comments` counters so that lists never count
rows; `services.py` keeps them exact.
"""

from django.conf import settings
from django.db import models

from paperfeed.papers.models import Paper


class Vote(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="votes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="vote_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.paper.arxiv_id}"


class Comment(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="comment_set")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField(max_length=10_000, help_text="Markdown as written")
    # Rendered and sanitised once, when written: pages show it as is.
    body_html = models.TextField(blank=True, default="")
    hidden = models.BooleanField(default=False, help_text="hidden by a moderator")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A deleted comment that still has replies stays as an empty "deleted" placeholder.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.paper.arxiv_id}"

    @property
    def is_visible(self) -> bool:
        """Counted in Paper.num_comments and shown to everyone."""
        return not self.hidden and self.deleted_at is None


class Collection(models.Model):
    """A named reading list; public ones are shareable at /collections/<id>-<slug>."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, allow_unicode=True)
    description = models.TextField(blank=True, max_length=2000)
    is_public = models.BooleanField(default=True)
    papers = models.ManyToManyField(Paper, through="CollectionItem", related_name="collections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="collection_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("community:collection", args=[self.pk, self.slug or "list"])


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="collection_items")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "paper"], name="collectionitem_unique")
        ]

    def __str__(self) -> str:
        return f"{self.paper.arxiv_id} in {self.collection}"


class AuthorClaim(models.Model):
    """A member says "I am this author of this paper"; a moderator decides in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_claims"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="author_claims")
    author = models.ForeignKey("papers.Author", on_delete=models.CASCADE, related_name="claims")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="authorclaim_unique"),
            # One verified person per author position of a paper.
            models.UniqueConstraint(
                fields=["paper", "author"],
                condition=models.Q(status="approved"),
                name="authorclaim_one_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.author} on {self.paper.arxiv_id} ({self.status})"
