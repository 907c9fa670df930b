"""What every request under /api/ goes through before and after its endpoint: the rate
limit, the body size cap, CORS for reads, and JSON bodies for every client error (also
for URLs and methods no endpoint answers, which Django would answer in HTML)."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from paperfeed.api.errors import body_too_big, error_response
from paperfeed.api.limits import general_limit

PREFIX = "/api/"  # where paperfeed/urls.py mounts the API
READ_METHODS = ("GET", "HEAD")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Link, Retry-After",
}


class ApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return preflight(request)
        limit = settings.PAPERFEED_API_MAX_BODY
        size = content_length(request)
        if size is not None and size > limit:
            response = body_too_big(limit, size)
        else:
            response = general_limit(request) or self.get_response(request)
        if request.method in READ_METHODS:
            for name, value in CORS.items():
                response[name] = value
        if 400 <= response.status_code < 500 and not is_json(response):
            response = as_json(request, response)
        return response


def content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.headers.get("Content-Length") or "")
    except ValueError:
        return None


def is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def preflight(request: HttpRequest) -> HttpResponse:
    """Browsers on other sites may read (GET) with or without a token; they may not write:
    writes come from scripts, or from this site's own pages."""
    response = HttpResponse(status=204)
    for name, value in CORS.items():
        response[name] = value
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Authorization, Accept"
    response["Access-Control-Max-Age"] = "86400"
    return response


def as_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    status = response.status_code
    if status == 404:
        message = f"Nothing here: {request.path}. The API's endpoints are listed at {PREFIX}docs."
    elif status == 405:
        allowed = response.get("Allow", "")
        message = f"{request.method} is not allowed here" + (
            f"; this URL answers {allowed}." if allowed else "."
        )
    else:
        try:
            message = HTTPStatus(status).phrase + "."
        except ValueError:
            message = f"Client error {status}."
    json_response = error_response(status, message)
    for name in ("Allow", "Retry-After", "WWW-Authenticate", *CORS):
        if name in response:
            json_response[name] = response[name]
    return json_response
