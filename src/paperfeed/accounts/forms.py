"""Forms for sign-up, log-in and the settings page. Each input carries the autocomplete
hint a password manager needs."""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    UserCreationForm,
)

from paperfeed.accounts.mail import mail_context
from paperfeed.accounts.models import User
from paperfeed.accounts.services import email_in_use, find_user, pending_account


class SignupForm(UserCreationForm):
    """Username, e-mail and the password twice, checked by the password validators.

    An address that already waits for verification is not an error here: the form sets
    `pending_user` and the view sends that account a fresh link instead.
    """

    class Meta:
        model = User
        fields = ["username", "email"]
        widgets = {
            "username": forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }
        help_texts = {"username": "Letters, digits and . + - _ only; shown on your profile."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending_user: User | None = None
        self.fields["email"].help_text = "We send a link to this address to activate the account."

    def clean_username(self):
        username = super().clean_username()
        if "@" in username:
            # A name with an @ would read as an e-mail address on the log-in form.
            raise forms.ValidationError("A username cannot contain @.", code="at_sign")
        return username

    def clean_email(self):
        email = self.cleaned_data["email"]
        self.pending_user = pending_account(email)
        if self.pending_user is None and email_in_use(email):
            raise forms.ValidationError(
                "An account with this e-mail address already exists. "
                "Log in, or reset its password if you have forgotten it.",
                code="email_taken",
            )
        return email

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if self.pending_user is not None:
            # The pending account's row would fail the unique e-mail constraint; the
            # view sends it a new link and does not save this form.
            exclude.add("email")
        return exclude


class LoginForm(AuthenticationForm):
    """Django's log-in form, taking a username or an e-mail address, and saying plainly
    when the right password was given for an account that is not verified yet."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "unverified": (
            "This account is not active yet: follow the link in the verification mail "
            "we sent to its address, or ask for a new one below."
        ),
        "inactive": "This account has been switched off. Contact the site's moderators.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.unverified_user: User | None = None
        username = self.fields["username"]
        username.label = "Username or e-mail"
        username.max_length = 254
        username.widget.attrs["maxlength"] = 254

    def get_invalid_login_error(self):
        # authenticate() refuses inactive accounts whatever the password; look again,
        # so that the owner of an unverified account learns what to do.
        login = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        user = find_user(login)
        if user is not None and not user.is_active and user.check_password(password):
            if user.awaits_verification:
                self.unverified_user = user
                return forms.ValidationError(self.error_messages["unverified"], code="unverified")
            return forms.ValidationError(self.error_messages["inactive"], code="inactive")
        return super().get_invalid_login_error()


class ResendVerificationForm(forms.Form):
    login = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, with links on PAPERFEED_BASE_URL rather than on whatever
    Host header the request came with."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "autofocus": True})

    def save(self, **kwargs):
        base = urlsplit(settings.PAPERFEED_BASE_URL)
        kwargs["domain_override"] = base.netloc
        kwargs["use_https"] = base.scheme == "https"
        kwargs["extra_email_context"] = mail_context(kwargs.get("extra_email_context") or {})
        return super().save(**kwargs)


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text="Shown instead of your username. Leave it empty to show the username.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )


class EmailChangeForm(forms.Form):
    """A new address, confirmed with the current password (a session left open on a
    shared computer should not be enough to take the account over)."""

    new_email = forms.EmailField(
        label="New e-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_new_email(self):
        email = self.cleaned_data["new_email"]
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError("This is already your address.", code="same")
        if email_in_use(email, exclude=self.user):
            raise forms.ValidationError("Another account uses this address.", code="email_taken")
        return email

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("The password is not right.", code="wrong_password")
        return password


class SettingsPasswordForm(PasswordChangeForm):
    """Django's password change form, without the autofocus that would scroll the
    settings page down to its third section."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
