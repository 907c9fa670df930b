"""Log in with the username or the e-mail address."""

from django.contrib.auth.backends import ModelBackend

from paperfeed.accounts.models import User
from paperfeed.accounts.services import find_user


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and "@" in username:
            match = find_user(username)
            if match is None:
                User().set_password(password)  # same timing as a wrong password
                return None
            username = match.get_username()
        return super().authenticate(request, username=username, password=password, **kwargs)
