"""Django settings, all driven by PAPERFEED_* environment variables (see docs/operations.md).

The embedded default is SQLite (WAL) inside PAPERFEED_HOME; DATABASE_URL switches to
PostgreSQL with no code change.
"""

import os
import secrets
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_count_or_auto(name: str) -> int | str:
    """A whole number, or "auto" (the default) for a value the code picks."""
    value = os.environ.get(name, "auto").strip()
    if value != "auto" and not value.isdigit():
        raise ValueError(f"{name} must be a whole number or auto, not {value!r}")
    return value if value == "auto" else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("PAPERFEED_HOME", ".paperfeed")).resolve()
HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if key := os.environ.get("PAPERFEED_SECRET_KEY"):
        return key
    # A key generated once per home keeps sessions valid across restarts.
    path = HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("PAPERFEED_DEBUG")
ALLOWED_HOSTS = env_list("PAPERFEED_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("PAPERFEED_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "django_ratelimit",
    # Django Ninja: the JSON API's routing, validation and OpenAPI; listed as an app so
    # that /api/docs serves its bundled Swagger UI files instead of loading them from a CDN.
    "ninja",
    "paperfeed.accounts",
    "paperfeed.papers",
    "paperfeed.community",
    "paperfeed.search",
    "paperfeed.api",
    "paperfeed.feeds",
    "paperfeed.digests",
    "paperfeed.scheduler",
]

MIDDLEWARE = [
    "paperfeed.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # /api/ only: rate limits per token or address, body size cap, CORS, JSON errors.
    "paperfeed.api.middleware.ApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a rate-limited request into the 429 page (RATELIMIT_VIEW).
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "paperfeed.urls"
WSGI_APPLICATION = "paperfeed.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "paperfeed.context_processors.site",
            ],
        },
    },
    {
        # Only for lists of cards (see paperfeed/jinja2.py); templates in <app>/jinja2/.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "paperfeed.jinja2.environment", "autoescape": True},
    },
]

SQLITE_PATH = HOME / "paperfeed.sqlite3"
# WAL lets the web server read while the worker writes; IMMEDIATE transactions take the
# write lock up front, so two writers queue on busy_timeout instead of failing mid-way.
SQLITE_OPTIONS = {
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}

if database_url := os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": SQLITE_OPTIONS,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["paperfeed.accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "papers:today"
LOGOUT_REDIRECT_URL = "papers:today"
# Verification and password-reset links stay valid for three days.
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# The cache holds rate-limit counters, so every web process must see the same one: a
# table in the main database by default, or PAPERFEED_CACHE_URL (redis://, memcached).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "paperfeed_cache",
    }
}
if cache_url := os.environ.get("PAPERFEED_CACHE_URL"):
    if cache_url.startswith(("redis://", "rediss://")):
        CACHES["default"] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": cache_url,
        }
    elif cache_url.startswith("memcached://"):
        CACHES["default"] = {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": cache_url.removeprefix("memcached://"),
        }
    else:
        raise ValueError("PAPERFEED_CACHE_URL must start with redis://, rediss:// or memcached://")
RATELIMIT_VIEW = "paperfeed.views.rate_limited"
# Behind a reverse proxy every visitor arrives from the proxy's address: name the header
# that carries the client's address (e.g. HTTP_X_REAL_IP) so limits apply per client.
if ip_header := os.environ.get("PAPERFEED_CLIENT_IP_HEADER"):
    RATELIMIT_IP_META_KEY = ip_header
# The database cache increments with a read and a write rather than atomically: a burst
# may slip a few requests past a limit, which is acceptable for abuse limits.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]


