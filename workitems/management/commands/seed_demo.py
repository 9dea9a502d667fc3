"""Creates the demo superuser, tenant and work items used by `make run`. Safe to run again."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tenants.models import Membership, Tenant
from workitems import services
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create a superuser, a demo tenant and a few work items (skips what already exists)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        admin = self.ensure_superuser()
        tenant, _ = Tenant.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Repairs"})
        Membership.objects.get_or_create(user=admin, tenant=tenant, defaults={"role": Membership.Role.ADMIN})
        if WorkItem.objects.filter(tenant=tenant).exists():
            self.stdout.write(f"Demo tenant '{DEMO_SLUG}' already has work items; nothing added.")
            return
        self.create_work_items(tenant, admin)
        self.stdout.write(self.style.SUCCESS(f"Demo tenant '{DEMO_SLUG}' created with 3 work items."))

    def ensure_superuser(self):
        User = get_user_model()
        username = settings.FIELDHOOK_ADMIN_USERNAME
        user = User.objects.filter(username=username).first()
        if user is not None:
            self.stdout.write(f"Superuser '{username}' exists; password unchanged.")
            return user
        password = settings.FIELDHOOK_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email=f"{username}@example.com", password=password)
        shown = "from FIELDHOOK_ADMIN_PASSWORD" if settings.FIELDHOOK_ADMIN_PASSWORD else password
        self.stdout.write(self.style.WARNING(f"Superuser '{username}' created, password: {shown} (shown once)."))
        return user

    def create_work_items(self, tenant: Tenant, admin) -> None:
        now = timezone.now()
        jane = Customer.objects.create(tenant=tenant, name="Jane Doe", email="jane@example.com", phone="+1 555 0100")
        bob = Customer.objects.create(tenant=tenant, name="Bob Smith", email="bob@example.com")
        phone = CustomerAsset.objects.create(tenant=tenant, customer=jane, name="iPhone 13 Pro", serial_number="F2LX")
        store = DropoffPoint.objects.create(tenant=tenant, name="Main Store", address="1 High Street")
        services.workitem_create(
            tenant=tenant,
            description="Cracked screen",
            customer=jane,
            customer_asset=phone,
            dropoff_point=store,
            owner=admin,
            estimated_price=Decimal("150.00"),
            due_date=now + timedelta(days=3),
            comments="Customer dropped the phone.",
        )
        services.workitem_create(
            tenant=tenant,
            description="Battery drains overnight",
            customer=bob,
            type=WorkItem.Type.WARRANTY_REPAIR,
            priority=WorkItem.Priority.HIGH,
            status=WorkItem.Status.IN_PROGRESS,
            technician=admin,
            intake_method=WorkItem.IntakeMethod.MAIL_IN,
        )
        services.workitem_create(
            tenant=tenant,
            description="Quote for water damage",
            customer=jane,
            type=WorkItem.Type.QUOTE,
            priority=WorkItem.Priority.LOW,
        )
