"""An OpenProject answer that echoes our Authorization header (a proxy's error page, a
verbose 401) is recorded redacted: in the attempt's error and excerpt, the sync's
last_error and the work item's system note — whichever way the API key is sent."""

import base64
import json

import pytest
import responses

from integrations.engine.delivery import sync_deliver
from integrations.models import EventType, IntegrationSync, SyncAttempt
from tests.factories import WorkItemFactory
from tests.fakes.openproject import API_KEY, BASE_URL
from workitems.models import WorkItemNote

BASIC = "Basic " + base64.b64encode(f"apikey:{API_KEY}".encode()).decode()


def echo_authorization(request):
    """A 401 whose HAL message and body quote the request's Authorization header."""
    header = request.headers["Authorization"]
    body = {
        "_type": "Error",
        "errorIdentifier": "urn:openproject-org:api:v3:errors:Unauthenticated",
        "message": f"The Authorization header '{header}' is not valid.",
        "request": {"headers": dict(request.headers)},
    }
    return 401, {"Content-Type": "application/hal+json"}, json.dumps(body)


@pytest.mark.parametrize(
    ("method", "sent"), [("api_key_basic", BASIC), ("api_key_bearer", f"Bearer {API_KEY}")], ids=["basic", "bearer"]
)
def test_an_echoed_authorization_header_is_stored_redacted(openproject_integration, method, sent):
    openproject_integration.config = {**openproject_integration.config, "auth_method": method}
    openproject_integration.save(update_fields=["config"])
    workitem = WorkItemFactory(tenant=openproject_integration.tenant)
    sync = IntegrationSync.objects.get(
        integration=openproject_integration, event__event_type=EventType.WORKITEM_CREATED
    )

    with responses.RequestsMock() as openproject:
        openproject.add_callback(responses.POST, f"{BASE_URL}/api/v3/projects/3/work_packages", echo_authorization)
        sync_deliver(sync_id=sync.pk)
        assert openproject.calls[0].request.headers["Authorization"] == sent

    sync.refresh_from_db()
    attempt = SyncAttempt.objects.get(sync=sync)
    note = WorkItemNote.objects.get(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM)
    assert sync.status == "failed"
    scheme, credentials = sent.split(" ")
    assert f"The Authorization header '{scheme} [redacted]' is not valid." in sync.last_error
    recorded = {"last_error": sync.last_error, "error": attempt.error, "excerpt": attempt.response_excerpt}
    recorded["note"] = note.body
    for where, text in recorded.items():
        assert "[redacted]" in text, where
        for secret in (API_KEY, credentials):
            assert secret not in text, f"{secret} in {where}"
