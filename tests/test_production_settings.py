"""Production-safe defaults: what app/settings.py refuses with DEBUG off, what it turns on, the
key commands the docs show, and `manage.py check --deploy` on docker-compose.yml's web service.

app/settings.py is executed afresh with an environment of the test's choosing (runpy), or
started in a subprocess with nothing but that environment.
"""

import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from app.production import GENERATE_ENCRYPTION_KEY, GENERATE_SECRET_KEY, encryption_keys_check, secret_key_check
from integrations.crypto import secrets_decrypt, secrets_encrypt

ROOT = Path(__file__).resolve().parents[1]
# What app/settings.py reads that these tests decide; the rest (database, Redis) stays as tests/settings.py set it.
DECIDED_HERE = [
    "DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "METRICS_TOKEN", "METRICS_PUBLIC",
]  # fmt: skip


def generated(command: str) -> str:
    """Run a documented `python3 -c '...'` command with this interpreter; its output."""
    program, *arguments = shlex.split(command)
    assert program == "python3"
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def deployer_secrets() -> dict[str, str]:
    """What a deployer sets, made with the commands the docs show."""
    return {"SECRET_KEY": generated(GENERATE_SECRET_KEY), "FIELD_ENCRYPTION_KEYS": generated(GENERATE_ENCRYPTION_KEY)}


@pytest.fixture
def load_settings(monkeypatch):
    def load(**environment: str) -> dict:
        for name in DECIDED_HERE:
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(ROOT / "app" / "settings.py"))

    return load


def example_value(name: str) -> str:
    """The value .env.example gives a variable."""
    return re.search(rf"^{name}=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)[1]


# --- Refusals with DEBUG off ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_key", "refusal"),
    [
        ("", "SECRET_KEY must be set"),
        (example_value("SECRET_KEY"), "SECRET_KEY is a placeholder"),
        ("change-me", "SECRET_KEY is a placeholder"),
        ("django-insecure-" + "k3y" * 20, "SECRET_KEY is a placeholder"),
        ("Sh0rt-but-random-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4", "SECRET_KEY is too weak"),
        ("ab" * 40, "SECRET_KEY is too weak"),
    ],
    ids=["missing", "env-example", "change-me", "django-insecure", "49-characters", "two-characters"],
)
def test_production_refuses_to_start_with_a_weak_secret_key(load_settings, deployer_secrets, secret_key, refusal):
    with pytest.raises(ImproperlyConfigured, match=refusal) as refused:
        load_settings(DEBUG="0", SECRET_KEY=secret_key, FIELD_ENCRYPTION_KEYS=deployer_secrets["FIELD_ENCRYPTION_KEYS"])

    assert GENERATE_SECRET_KEY in str(refused.value)


@pytest.mark.parametrize(
    ("keys", "refusal"),
    [("", "FIELD_ENCRYPTION_KEYS must be set"), ("change-me", "key 1 is not a Fernet key")],
    ids=["missing", "malformed"],
)
def test_production_refuses_to_start_without_valid_encryption_keys(load_settings, deployer_secrets, keys, refusal):
    with pytest.raises(ImproperlyConfigured, match=refusal) as refused:
        load_settings(DEBUG="0", SECRET_KEY=deployer_secrets["SECRET_KEY"], FIELD_ENCRYPTION_KEYS=keys)

    assert GENERATE_ENCRYPTION_KEY in str(refused.value)


def test_a_malformed_encryption_key_is_refused_with_debug_on_too(load_settings, deployer_secrets):
    keys = f"{deployer_secrets['FIELD_ENCRYPTION_KEYS']},not-a-key"

    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key"):
        load_settings(DEBUG="1", FIELD_ENCRYPTION_KEYS=keys)


