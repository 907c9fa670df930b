"""The API as one Django Ninja application, mounted at /api/ by paperfeed/urls.py: it
writes the OpenAPI schema (/api/openapi.json) and serves the interactive docs
(/api/docs, Swagger UI from Django Ninja's own static files, no CDN)."""

from ninja import NinjaAPI

from paperfeed.api import collections, compat, errors, lists, papers, subscriptions

DESCRIPTION = """
JSON API of a paperfeed instance. The **Hugging Face compatible** endpoints take the
same parameters and answer with the same field names as `huggingface.co/api`, so
`huggingface_hub.HfApi(endpoint="<this site>")` works. The others are paperfeed's own.

Reads need no token. Writes need a personal access token with the write scope,
`Authorization: Bearer pf_...` (members create them on their settings page). Errors are
JSON: `{"error": "..."}`. Rate limits answer 429 with `Retry-After`. See docs/api.md.
"""

# The HTTP server (gunicorn) refuses request lines over 4 KB before the API sees them,
# with a page of its own; the schema says so, so that clients (and schemathesis) know.
URI_TOO_LONG = {
    "description": "The URL is longer than the HTTP server reads (about 4 KB).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


class PaperfeedApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"].setdefault(414, URI_TOO_LONG)
        return schema


api = PaperfeedApi(
    title="paperfeed API",
    version="1",
    description=DESCRIPTION.strip(),
    urls_namespace="api",
    # The tags in this order on /api/docs, the Hugging Face compatible part first.
    openapi_extra={
        "tags": [
            {"name": "Hugging Face compatible", "description": "As huggingface.co/api."},
            {"name": "Papers", "description": "Similar papers, discussions, upvotes."},
            {"name": "Lists, search and authors"},
            {"name": "Collections"},
        ]
    },
)
errors.install(api)
# Routes with a longer path under /papers/ come first: /papers/{id} would match them too.
api.add_router("", papers.router)
api.add_router("", compat.router)
api.add_router("", lists.router)
api.add_router("", collections.router)
api.add_router("", subscriptions.router)
