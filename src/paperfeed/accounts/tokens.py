"""Signed, expiring tokens for the links in account mails.

Verification links use Django's password-reset token machinery under a salt of their
own, so a verification token never works as a password-reset token (or the other way
round). A token dies when the account is activated, since activation changes the hashed
state. E-mail change links are signed payloads that name the old and the new address and
die once the address has changed.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing


class VerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "paperfeed.accounts.verification"

    def _make_hash_value(self, user, timestamp: int) -> str:
        state = f"{user.is_active}{user.email_verified_at}"
        return f"{user.pk}{user.password}{user.email}{state}{timestamp}"


verification_tokens = VerificationTokenGenerator()

EMAIL_CHANGE_SALT = "paperfeed.accounts.email-change"


def make_email_change_token(user, new_email: str) -> str:
    return signing.dumps(
        {"user": user.pk, "old": user.email, "new": new_email}, salt=EMAIL_CHANGE_SALT
    )


def read_email_change_token(token: str) -> dict | None:
    """The payload of a valid, unexpired token; None for anything else."""
    try:
        return signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:  # SignatureExpired is a subclass
        return None
