"""Unit tests of the engine run deliveries in-process: on commit, Celery tasks run eagerly
(the real task code, without a broker); HTTP is faked with `responses`."""

import pytest

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
