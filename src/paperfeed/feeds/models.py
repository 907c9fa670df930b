"""The secret behind a member's private feed URL."""

from django.conf import settings
from django.db import models


class FeedToken(models.Model):
    """One random token per member; making a new one replaces it, so the old URL stops
    working at once.

    The token is stored as it is, not hashed, so that the settings page can show the URL
    again: it only grants reading what the member voted for and collected, which sits
    in the same database, so a hash would protect nothing that a database reader could
    not see anyway.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True, help_text="when this token was made")

    def __str__(self) -> str:
        return f"private feed of {self.user}"