def _smtp_settings(url: str) -> dict:
    """smtp://user:pass@host:587?tls=1 (STARTTLS) or smtps://host:465 (implicit TLS)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("PAPERFEED_SMTP_URL looks like smtp://user:password@host:587?tls=1")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", "0").lower() in {"1", "true", "yes"},
        "EMAIL_TIMEOUT": float(query.get("timeout", "20")),
    }


# With no SMTP server configured, mail is written to the log (console), so a fresh
# instance still shows its verification links to the operator.
if smtp_url := os.environ.get("PAPERFEED_SMTP_URL"):
    globals().update(_smtp_settings(smtp_url))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("PAPERFEED_FROM_EMAIL", "paperfeed <paperfeed@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("PAPERFEED_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app directories: no collectstatic step for a small instance.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PAPERFEED_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- paperfeed -------------------------------------------------------------------------
PAPERFEED_BASE_URL = os.environ.get("PAPERFEED_BASE_URL", "http://127.0.0.1:8000")
PAPERFEED_CATEGORIES = env_list("PAPERFEED_CATEGORIES", "cs.LG,cs.CV,cs.CL,cs.AI,stat.ML")
PAPERFEED_ARXIV_API_URL = os.environ.get(
    "PAPERFEED_ARXIV_API_URL", "https://export.arxiv.org/api/query"
)
PAPERFEED_ARXIV_OAI_URL = os.environ.get("PAPERFEED_ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai")
PAPERFEED_ARXIV_LISTING_URL = os.environ.get(
    "PAPERFEED_ARXIV_LISTING_URL", "https://rss.arxiv.org/rss/"
)
PAPERFEED_HF_API_URL = os.environ.get("PAPERFEED_HF_API_URL", "https://huggingface.co")
# arXiv asks for no more than one request every three seconds.
PAPERFEED_ARXIV_DELAY = float(os.environ.get("PAPERFEED_ARXIV_DELAY", "3"))
PAPERFEED_HTTP_TIMEOUT = float(os.environ.get("PAPERFEED_HTTP_TIMEOUT", "30"))
PAPERFEED_HTTP_RETRIES = int(os.environ.get("PAPERFEED_HTTP_RETRIES", "4"))
# Longest Retry-After we honour before giving up on this run (it resumes next time).
PAPERFEED_HTTP_MAX_WAIT = float(os.environ.get("PAPERFEED_HTTP_MAX_WAIT", "300"))
PAPERFEED_EMBEDDING_MODEL = os.environ.get("PAPERFEED_EMBEDDING_MODEL", "minilm-int8")
PAPERFEED_EMBEDDING_THREADS = int(os.environ.get("PAPERFEED_EMBEDDING_THREADS", "2"))
# Batches embedded at once (each on PAPERFEED_EMBEDDING_THREADS threads).
PAPERFEED_EMBEDDING_PARALLEL = int(os.environ.get("PAPERFEED_EMBEDDING_PARALLEL", "1"))
PAPERFEED_EMBEDDING_MAX_TOKENS = int(os.environ.get("PAPERFEED_EMBEDDING_MAX_TOKENS", "256"))
# "int8": int8 arithmetic (2.3x faster, same quality; made once into PAPERFEED_MODEL_CACHE);
# "fast": the ONNX graph without the exporter's NaN guards (same vectors, 1.36x faster);
# "source": the pinned file exactly as shipped. int8 and fast need the `onnx` package.
PAPERFEED_EMBEDDING_GRAPH = os.environ.get("PAPERFEED_EMBEDDING_GRAPH", "int8")
PAPERFEED_MODEL_CACHE = Path(os.environ.get("PAPERFEED_MODEL_CACHE", HOME / "models"))
# "off" keeps search lexical only (no model is loaded anywhere).
PAPERFEED_SEMANTIC = os.environ.get("PAPERFEED_SEMANTIC", "on") != "off"
# exact (brute force), usearch (HNSW) or auto (usearch from 50,000 vectors).
PAPERFEED_VECTOR_INDEX = os.environ.get("PAPERFEED_VECTOR_INDEX", "auto")
# HNSW graph parameters (usearch and pgvector): neighbours per node (m) and build breadth;
# changing either rebuilds the graph. Search breadth: a number, or "auto" (128 up to
# 100,000 papers, growing with the index to 1,024; docs/search.md).
PAPERFEED_VECTOR_M = int(os.environ.get("PAPERFEED_VECTOR_M", "16"))
PAPERFEED_VECTOR_EF_CONSTRUCTION = int(os.environ.get("PAPERFEED_VECTOR_EF_CONSTRUCTION", "128"))
PAPERFEED_VECTOR_EF_SEARCH = env_count_or_auto("PAPERFEED_VECTOR_EF_SEARCH")
# Most memory PostgreSQL may use to build the pgvector index (the graph needs about 2 KB
# a paper at 384 dimensions; a build that spills to disk is many times slower).
PAPERFEED_PGVECTOR_BUILD_MEMORY_MB = int(
    os.environ.get("PAPERFEED_PGVECTOR_BUILD_MEMORY_MB", "1024")
)
# Work bounds of a lexical search (speed on large instances; docs/search.md): a word in
# more papers than this, beside rarer words, only adds to their papers' scores... ("auto":
# 50,000 on SQLite, 10,000 on PostgreSQL, whose ranking costs more per paper)
PAPERFEED_SEARCH_COMMON_POSTINGS = env_count_or_auto("PAPERFEED_SEARCH_COMMON_POSTINGS")
# ...the "any of the words" pass keeps the rarest words whose papers add up to this...
PAPERFEED_SEARCH_LOOSE_POSTINGS = env_count_or_auto("PAPERFEED_SEARCH_LOOSE_POSTINGS")
# ...and a pass left with only words over those ranks at most this many of their papers,
# the most recently added.
PAPERFEED_SEARCH_RANK_LIMIT = int(os.environ.get("PAPERFEED_SEARCH_RANK_LIMIT", "2000"))
PAPERFEED_SITE_NAME = os.environ.get("PAPERFEED_SITE_NAME", "paperfeed")
# "announcements": new arXiv announcements in PAPERFEED_CATEGORIES are listed on their
# announcement day, plus community submissions; "submitted": only what members submit
# (the Hugging Face way). Announcements are still ingested, so submitting is instant.
PAPERFEED_LISTING_POLICY = os.environ.get("PAPERFEED_LISTING_POLICY", "announcements")
if PAPERFEED_LISTING_POLICY not in {"announcements", "submitted"}:
    raise ValueError("PAPERFEED_LISTING_POLICY must be 'announcements' or 'submitted'")
PAPERFEED_SUBMIT_MAX_AGE_DAYS = int(os.environ.get("PAPERFEED_SUBMIT_MAX_AGE_DAYS", "14"))
PAPERFEED_SUBMIT_DAILY_CAP = int(os.environ.get("PAPERFEED_SUBMIT_DAILY_CAP", "5"))
# Abuse limits (django-ratelimit rates: N/s, N/m, N/h, N/d), per user or per IP.
PAPERFEED_RATE_VOTES = os.environ.get("PAPERFEED_RATE_VOTES", "120/m")
PAPERFEED_RATE_COMMENTS = os.environ.get("PAPERFEED_RATE_COMMENTS", "10/m")
PAPERFEED_RATE_SUBMISSIONS = os.environ.get("PAPERFEED_RATE_SUBMISSIONS", "20/h")
PAPERFEED_RATE_SIGNUPS = os.environ.get("PAPERFEED_RATE_SIGNUPS", "5/h")
PAPERFEED_RATE_LOGINS = os.environ.get("PAPERFEED_RATE_LOGINS", "20/m")
# Papers per page on the week and month lists (a day shows up to PAPERFEED_DAY_PAGE).
PAPERFEED_DAY_PAGE = int(os.environ.get("PAPERFEED_DAY_PAGE", "250"))
PAPERFEED_LIST_PAGE = int(os.environ.get("PAPERFEED_LIST_PAGE", "100"))
# How long each web process reuses the trending ranking before scoring it again.
PAPERFEED_TRENDING_CACHE_SECONDS = float(os.environ.get("PAPERFEED_TRENDING_CACHE_SECONDS", "30"))
# The JSON API (docs/api.md). Requests per token, and per address for requests without
# one (django-ratelimit rates); the largest request body it reads.
PAPERFEED_API_RATE_TOKEN = os.environ.get("PAPERFEED_API_RATE_TOKEN", "600/m")
PAPERFEED_API_RATE_ANON = os.environ.get("PAPERFEED_API_RATE_ANON", "120/m")
PAPERFEED_API_MAX_BODY = int(os.environ.get("PAPERFEED_API_MAX_BODY", str(128 * 1024)))

# --- digests (docs/digests.md) -----------------------------------------------------------
PAPERFEED_RATE_SUBSCRIBE = os.environ.get("PAPERFEED_RATE_SUBSCRIBE", "5/h")
# Papers in each section of a digest beyond the trending one (categories, searches, authors).
PAPERFEED_DIGEST_SECTION_SIZE = int(os.environ.get("PAPERFEED_DIGEST_SECTION_SIZE", "10"))
# Deliveries a sender claims at once, and how long the claim holds before another sender
# may take over the ones still unsent (a sender that died).
PAPERFEED_DIGEST_BATCH = int(os.environ.get("PAPERFEED_DIGEST_BATCH", "50"))
PAPERFEED_DIGEST_LEASE_SECONDS = float(os.environ.get("PAPERFEED_DIGEST_LEASE_SECONDS", "600"))
# Retries when the mail server fails: RETRY_SECONDS * 2**(attempt - 1), at most
# RETRY_MAX_SECONDS apart, MAX_ATTEMPTS in all; one run keeps retrying for RUN_SECONDS.
PAPERFEED_DIGEST_RETRY_SECONDS = float(os.environ.get("PAPERFEED_DIGEST_RETRY_SECONDS", "30"))
PAPERFEED_DIGEST_RETRY_MAX_SECONDS = float(
    os.environ.get("PAPERFEED_DIGEST_RETRY_MAX_SECONDS", "3600")
)
PAPERFEED_DIGEST_MAX_ATTEMPTS = int(os.environ.get("PAPERFEED_DIGEST_MAX_ATTEMPTS", "8"))
PAPERFEED_DIGEST_RUN_SECONDS = float(os.environ.get("PAPERFEED_DIGEST_RUN_SECONDS", "600"))

# --- scheduler (docs/digests.md#the-scheduler) --------------------------------------------
# When each periodic job runs: "every 15m", "daily 04:00 UTC", "sun-thu 20:30 Zone", "off".
# arXiv announces new papers around 20:00 US Eastern, Sunday to Thursday.
PAPERFEED_SCHEDULE_FETCH = os.environ.get(
    "PAPERFEED_SCHEDULE_FETCH", "sun-thu 20:30 America/New_York"
)
PAPERFEED_SCHEDULE_STARS = os.environ.get("PAPERFEED_SCHEDULE_STARS", "daily 04:00 UTC")
PAPERFEED_SCHEDULE_DIGESTS = os.environ.get("PAPERFEED_SCHEDULE_DIGESTS", "every 15m")
PAPERFEED_SCHEDULE_PRUNE = os.environ.get("PAPERFEED_SCHEDULE_PRUNE", "daily 03:30 UTC")
# Seconds between two looks at the schedule by each worker's scheduler.
PAPERFEED_SCHEDULER_INTERVAL = float(os.environ.get("PAPERFEED_SCHEDULER_INTERVAL", "30"))
# Code-repository stars come from the GitHub API, only with a token (5,000 calls an hour).
PAPERFEED_GITHUB_TOKEN = os.environ.get("PAPERFEED_GITHUB_TOKEN", "")
PAPERFEED_GITHUB_API_URL = os.environ.get("PAPERFEED_GITHUB_API_URL", "https://api.github.com")
PAPERFEED_STARS_PER_RUN = int(os.environ.get("PAPERFEED_STARS_PER_RUN", "2000"))
