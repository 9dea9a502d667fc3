"""Unit tests of the engine run deliveries in-process: on commit, Celery tasks run eagerly
(the real task code, without a broker); HTTP is faked with `responses`."""

import pytest
import responses

from app.celery import celery_app


@pytest.fixture(autouse=True)
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs the block's on-commit callbacks (enqueue → eager delivery)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


RECEIVER_URL = "https://receiver.example.com/hook"


@pytest.fixture
def receiver():
    """Fakes every HTTP call; POSTs to RECEIVER_URL succeed, anything unregistered fails as a
    connection error (and is recorded as unmatched)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, RECEIVER_URL, json={"received": True})
        yield rsps
