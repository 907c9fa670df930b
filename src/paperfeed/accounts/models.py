"""People: the site's own user model (e-mail unique, case-insensitively)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse


class User(AbstractUser):
    """A member. Signs up inactive; the link in the verification mail activates it.

    `email_verified_at` tells an account waiting for its verification link (inactive,
    never verified, never logged in) from one a moderator switched off: only the first
    can be activated by a new link.
    """

    email = models.EmailField("e-mail address", max_length=254)
    display_name = models.CharField(max_length=150, blank=True)
    email_verified_at = models.DateTimeField(
        "e-mail verified at",
        null=True,
        blank=True,
        help_text="When the owner followed a verification link. Empty: never verified.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self) -> str:
        return self.username

    @property
    def awaits_verification(self) -> bool:
        return not self.is_active and self.email_verified_at is None and self.last_login is None

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    def get_absolute_url(self) -> str:
        return reverse("accounts:profile", args=[self.username])
