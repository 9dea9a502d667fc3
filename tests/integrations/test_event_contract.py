"""The event contract: every payload the engine produces validates against the JSON Schema of
its event type (integrations/event_schemas/), which the API serves and docs/events.md renders."""

import datetime
import json
from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from integrations import events, services
from integrations.event_contract import SCHEMA_DIR, event_schema, event_schemas
from integrations.management.commands.render_event_docs import DOC, events_markdown
from integrations.models import EventType, ExternalLink, IntegrationSync
from integrations.payloads import SCHEMA_VERSION, TRACKED_FIELDS
from tests.factories import (
    CustomerAssetFactory,
    CustomerFactory,
    DropoffPointFactory,
    TenantIntegrationFactory,
    WorkItemFactory,
)
from workitems import services as workitem_services
from workitems.models import WorkItem

UTC = datetime.UTC


def validator(event_type: str) -> Draft202012Validator:
    schema = event_schema(event_type)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def produced_payloads(*, tenant, owner, member) -> list[IntegrationSync]:
    """Every kind of payload the engine writes, through the real code paths."""
    integration = TenantIntegrationFactory(tenant=tenant)
    customer = CustomerFactory(tenant=tenant, name="Ada Lovelace", email="")
    asset = CustomerAssetFactory(tenant=tenant, customer=customer)
    store = DropoffPointFactory(tenant=tenant)
    full = WorkItemFactory(
        tenant=tenant,
        customer=customer,
        customer_asset=asset,
        dropoff_point=store,
        owner=owner,
        technician=member,
        estimated_price=Decimal("150"),
        final_price=Decimal("99.5"),
        due_date=datetime.datetime(2030, 1, 1, tzinfo=UTC),
        comments="Handle with care",
    )
    bare = WorkItemFactory(tenant=tenant, customer=None, estimated_price=None, description="Bare")
    workitem_services.workitem_update(workitem=full, status=WorkItem.Status.IN_PROGRESS, description="Changed")
    workitem_services.workitem_update(
        workitem=bare,
        type=WorkItem.Type.QUOTE,
        priority=WorkItem.Priority.URGENT,
        created_date=datetime.datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        due_date=datetime.datetime(2031, 1, 1, tzinfo=UTC),
        customer=customer,
        owner=member,
        technician=owner,
        customer_asset=asset,
        estimated_price=Decimal("10.00"),
        final_price=Decimal("12.00"),
        dropoff_point=store,
        intake_method=WorkItem.IntakeMethod.COURIER,
        comments="Now with everything",
    )
    gone = DropoffPointFactory(tenant=tenant)
    workitem_services.workitem_update(workitem=bare, dropoff_point=gone)
    gone.delete()  # SET_NULL: the next event names it only by id on its old side
    bare.refresh_from_db()
    workitem_services.workitem_update(workitem=bare, dropoff_point=None, customer=None, owner=None)
    services.integration_send_test_event(integration=integration)
    ExternalLink.objects.create(integration=integration, content_object=full, external_id="7")
    events.workitem_send_current_state(workitem=full, integration=integration)
    later = TenantIntegrationFactory(tenant=tenant)
    services.integration_backfill_continue(integration_id=later.pk, since=None, statuses=None, after_id=0)
    return list(IntegrationSync.objects.all())


def test_every_payload_the_engine_produces_matches_its_schema(tenant, owner, member):
    syncs = produced_payloads(tenant=tenant, owner=owner, member=member)

    assert {sync.event.event_type for sync in syncs} == set(EventType.values)
    changed = {field for sync in syncs for field in sync.event.payload.get("changes", {})}
    assert changed == set(TRACKED_FIELDS)
    for sync in syncs:
        validator(sync.event.event_type).validate(sync.event.payload)


def test_a_payload_with_an_undocumented_field_fails_its_schema(tenant):
    TenantIntegrationFactory(tenant=tenant)
    WorkItemFactory(tenant=tenant)
    payload = IntegrationSync.objects.get().event.payload

    with pytest.raises(ValidationError):
        validator("workitem_created").validate({**payload, "surprise": 1})


def test_every_payload_carries_the_schema_version(tenant):
    TenantIntegrationFactory(tenant=tenant)

    WorkItemFactory(tenant=tenant)

    assert IntegrationSync.objects.get().event.payload["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("event_type", EventType.values)
def test_each_schema_is_valid_and_its_example_matches_it(event_type):
    schema = event_schema(event_type)

    validator(event_type).validate(schema["examples"][0])
    assert schema["examples"][0]["event_type"] == event_type


def test_there_is_one_schema_file_per_event_type_and_no_other():
    files = {path.stem for path in SCHEMA_DIR.glob("*.json")} - {"defs"}

    assert files == set(EventType.values)


def test_the_schemas_list_the_choices_the_models_have():
    defs = next(iter(event_schemas().values()))["$defs"]

    assert defs["status"]["enum"] == WorkItem.Status.values
    assert defs["type"]["enum"] == WorkItem.Type.values
    assert defs["priority"]["enum"] == WorkItem.Priority.values
    assert defs["intake_method"]["enum"] == WorkItem.IntakeMethod.values
    assert defs["schema_version"]["const"] == SCHEMA_VERSION
    assert set(defs["workitem"]["properties"]) == {"id", "reference_id", *TRACKED_FIELDS}


def test_the_served_schemas_are_self_contained():
    text = json.dumps(event_schemas())

    assert "defs.json" not in text


def test_docs_events_md_is_rendered_from_the_schemas():
    assert DOC.read_text() == events_markdown(), "run `python manage.py render_event_docs`"


def test_the_event_types_endpoint_lists_every_type_with_its_schema(api):
    response = api.get("/api/v1/event-types/")

    assert response.status_code == 200
    assert [row["name"] for row in response.data] == EventType.values
    rows = {row["name"]: row for row in response.data}
    assert rows["workitem_created"]["schema"] == event_schema("workitem_created")
    assert (rows["workitem_created"]["subscribable"], rows["integration_test"]["subscribable"]) == (True, False)


def test_the_event_types_endpoint_needs_a_login(anonymous_api):
    assert anonymous_api.get("/api/v1/event-types/").status_code == 401
