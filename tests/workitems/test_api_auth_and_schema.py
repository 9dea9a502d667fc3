"""Who may call the API (token or session, else 401) and the published OpenAPI schema."""

import pytest
from rest_framework.test import APIClient

from tests.factories import WorkItemFactory
from workitems.models import WorkItem

LIST_URL = "/api/v1/workitems/"
TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct horse battery staple"  # UserFactory's password


def test_the_token_endpoint_returns_a_token_that_authenticates(anonymous_api, owner, tenant):
    WorkItemFactory(tenant=tenant)

    token = anonymous_api.post(TOKEN_URL, {"username": "owner", "password": PASSWORD}).data["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get(LIST_URL)
    assert (response.status_code, response.data["count"]) == (200, 1)


def test_the_token_endpoint_refuses_a_wrong_password(anonymous_api, owner):
    response = anonymous_api.post(TOKEN_URL, {"username": "owner", "password": "wrong"})

    assert response.status_code == 400
    assert "token" not in response.data


def test_a_logged_in_session_can_list_workitems(owner, tenant):
    WorkItemFactory(tenant=tenant)
    client = APIClient()
    client.force_login(owner)

    response = client.get(LIST_URL)

    assert (response.status_code, response.data["count"]) == (200, 1)


def test_a_password_login_session_can_list_workitems(owner, tenant):
    client = APIClient()
    assert client.login(username="owner", password=PASSWORD)

    assert client.get(LIST_URL).status_code == 200


@pytest.mark.parametrize(
    "url", [LIST_URL, "/api/v1/customers/", "/api/v1/assets/", "/api/v1/dropoff-points/", f"{LIST_URL}1/notes/"]
)
def test_an_unauthenticated_request_gets_401_with_a_token_challenge(anonymous_api, url):
    response = anonymous_api.get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_gets_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")

    assert client.get(LIST_URL).status_code == 401


def test_an_unauthenticated_write_gets_401_and_creates_nothing(anonymous_api, tenant):
    response = anonymous_api.post(LIST_URL, {"description": "Anonymous"})

    assert response.status_code == 401
    assert not WorkItem.objects.exists()


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_an_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")


def test_the_schema_documents_the_workitem_endpoints(schema):
    assert {"/api/v1/workitems/", "/api/v1/workitems/{id}/", "/api/v1/workitems/{id}/notes/"} <= set(schema["paths"])


def test_the_schema_documents_the_x_tenant_header_on_the_workitem_list(schema):
    parameters = schema["paths"]["/api/v1/workitems/"]["get"]["parameters"]

    assert [p["name"] for p in parameters if p["in"] == "header"] == ["X-Tenant"]


def test_the_schema_description_explains_when_to_send_x_tenant(schema):
    assert "X-Tenant" in schema["info"]["description"]


def test_the_schema_documents_the_list_filters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/workitems/"]["get"]["parameters"]}

    assert {"status", "priority", "type", "technician", "customer", "updated_since", "search", "ordering"} <= names


def test_the_schema_has_no_put_on_workitems(schema):
    assert "put" not in schema["paths"]["/api/v1/workitems/{id}/"]


def test_the_yaml_schema_is_served_by_default(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"openapi: 3" in response.content
    assert b"/api/v1/workitems/:" in response.content


def test_the_api_docs_page_renders(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_the_schema_documents_only_their_own_parameters_on_nested_routes(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/workitems/{id}/notes/"]["get"]["parameters"]}

    assert names == {"X-Tenant", "id", "page", "page_size"}
