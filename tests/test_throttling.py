"""Login throttles per client address: POST /api/v1/auth/token/ (a rate) and the admin login
(failed attempts per window); both answer 429 with Retry-After.

Each test logs in from addresses of its own, so counts left in Redis by other tests or runs
never meet it; low limits come from the settings, nothing sleeps.
"""

import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/admin/login/"
PASSWORD = "correct horse battery staple"  # UserFactory's password


def new_address() -> str:
    """A random client address in 10/8: no other test (or earlier run) has counts for it."""
    value = uuid.uuid4().int
    return f"10.{value % 256}.{value // 256 % 256}.{value // 65536 % 254 + 1}"


@pytest.fixture
def address() -> str:
    return new_address()


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def three_failures_allowed(settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    settings.ADMIN_LOGIN_FAILURE_WINDOW_SECONDS = 300


@pytest.fixture
def two_tokens_a_minute(settings):
    settings.API_TOKEN_THROTTLE_RATE = "2/minute"


@pytest.fixture
def behind_one_proxy(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def admin_login(password: str, **extra):
    return Client().post(LOGIN_URL, {"username": "root", "password": password, "next": "/admin/"}, **extra)


def token_request(password: str, **extra):
    return APIClient().post(TOKEN_URL, {"username": "root", "password": password}, **extra)


# --- Admin login ---------------------------------------------------------------------------------


def test_the_admin_login_answers_429_with_retry_after_after_too_many_failures(
    admin_user, address, three_failures_allowed
):
    assert [admin_login("wrong", REMOTE_ADDR=address).status_code for _ in range(3)] == [200, 200, 200]

    response = admin_login(PASSWORD, REMOTE_ADDR=address)

    assert response.status_code == 429
    assert 290 <= int(response["Retry-After"]) <= 300
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed login attempts" in response.text
    assert "try again in 5 minutes" in response.text
    assert Client().get(LOGIN_URL, REMOTE_ADDR=address).status_code == 429


def test_admin_login_failures_are_counted_per_client_address(admin_user, address, three_failures_allowed):
    for _ in range(3):
        admin_login("wrong", REMOTE_ADDR=address)

    assert admin_login(PASSWORD, REMOTE_ADDR=new_address()).status_code == 302


def test_successful_admin_logins_are_not_counted(admin_user, address, three_failures_allowed):
    assert {admin_login(PASSWORD, REMOTE_ADDR=address).status_code for _ in range(4)} == {302}


def test_a_made_up_x_forwarded_for_does_not_escape_the_admin_login_limit(admin_user, address, three_failures_allowed):
    for _ in range(3):
        admin_login("wrong", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=new_address())

    assert admin_login(PASSWORD, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=new_address()).status_code == 429


def test_behind_a_proxy_the_admin_login_limit_counts_the_forwarded_address(
    admin_user, address, three_failures_allowed, behind_one_proxy
):
    proxy, other_client = new_address(), new_address()
    for _ in range(3):
        admin_login("wrong", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {address}")

    assert admin_login(PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=address).status_code == 429
    assert admin_login(PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=other_client).status_code == 302


def test_the_admin_login_still_works_while_the_cache_is_down(admin_user, address, three_failures_allowed, cache_down):
    assert admin_login("wrong", REMOTE_ADDR=address).status_code == 200
    assert admin_login(PASSWORD, REMOTE_ADDR=address).status_code == 302


# --- API token --------------------------------------------------------------------------------------


def test_token_requests_over_the_rate_answer_429_with_retry_after(admin_user, address, two_tokens_a_minute):
    assert [token_request(p, REMOTE_ADDR=address).status_code for p in ("wrong", PASSWORD)] == [400, 200]

    response = token_request(PASSWORD, REMOTE_ADDR=address)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "token" not in response.data


def test_token_requests_are_counted_per_client_address(admin_user, address, two_tokens_a_minute):
    for _ in range(2):
        token_request("wrong", REMOTE_ADDR=address)

    assert token_request(PASSWORD, REMOTE_ADDR=new_address()).status_code == 200


def test_a_made_up_x_forwarded_for_does_not_escape_the_token_rate(admin_user, address, two_tokens_a_minute):
    for _ in range(2):
        token_request("wrong", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=new_address())

    assert token_request(PASSWORD, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=new_address()).status_code == 429


def test_tokens_are_still_issued_while_the_cache_is_down(admin_user, address, two_tokens_a_minute, cache_down):
    assert {token_request(PASSWORD, REMOTE_ADDR=address).status_code for _ in range(3)} == {200}
