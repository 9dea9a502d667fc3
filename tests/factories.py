"""factory_boy factories for the domain; every tenant-owned row gets a tenant."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from integrations.models import (
    SUBSCRIBABLE_EVENTS,
    EventType,
    IntegrationEvent,
    IntegrationSync,
    PackageTemplate,
    PackageTemplateElement,
    TenantIntegration,
)
from tenants.models import Membership, Tenant
from workitems import services
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.MEMBER


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Faker("name")
    email = factory.Faker("email")


class CustomerAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAsset

    tenant = factory.SubFactory(TenantFactory)
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    name = "iPhone 13 Pro"


class DropoffPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DropoffPoint

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Store {n}")


class WorkItemFactory(factory.django.DjangoModelFactory):
    """Created through `workitem_create`, so reference ids and validation are the real ones."""

    class Meta:
        model = WorkItem

    tenant = factory.SubFactory(TenantFactory)
    description = factory.Faker("sentence")
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    estimated_price = Decimal("150.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.workitem_create(**kwargs)


class TenantIntegrationFactory(factory.django.DjangoModelFactory):
    """A webhook integration subscribed to every work-item event; pass `secrets={...}` to store secrets."""

    class Meta:
        model = TenantIntegration
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Integration {n}")
    integration_type = "webhook"
    event_types = factory.LazyFunction(lambda: [event.value for event in SUBSCRIBABLE_EVENTS])
    config = factory.LazyFunction(lambda: {"url": "https://receiver.example.com/hook", "sign": False})

    @factory.post_generation
    def secrets(integration, create, extracted, **kwargs):
        if extracted:
            integration.secrets = extracted
            if create:
                integration.save(update_fields=["secrets_encrypted"])


class PackageTemplateFactory(factory.django.DjangoModelFactory):
    """A template with three children (pass `elements=0` for none, or another count)."""

    class Meta:
        model = PackageTemplate
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Package {n}")
    parent_description = "Repair for {customer}."

    @factory.post_generation
    def elements(template, create, extracted, **kwargs):
        count = 3 if extracted is None else extracted
        for position in range(1, count + 1):
            PackageTemplateElement.objects.create(
                template=template, position=position, summary=f"Step {position} of {{reference_id}}"
            )


def syncs_made(
    integration: TenantIntegration,
    *,
    count: int = 1,
    subject=None,
    event_type: str = EventType.WORKITEM_CREATED,
    **fields,
) -> list[IntegrationSync]:
    """`count` events, each with a sync to `integration` holding `fields` (status,
    next_attempt_at…): two bulk inserts, however many. The events are about `subject`, or by
    default each about a work item of its own (ids only: no rows), so none waits for another."""
    content_type = ContentType.objects.get_for_model(subject or WorkItem)
    object_ids = (
        [subject.pk] * count
        if subject
        else range(10**9 + integration.pk * 10**6, 10**9 + integration.pk * 10**6 + count)
    )
    events = IntegrationEvent.objects.bulk_create(
        IntegrationEvent(
            tenant_id=integration.tenant_id,
            event_type=event_type,
            content_type=content_type,
            object_id=object_id,
            payload={},
        )
        for object_id in object_ids
    )
    fields.setdefault("next_attempt_at", timezone.now())
    return IntegrationSync.objects.bulk_create(
        IntegrationSync(
            event=event, integration=integration, content_type=content_type, object_id=event.object_id, **fields
        )
        for event in events
    )
