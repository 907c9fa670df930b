"""The account rules as plain functions: sign-up, verification, e-mail change.

Views call these and render; tests call them directly too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from paperfeed.accounts.mail import absolute_url, send_account_mail
from paperfeed.accounts.models import User
from paperfeed.accounts.tokens import (
    make_email_change_token,
    read_email_change_token,
    verification_tokens,
)


def find_user(login: str) -> User | None:
    """The account a log-in name points at: an e-mail address (any case) when it holds
    an @, otherwise a username (exact, as Django's own backend does)."""
    if "@" in login:
        return User.objects.filter(email__iexact=login).first()
    return User.objects.filter(username=login).first()


def email_in_use(email: str, exclude: User | None = None) -> bool:
    users = User.objects.filter(email__iexact=email)
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.exists()


def pending_account(email: str) -> User | None:
    """The account waiting for its verification link at this address, if there is one."""
    user = User.objects.filter(email__iexact=email).first()
    return user if user is not None and user.awaits_verification else None


def register(username: str, email: str, password: str) -> User:
    """Create an account that stays inactive until its address is verified."""
    user = User(username=username, email=User.objects.normalize_email(email), is_active=False)
    user.set_password(password)
    user.save()
    return user


def verification_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = verification_tokens.make_token(user)
    return absolute_url(reverse("accounts:verify", args=[uid, token]))


def send_verification(user: User) -> bool:
    """Mail the verification link; False if the mail server could not take it."""
    return send_account_mail(
        user.email,
        "verify",
        {"user": user, "link": verification_link(user), "valid_days": link_valid_days()},
    )


def resend_verification(login: str) -> bool:
    """Send a new link to the account named by a username or address, if it still waits
    for one. Returns False only when a mail was due and could not be sent; callers show
    the same page either way, so nobody learns which addresses have accounts."""
    user = find_user(login.strip()) if login else None
    if user is None or not user.awaits_verification:
        return True
    return send_verification(user)


def verify(uidb64: str, token: str) -> User | None:
    """Activate the account a verification link names; None if the link is not valid
    (unknown account, wrong or expired token, or already used)."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.get(pk=pk)
    except (ValueError, OverflowError, User.DoesNotExist):
        return None
    if not user.awaits_verification or not verification_tokens.check_token(user, token):
        return None
    user.is_active = True
    user.email_verified_at = timezone.now()
    user.save(update_fields=["is_active", "email_verified_at"])
    return user


def request_email_change(user: User, new_email: str) -> bool:
    """Mail a confirmation link to the new address; the account keeps its old address
    until that link is followed. False if the mail could not be sent."""
    new_email = User.objects.normalize_email(new_email)
    link = absolute_url(
        reverse("accounts:confirm_email", args=[make_email_change_token(user, new_email)])
    )
    return send_account_mail(
        new_email,
        "email_change",
        {"user": user, "new_email": new_email, "link": link, "valid_days": link_valid_days()},
    )


class EmailChangeError(Exception):
    """A confirmation link that cannot be applied; the message says why, for the page."""


def confirm_email_change(token: str) -> User:
    """Apply the change a confirmation link carries, then tell the old address."""
    payload = read_email_change_token(token)
    if payload is None:
        raise EmailChangeError("This confirmation link is not valid or has expired.")
    user = User.objects.filter(pk=payload["user"]).first()
    if user is None or user.email != payload["old"]:
        # The address changed since the link was sent: the link has been used up.
        raise EmailChangeError("This confirmation link has already been used.")
    if email_in_use(payload["new"], exclude=user):
        raise EmailChangeError(
            "Another account took this address after the link was sent, so it cannot be used."
        )
    old_email = user.email
    user.email = payload["new"]
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError as error:  # lost a race for the address
        raise EmailChangeError("Another account uses this address now.") from error
    send_account_mail(old_email, "email_changed", {"user": user, "new_email": user.email})
    return user


def set_display_name(user: User, display_name: str) -> None:
    user.display_name = display_name.strip()
    user.save(update_fields=["display_name"])


def link_valid_days() -> int:
    """How long the links in account mails work (PASSWORD_RESET_TIMEOUT), in whole days."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
