"""Settings for the test suite: always PostgreSQL and Redis, never the embedded defaults.

TEST_DATABASE_URL / TEST_BROKER_URL / TEST_REDIS_URL override the local defaults
(these machines run PostgreSQL and Redis on 127.0.0.1 with trust auth).
"""

import os

os.environ["DATABASE_URL"] = os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/fieldhook"
)
os.environ["CELERY_BROKER_URL"] = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Valid production-grade values (DEBUG is off here too), known to everyone: tests only.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-long-enough-for-the-production-check")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=")
os.environ["DEBUG"] = "0"

from app.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":  # noqa: F405
    raise RuntimeError("The test suite runs on PostgreSQL only; set TEST_DATABASE_URL to a postgres:// URL.")

# Tests talk to receivers on loopback over plain http.
INTEGRATIONS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
INTEGRATIONS_ALLOW_HTTP = True

# The test client speaks plain http; the HTTPS redirect has tests of its own.
SECURE_SSL_REDIRECT = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
SYNC_SEND_THREADS = 0  # deliveries run in the test process itself; tests/e2e workers use threads
