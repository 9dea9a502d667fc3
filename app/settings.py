"""Fieldhook settings, read once from the environment (see .env.example).

With no environment at all Fieldhook runs embedded: SQLite and a filesystem
Celery broker under ``var/``. Set DATABASE_URL / CELERY_BROKER_URL / REDIS_URL
for PostgreSQL and Redis.
"""

from pathlib import Path

import environ

from app.production import DEV_SECRET_KEY, encryption_keys_check, secret_key_check

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Django's signing key; with DEBUG on a fixed dev key stands in (checked under "Security / production").
SECRET_KEY = env.str("SECRET_KEY", default="") or (DEV_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "tenants",
    "workitems",
    "integrations",
]

MIDDLEWARE = [
    "app.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "app.urls"
WSGI_APPLICATION = "app.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'fieldhook.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is shared by web, worker and beat in the embedded mode: wait for locks.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Seconds the cache waits for Redis to connect or answer before the call fails.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "fieldhook",
            # A Redis that accepts connections but never answers must not hang a request.
            "OPTIONS": {"socket_connect_timeout": REDIS_SOCKET_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so that an anonymous request gets 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "app.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "tenants.api.TenantAwareAutoSchema",
    "EXCEPTION_HANDLER": "app.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fieldhook API",
    "DESCRIPTION": (
        "Work items (repair tickets, RMAs) of the caller's tenant, and its integrations with "
        "their deliveries (syncs). Authenticate with `Authorization: Token <key>`; send "
        "`X-Tenant: <slug>` when you belong to several tenants; send `Idempotency-Key: <uuid>` "
        "to make a write safe to retry. Guide: docs/api.md; event payloads: docs/events.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served by us, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two models have a `status`: each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "WorkItemStatusEnum": "workitems.models.WorkItem.Status",
        "SyncStatusEnum": "integrations.models.IntegrationSync.Status",
    },
}
# Idempotency-Key on API writes (docs/api.md): hours the first answer is kept and replayed to
# retries, and seconds a retry waits for the first request with its key before answering 409.
IDEMPOTENCY_KEY_TTL_HOURS = env.float("IDEMPOTENCY_KEY_TTL_HOURS", default=24.0)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files under var/broker, no server needed.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish during a broker outage gives up quickly: the outbox row is already committed
# and the beat sweep enqueues it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes each task's last_run_at as soon as it sends it (default: every 3 minutes), so
# /healthz can tell from the database that beat is running.
CELERY_BEAT_SYNC_EVERY = 1
# Polls have their own queue (and workers), so a slow tool never takes a delivery slot.
# Keys are registered task names (`name=` in integrations/tasks.py), not Python names.
CELERY_TASK_ROUTES = {
    "integrations.tasks.poll_integrations": {"queue": "polls"},
    "integrations.tasks.poll_integration": {"queue": "polls"},
    "integrations.tasks.run_package": {"queue": "polls"},
}

# --- Fieldhook ----------------------------------------------------------------
FIELDHOOK_ADMIN_USERNAME = env.str("FIELDHOOK_ADMIN_USERNAME", default="admin")
FIELDHOOK_ADMIN_PASSWORD = env.str("FIELDHOOK_ADMIN_PASSWORD", default="")
HEALTHCHECK_TIMEOUT = env.float("HEALTHCHECK_TIMEOUT", default=2.0)

# --- Integrations -------------------------------------------------------------
# Keys for secrets at rest (Fernet, comma-separated; the first encrypts, all decrypt).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Outbound HTTP: seconds to connect and to wait for an answer; pooled connections per host.
HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=5.0)
HTTP_TIMEOUT = env.float("HTTP_TIMEOUT", default=15.0)
HTTP_POOL_SIZE = env.int("HTTP_POOL_SIZE", default=10)
HTTP_MAX_RESPONSE_BYTES = env.int("HTTP_MAX_RESPONSE_BYTES", default=64 * 1024)
# One request (connect, headers and body together) ends within this many seconds however slowly
# the receiver answers (docs/decisions/0007-request-deadlines.md).
HTTP_DEADLINE_SECONDS = HTTP_CONNECT_TIMEOUT + HTTP_TIMEOUT
# A receiver's Retry-After is honoured up to this many seconds; larger values, `inf` and far dates are capped.
HTTP_RETRY_AFTER_MAX_SECONDS = env.float("HTTP_RETRY_AFTER_MAX_SECONDS", default=3600.0)
# Delivery engine (see docs/integrations.md and docs/decisions/0010-batched-delivery.md).
SYNC_CLAIM_SECONDS = env.float("SYNC_CLAIM_SECONDS", default=HTTP_CONNECT_TIMEOUT + HTTP_TIMEOUT + 30)
SYNC_STRANDED_GRACE_SECONDS = env.float("SYNC_STRANDED_GRACE_SECONDS", default=60.0)
SYNC_RETRY_COUNTDOWN_MAX_SECONDS = env.float("SYNC_RETRY_COUNTDOWN_MAX_SECONDS", default=300.0)
# A worker claims up to SYNC_BATCH_SIZE due syncs at once, at most SYNC_BATCH_PER_INTEGRATION of
# one integration (and of a rate-limited one what its limit allows in SYNC_RATE_WINDOW_SECONDS),
# sends them on SYNC_SEND_THREADS threads with up to SYNC_LANES_PER_INTEGRATION at a time to one
# integration (0 threads: one after another in the task itself), and claims more batches for
# SYNC_DRAIN_SECONDS while any are due.
SYNC_BATCH_SIZE = env.int("SYNC_BATCH_SIZE", default=100)
SYNC_BATCH_PER_INTEGRATION = env.int("SYNC_BATCH_PER_INTEGRATION", default=100)
SYNC_RATE_WINDOW_SECONDS = env.float("SYNC_RATE_WINDOW_SECONDS", default=2.0)
SYNC_SEND_THREADS = env.int("SYNC_SEND_THREADS", default=8)
SYNC_LANES_PER_INTEGRATION = env.int("SYNC_LANES_PER_INTEGRATION", default=2)
SYNC_DRAIN_SECONDS = env.float("SYNC_DRAIN_SECONDS", default=30.0)
# The beat sweep wakes at most this many workers at once for a backlog.
SYNC_SWEEP_MAX_WAKEUPS = env.int("SYNC_SWEEP_MAX_WAKEUPS", default=16)
# History: delivered events (their payloads hold customer data) and their attempts go after
# SYNC_RETENTION_DAYS, failed ones after SYNC_FAILED_RETENTION_DAYS unless resolved sooner;
# pending ones stay. Pruned daily, SYNC_PRUNE_BATCH_SIZE events at a time.
SYNC_RETENTION_DAYS = env.int("SYNC_RETENTION_DAYS", default=30)
SYNC_FAILED_RETENTION_DAYS = env.int("SYNC_FAILED_RETENTION_DAYS", default=90)
SYNC_PRUNE_BATCH_SIZE = env.int("SYNC_PRUNE_BATCH_SIZE", default=1000)
SYNC_ATTEMPT_RETENTION_DAYS = env.int("SYNC_ATTEMPT_RETENTION_DAYS", default=30)
# Work items per batch (one transaction, one task) when existing ones are sent to an integration.
BACKFILL_BATCH_SIZE = env.int("BACKFILL_BATCH_SIZE", default=200)
# Celery time limits in seconds. The soft limit interrupts a task (a delivery records it as a
# timeout); the hard one kills its process TASK_HARD_LIMIT_GRACE_SECONDS later. A delivery makes
# at most 12 requests (a status change that reads the remote object first, each read tried three
# times, plus a token refresh), each within HTTP_DEADLINE_SECONDS; polls are capped in pages, not in time.
# A drain claims for SYNC_DRAIN_SECONDS, then waits for its last deliveries.
SYNC_TASK_SOFT_TIME_LIMIT = env.float(
    "SYNC_TASK_SOFT_TIME_LIMIT", default=SYNC_DRAIN_SECONDS + 12 * HTTP_DEADLINE_SECONDS + 30
)
POLL_TASK_SOFT_TIME_LIMIT = env.float("POLL_TASK_SOFT_TIME_LIMIT", default=600.0)
# A package run: a search, the parent, a bulk call per 50 children and a link per child, each
# within HTTP_DEADLINE_SECONDS and paced by the integration's rate limit. A stopped run resumes.
PACKAGE_TASK_SOFT_TIME_LIMIT = env.float("PACKAGE_TASK_SOFT_TIME_LIMIT", default=600.0)
# A package run waits this long at most for its integration's rate limit (a tool's Retry-After
# included); asked to wait longer, it stops and is resumed later.
PACKAGE_RATE_WAIT_MAX_SECONDS = env.float("PACKAGE_RATE_WAIT_MAX_SECONDS", default=30.0)
# Every other task: the sweep, pruning, scheduling polls.
TASK_SOFT_TIME_LIMIT = env.float("TASK_SOFT_TIME_LIMIT", default=300.0)
TASK_HARD_LIMIT_GRACE_SECONDS = env.float("TASK_HARD_LIMIT_GRACE_SECONDS", default=30.0)
CELERY_TASK_SOFT_TIME_LIMIT = TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = TASK_SOFT_TIME_LIMIT + TASK_HARD_LIMIT_GRACE_SECONDS
# SSRF guard: outbound requests may only reach public addresses, plus these networks
# (CIDRs, comma-separated). Plain http:// only when INTEGRATIONS_ALLOW_HTTP is on.
INTEGRATIONS_ALLOWED_NETWORKS = env.list(
    "INTEGRATIONS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
INTEGRATIONS_ALLOW_HTTP = env.bool("INTEGRATIONS_ALLOW_HTTP", default=DEBUG)
# Outgoing payloads above this size fail permanently; inbound bodies above it answer 413.
INTEGRATIONS_MAX_PAYLOAD_BYTES = env.int("INTEGRATIONS_MAX_PAYLOAD_BYTES", default=512 * 1024)
INBOUND_MAX_BODY_BYTES = env.int("INBOUND_MAX_BODY_BYTES", default=256 * 1024)
# Any other request body (REST API, token endpoint, admin) over this size answers 413 before
# it is read (app.middleware.RequestBodyLimitMiddleware, as for INBOUND_MAX_BODY_BYTES).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# Django's and DRF's own cap on a body read into memory: never below the limits above.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, INBOUND_MAX_BODY_BYTES)
# Circuit breaker per integration (state in Redis, shared by all workers).
CIRCUIT_FAILURE_THRESHOLD = env.int("CIRCUIT_FAILURE_THRESHOLD", default=5)
CIRCUIT_RECOVERY_SECONDS = env.float("CIRCUIT_RECOVERY_SECONDS", default=60.0)
# Deliveries one integration may have under way at once, across all workers (bulkhead).
INTEGRATION_MAX_IN_FLIGHT = env.int("INTEGRATION_MAX_IN_FLIGHT", default=4)
# An integration whose deliveries all failed for this long is paused.
AUTO_PAUSE_AFTER_HOURS = env.float("AUTO_PAUSE_AFTER_HOURS", default=72.0)
# Redis key prefix of the shared delivery counters behind /metrics.
METRICS_KEY_PREFIX = env.str("METRICS_KEY_PREFIX", default="fieldhook:metrics")
# Public base URL of this Fieldhook, for links back from external systems.
FIELDHOOK_BASE_URL = env.str("FIELDHOOK_BASE_URL", default="http://127.0.0.1:8000")

# --- Security / production ------------------------------------------------------
# With DEBUG off, refuse to start with a missing, placeholder or short SECRET_KEY or without
# FIELD_ENCRYPTION_KEYS (docs/operations.md, "Production settings", shows how to generate them).
if not DEBUG:
    secret_key_check(key=SECRET_KEY)
encryption_keys_check(keys=FIELD_ENCRYPTION_KEYS, required=not DEBUG)
# HTTPS. Behind a TLS-terminating proxy, name the header it sets to "https" (e.g. X-Forwarded-Proto);
# only when the proxy always overwrites that header, or clients could claim https themselves.
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    (f"HTTP_{_proxy_ssl_header.upper().replace('-', '_')}", "https") if _proxy_ssl_header else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Called over plain http inside the private network (container healthcheck, Prometheus): not redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading commits the whole registrable domain to HTTPS in browsers (hstspreload.org), hard to
# undo: opt-in, and its deploy-check reminder (security.W021) is silenced while it is off.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# /metrics: with METRICS_TOKEN only for `Authorization: Bearer <token>`; without it, open only
# when METRICS_PUBLIC is on (default: with DEBUG), else 403.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=DEBUG)
# Throttles count per client address: REMOTE_ADDR, or behind NUM_PROXIES reverse proxies that each
# append to X-Forwarded-For, the address the outermost one saw (clients cannot spoof it then).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
# POST /api/v1/auth/token/ per client address ("<n>/second|minute|hour|day"); more answer 429.
API_TOKEN_THROTTLE_RATE = env.str("API_TOKEN_THROTTLE_RATE", default="10/minute")
# Admin logins: after this many failures from one address within the window, 429 until it ends.
ADMIN_LOGIN_MAX_FAILURES = env.int("ADMIN_LOGIN_MAX_FAILURES", default=10)
ADMIN_LOGIN_FAILURE_WINDOW_SECONDS = env.int("ADMIN_LOGIN_FAILURE_WINDOW_SECONDS", default=300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
