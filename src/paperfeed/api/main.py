"""The API as one Django Ninja application, mounted at /api/ by paperfeed/urls.py: it
writes the OpenAPI schema (/api/openapi.json) and serves the interactive docs
(/api/docs, Swagger UI from Django Ninja's own static files, no CDN)."""

from ninja import NinjaAPI

from paperfeed.api import collections, compat, errors, lists, papers

DESCRIPTION = """
JSON API of a paperfeed instance. The **Hugging Face compatible** endpoints take the
same parameters and answer with the same field names as `huggingface.co/api`, so
`huggingface_hub.HfApi(endpoint="<this site>")` works. The others are paperfeed's own.

Reads need no token. Writes need a personal access token with the write scope,
`Authorization: Bearer pf_...` (members create them on their settings page). Errors are
JSON: `{"error": "..."}`. Rate limits answer 429 with `Retry-After`. See docs/api.md.
"""

api = NinjaAPI(
    title="paperfeed API",
    version="1",
    description=DESCRIPTION.strip(),
    urls_namespace="api",
)
errors.install(api)
# Routes with a longer path under /papers/ come first: /papers/{id} would match them too.
api.add_router("", papers.router)
api.add_router("", compat.router)
api.add_router("", lists.router)
api.add_router("", collections.router)
