"""Every API error is JSON, `{"error": "what went wrong and what to do"}`, the form the
Hugging Face API (and so its client) uses; validation errors add `detail`, the list of
fields at fault, and refusals that point somewhere add `link`."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from paperfeed.community.services import Refused

NEEDS_TOKEN = (
    "This needs an access token: send the header `Authorization: Bearer pf_...`. "
    "Members create tokens on their settings page, under API tokens."
)


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_response(status: int, message: str, headers: dict | None = None, **extra) -> HttpResponse:
    body = {"error": message, **{k: v for k, v in extra.items() if v is not None}}
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def body_too_big(limit: int, size: int | None = None) -> HttpResponse:
    told = f"; this one has {size:,}" if size else ""
    return error_response(413, f"Request bodies are limited to {limit:,} bytes{told}.")


def _field(location: list) -> str:
    # ninja reports ["query", "limit"] or ["body", "payload", "name"]; people want "limit".
    names = [str(part) for part in location if part not in {"query", "path", "body", "payload"}]
    return ".".join(names) or "body"


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [f"{_field(e.get('loc', []))}: {e.get('msg', 'invalid')}" for e in exc.errors]
    detail = [
        {"field": _field(e.get("loc", [])), "message": e.get("msg", "invalid")} for e in exc.errors
    ]
    return error_response(400, "Invalid request: " + "; ".join(problems) + ".", detail=detail)


def install(api: NinjaAPI) -> None:
    """Replace Django Ninja's default error bodies (`{"detail": ...}`) with ours."""

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.message, exc.headers, **exc.extra)

    @api.exception_handler(Refused)
    def refused(request: HttpRequest, exc: Refused) -> HttpResponse:
        return error_response(exc.status, exc.message, link=exc.link)

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return _validation(request, exc)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(401, NEEDS_TOKEN, {"WWW-Authenticate": 'Bearer realm="api"'})

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error_response(exc.status_code, str(exc) or HTTPStatus(exc.status_code).phrase)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, str(exc) or "Not found.")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return body_too_big(settings.PAPERFEED_API_MAX_BODY)
