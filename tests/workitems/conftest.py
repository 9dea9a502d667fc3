"""Fixtures shared by the work-item API tests."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import token_client


@pytest.fixture
def member_api(member) -> APIClient:
    """An API client authenticated as a plain member of the owner's tenant."""
    return token_client(member)