def test_the_embedded_mode_starts_with_debug_on_and_no_other_environment():
    environment = {"PATH": os.environ["PATH"], "DEBUG": "1"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr


# --- What DEBUG decides ------------------------------------------------------------------------------


def test_with_debug_off_https_secure_cookies_and_closed_metrics_are_the_defaults(load_settings, deployer_secrets):
    loaded = load_settings(DEBUG="0", **deployer_secrets)

    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert (loaded["SECURE_HSTS_SECONDS"], loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (31536000, True)
    assert loaded["SECURE_HSTS_PRELOAD"] is False
    assert (loaded["SESSION_COOKIE_SECURE"], loaded["CSRF_COOKIE_SECURE"]) == (True, True)
    assert loaded["SECURE_PROXY_SSL_HEADER"] is None
    assert loaded["METRICS_PUBLIC"] is False


def test_with_debug_on_plain_http_and_open_metrics_are_the_defaults(load_settings):
    loaded = load_settings(DEBUG="1")

    assert (loaded["SECURE_SSL_REDIRECT"], loaded["SECURE_HSTS_SECONDS"]) == (False, 0)
    assert (loaded["SESSION_COOKIE_SECURE"], loaded["CSRF_COOKIE_SECURE"]) == (False, False)
    assert loaded["METRICS_PUBLIC"] is True


def test_each_https_setting_can_be_set_from_the_environment(load_settings, deployer_secrets):
    loaded = load_settings(
        DEBUG="0",
        **deployer_secrets,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_HSTS_PRELOAD="1",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        METRICS_PUBLIC="1",
    )

    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert (loaded["SECURE_SSL_REDIRECT"], loaded["SECURE_HSTS_SECONDS"]) == (False, 3600)
    assert (loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"], loaded["SECURE_HSTS_PRELOAD"]) == (False, True)
    assert loaded["SILENCED_SYSTEM_CHECKS"] == []
    assert (loaded["SESSION_COOKIE_SECURE"], loaded["CSRF_COOKIE_SECURE"]) == (False, False)
    assert loaded["METRICS_PUBLIC"] is True


def test_plain_http_is_redirected_to_https_except_healthz_and_metrics(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_PUBLIC = True

    login = client.get("/admin/login/")

    assert (login.status_code, login["Location"]) == (301, "https://testserver/admin/login/")
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 200


# --- The documented key commands -----------------------------------------------------------------------


def test_the_documented_key_commands_make_keys_that_production_accepts(deployer_secrets):
    secret_key_check(key=deployer_secrets["SECRET_KEY"])
    encryption_keys_check(keys=[deployer_secrets["FIELD_ENCRYPTION_KEYS"]], required=True)


@pytest.mark.parametrize("document", ["docker-compose.yml", ".env.example", "docs/operations.md"])
def test_the_docs_show_the_key_commands(document):
    text = (ROOT / document).read_text()

    assert GENERATE_SECRET_KEY in text
    assert GENERATE_ENCRYPTION_KEY in text


def test_the_documented_command_prints_the_key_that_was_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    stored = secrets_encrypt({"token": "t0ps3cret"})
    command = re.search(r"python3 -c '([^']*fieldhook-secrets[^']*)'", (ROOT / "docs" / "operations.md").read_text())[1]
    environment = {"PATH": os.environ["PATH"], "SECRET_KEY": settings.SECRET_KEY}
    derived = subprocess.run(
        [sys.executable, "-c", command], env=environment, capture_output=True, text=True, check=True
    )

    settings.FIELD_ENCRYPTION_KEYS = [generated(GENERATE_ENCRYPTION_KEY), derived.stdout.strip()]

    assert secrets_decrypt(stored) == {"token": "t0ps3cret"}


# --- manage.py check --deploy on docker-compose.yml ------------------------------------------------------

COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}")


def compose_interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and ${VAR?error}."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match["name"], match["operator"] or "", match["argument"]
        found = variables.get(name)
        if found is not None and not (operator.startswith(":") and found == ""):
            return found
        if operator.endswith("?"):
            raise AssertionError(f"docker-compose.yml requires {name}: {argument}")
        return argument if operator.endswith("-") else ""

    return COMPOSE_VARIABLE.sub(replace, value)


def compose_web_environment(variables: dict[str, str]) -> dict[str, str]:
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    return {name: compose_interpolate(str(value), variables) for name, value in web["environment"].items()}


def test_check_deploy_finds_nothing_in_the_production_settings_of_docker_compose(db, deployer_secrets):
    database = connection.settings_dict
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "app.settings",  # as the Dockerfile sets it
        **compose_web_environment(deployer_secrets),
        "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout
