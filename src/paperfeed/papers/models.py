"""The paper data model: papers, their authors and categories, code links, the daily
listing, and the log of ingest runs.

Author names and categories are kept twice on purpose: as ordered lists on the paper row
(what a card or a page renders, with no join) and as index tables (what author and
category pages query). The index tables are derived from the lists by `upsert`.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

ARXIV = "https://arxiv.org"


class Paper(models.Model):
    arxiv_id = models.CharField(max_length=64, unique=True, help_text="arXiv id without version")
    version = models.PositiveSmallIntegerField(null=True, blank=True, help_text="latest version")
    title = models.TextField()
    abstract = models.TextField(blank=True)
    author_names = models.JSONField(default=list, help_text="ordered display names")
    categories = models.JSONField(default=list, help_text="primary category first")
    primary_category = models.CharField(max_length=32, blank=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="first version")
    updated_at = models.DateTimeField(null=True, blank=True, help_text="latest version")
    versions = models.JSONField(default=list, blank=True, help_text='[{"version": 1, "date": iso}]')
    comments = models.TextField(blank=True)
    journal_ref = models.TextField(blank=True)
    doi = models.CharField(max_length=255, blank=True)
    report_no = models.TextField(blank=True)
    license = models.CharField(max_length=255, blank=True)
    withdrawn = models.BooleanField(default=False)
    # Community counters, kept exact by the community app's services.
    upvotes = models.PositiveIntegerField(default=0)
    num_comments = models.PositiveIntegerField(default=0)
    # Most stars among the paper's code repositories, when known (cards and trending).
    stars = models.PositiveIntegerField(null=True, blank=True)
    content_hash = models.CharField(max_length=40, help_text="hash of the stored metadata")
    source = models.CharField(max_length=32, help_text="source that first brought the paper")
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["-published_at"], name="paper_published_idx")]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title[:80]}"

    def get_absolute_url(self) -> str:
        return reverse("papers:detail", args=[self.arxiv_id])

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id

    @property
    def abs_url(self) -> str:
        return f"{ARXIV}/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"{ARXIV}/pdf/{self.versioned_id}"

    @property
    def html_url(self) -> str:
        return f"{ARXIV}/html/{self.versioned_id}"


class Author(models.Model):
    """A person as a normalised name: the key behind /authors/<slug>."""

    slug = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, help_text="display name as first seen")

    def __str__(self) -> str:
        return self.name


class PaperAuthor(models.Model):
    # No index of its own: the (paper, position) constraint below serves paper lookups.
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="authorships")
    position = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="paperauthor_unique_pos")
        ]
        ordering = ["paper", "position"]

    def __str__(self) -> str:
        return f"{self.author} ({self.position + 1})"


class PaperCategory(models.Model):
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="category_rows", db_index=False
    )
    category = models.CharField(max_length=32, db_index=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "category"], name="papercategory_unique")
        ]

    def __str__(self) -> str:
        return self.category


class CodeLink(models.Model):
    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub"
        GITLAB = "gitlab", "GitLab"
        BITBUCKET = "bitbucket", "Bitbucket"
        HUGGINGFACE = "huggingface", "Hugging Face"
        PROJECT = "project", "Project page"

    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="code_links", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    url = models.URLField(max_length=500)
    source = models.CharField(max_length=16, help_text="abstract, comments or the ingest source")
    stars = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "url"], name="codelink_unique")]

    def __str__(self) -> str:
        return self.url


class Listing(models.Model):
    """A paper on the daily list of one date."""

    class Source(models.TextChoices):
        ANNOUNCEMENT = "announcement", "arXiv announcement"
        SUBMISSION = "submission", "Community submission"
        HF = "hf", "Hugging Face daily papers"
        DEMO = "demo", "Demo data"

    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="listings", db_index=False
    )
    date = models.DateField(db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    submitter_name = models.CharField(max_length=150, blank=True)
    announce_type = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "date"], name="listing_unique")]
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.paper.arxiv_id} on {self.date}"


class IngestRun(models.Model):
    """One ingest, with enough state to resume it where it stopped."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.CharField(max_length=32)
    key = models.CharField(
        max_length=500, help_text="what was ingested; runs with the same key resume"
    )
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    cursor = models.TextField(blank=True, help_text="where to resume: line, token or id batch")
    new = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    listed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, help_text="first rejections and failures")
    message = models.TextField(blank=True)
    resumed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["source", "key"], name="ingestrun_key_idx")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.key} ({self.status})"
