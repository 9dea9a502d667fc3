"""Work items (repair tickets, RMAs, jobs) and the records they point to.

Every row belongs to one tenant; `clean()` refuses links across tenants so that
admin forms and the API report them as field errors.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from tenants.models import Membership, Tenant


class TenantOwned(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class Customer(TenantOwned):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["tenant", "name"])]

    def __str__(self) -> str:
        return self.name


class CustomerAsset(TenantOwned):
    """A device or product a customer brings in (e.g. 'iPhone 13 Pro')."""

    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="assets")
    name = models.CharField(max_length=200)
    serial_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.customer_id and self.tenant_id and self.customer.tenant_id != self.tenant_id:
            raise ValidationError({"customer": "This customer belongs to another tenant."})


class DropoffPoint(TenantOwned):
    """Where a customer hands in or collects an item (store, locker, partner)."""

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkItemSequence(models.Model):
    """Per-tenant counter behind reference ids; its row lock serialises concurrent creates."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tenant} at {self.last_number}"


class WorkItem(TenantOwned):
    class Status(models.TextChoices):
        NEW = "New"
        IN_PROGRESS = "In Progress"
        AWAITING_PARTS = "Awaiting Parts"
        READY_FOR_PICKUP = "Ready for Pickup"
        CLOSED = "Closed"
        CANCELLED = "Cancelled"

    class Type(models.TextChoices):
        CHARGEABLE_REPAIR = "Chargeable Repair"
        WARRANTY_REPAIR = "Warranty Repair"
        QUOTE = "Quote"
        SERVICE = "Service"

    class Priority(models.TextChoices):
        LOW = "Low"
        STANDARD = "Standard"
        HIGH = "High"
        URGENT = "Urgent"

    class IntakeMethod(models.TextChoices):
        WALK_IN = "walk_in", "Walk-in"
        MAIL_IN = "mail_in", "Mail-in"
        COURIER = "courier", "Courier"
        ONSITE = "onsite", "On-site"

    reference_id = models.CharField(
        max_length=32, editable=False, help_text="Assigned on creation, unique per tenant (RMA-1, RMA-2, ...)."
    )
    description = models.TextField()
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.NEW)
    status_changed_at = models.DateTimeField(
        default=timezone.now,
        editable=False,
        help_text="When the status last changed in Fieldhook (a conflict with a tool can be settled by time).",
    )
    type = models.CharField(max_length=32, choices=Type.choices, default=Type.CHARGEABLE_REPAIR)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.STANDARD)
    created_date = models.DateTimeField(default=timezone.now)
    due_date = models.DateTimeField(null=True, blank=True, help_text="Must not be before the creation date.")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="workitems")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_workitems"
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_workitems"
    )
    customer_asset = models.ForeignKey(
        CustomerAsset, on_delete=models.SET_NULL, null=True, blank=True, related_name="workitems"
    )
    estimated_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    final_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    dropoff_point = models.ForeignKey(
        DropoffPoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="workitems"
    )
    intake_method = models.CharField(max_length=16, choices=IntakeMethod.choices, default=IntakeMethod.WALK_IN)
    comments = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference_id"], name="unique_reference_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(estimated_price__gte=0) | models.Q(estimated_price__isnull=True),
                name="estimated_price_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(final_price__gte=0) | models.Q(final_price__isnull=True),
                name="final_price_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "priority"]),
            models.Index(fields=["tenant", "type"]),
            models.Index(fields=["tenant", "updated_at"]),
            models.Index(fields=["tenant", "-created_date"]),
            models.Index(fields=["tenant", "technician"]),
            models.Index(fields=["tenant", "customer"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference_id}: {self.description[:60]}"

    def clean(self) -> None:
        errors = {}
        for field in ("customer", "customer_asset", "dropoff_point"):
            related = getattr(self, field)
            if related is not None and self.tenant_id and related.tenant_id != self.tenant_id:
                errors[field] = "This belongs to another tenant."
        for field in ("owner", "technician"):
            user_id = getattr(self, f"{field}_id")
            if (
                user_id
                and self.tenant_id
                and not Membership.objects.filter(user_id=user_id, tenant_id=self.tenant_id).exists()
            ):
                errors[field] = "This user is not a member of the tenant."
        if self.due_date and self.created_date and self.due_date < self.created_date:
            errors["due_date"] = "The due date cannot be before the creation date."
        if errors:
            raise ValidationError(errors)


# Statuses of work items still being worked on (what a new integration is offered to receive).
OPEN_STATUSES = [
    status for status in WorkItem.Status if status not in (WorkItem.Status.CLOSED, WorkItem.Status.CANCELLED)
]


class WorkItemNote(models.Model):
    class Kind(models.TextChoices):
        USER = "user", "User"
        SYSTEM = "system", "System"

    workitem = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.USER, help_text="System notes are written by Fieldhook."
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["workitem", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} note on {self.workitem.reference_id}"
