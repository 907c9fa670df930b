"""Sign up, verification, log in, password reset, settings and profile pages."""

from django.http import HttpResponse


def _todo(*args, **kwargs) -> HttpResponse:  # replaced by the accounts work in progress
    return HttpResponse("not built yet", status=501)


signup = verify = login = password_reset = password_reset_confirm = _todo
settings_page = profile = _todo
