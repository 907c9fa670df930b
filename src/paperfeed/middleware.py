"""Server-Timing: every response says how long the app took (browser dev tools and
bench/load.py read it; it separates server time from network and client time)."""

from time import perf_counter

from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(perf_counter() - started) * 1000:.1f}"
        return response
