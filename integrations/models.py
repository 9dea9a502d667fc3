"""Tenant integrations and the delivery outbox.

An IntegrationEvent is written once per event, in the transaction that changes a work item,
with a thin IntegrationSync per integration that wants it (the outbox); a sync lives until
its event reached the integration or finally failed. Every try is a SyncAttempt.
ExternalLink remembers what the first delivery created remotely.
"""

import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from integrations.connectors import integration_type_choices
from integrations.crypto import SecretsUnreadable, secrets_decrypt, secrets_encrypt
from integrations.placeholders import placeholders_validator
from tenants.models import Tenant


class EventType(models.TextChoices):
    WORKITEM_CREATED = "workitem_created", "Work item created"
    WORKITEM_STATUS_CHANGED = "workitem_status_changed", "Work item status changed"
    WORKITEM_UPDATED = "workitem_updated", "Work item updated"
    INTEGRATION_TEST = "integration_test", "Test event (admin)"


SUBSCRIBABLE_EVENTS = [EventType.WORKITEM_CREATED, EventType.WORKITEM_STATUS_CHANGED, EventType.WORKITEM_UPDATED]


class StatusConflictPolicy(models.TextChoices):
    """Which status stays when it changed on both sides since they last agreed (inbound/merge.py)."""

    FIELDHOOK_WINS = "fieldhook_wins", "Fieldhook wins"
    TOOL_WINS = "tool_wins", "The tool wins"
    NEWER_WINS = "newer_wins", "The newer change wins"


class TenantIntegration(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=120, help_text="A name you recognise, e.g. 'Production n8n workflow'.")
    integration_type = models.CharField(
        max_length=32, choices=integration_type_choices, help_text="Where events go; decides the settings below."
    )
    event_types = models.JSONField(
        default=list, help_text="Events sent to this integration: created, status changed, updated."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive integrations keep their pending syncs.")
    config = models.JSONField(default=dict, blank=True, help_text="Settings of the integration type (no secrets).")
    secrets_encrypted = models.TextField(blank=True, editable=False)
    uuid = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Public id used in inbound webhook URLs."
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Delivery attempts before a sync is marked failed.",
    )
    retry_backoff_seconds = models.FloatField(
        default=600.0,
        validators=[MinValueValidator(0)],
        help_text="Base of the exponential backoff: retry n waits a random time up to base × 2^(n-1) "
        "(full jitter). With the defaults, 8 attempts span about 10 hours.",
    )
    rate_limit_per_second = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.001)],
        help_text="Most deliveries per second, shared by all workers. Empty: the default of the integration "
        "type (see its documentation; webhooks are unlimited).",
    )
    status_conflict_policy = models.CharField(
        max_length=16,
        choices=StatusConflictPolicy.choices,
        default=StatusConflictPolicy.FIELDHOOK_WINS,
        help_text="When a status was changed both here and in the tool since they last agreed. Fieldhook wins: "
        "ours stays and is sent to the tool. The tool wins: the tool's status is taken. The newer change wins: "
        "the later of the two, by their times (Fieldhook wins when the tool does not say when). Each conflict "
        "is written down as a note on the work item.",
    )
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Every delivery has failed since then."
    )
    paused_reason = models.TextField(blank=True, editable=False, help_text="Why Fieldhook paused it.")
    last_polled_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When Fieldhook last asked the tool for changes."
    )
    last_poll_result = models.TextField(blank=True, editable=False, help_text="What the last poll found.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_integration_name_per_tenant")]
        indexes = [models.Index(fields=["tenant", "is_active"])]
        ordering = ["tenant__name", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secrets(self) -> dict:
        return secrets_decrypt(self.secrets_encrypted)

    def secrets_or_empty(self) -> dict:
        """The secrets, or nothing when no configured key can read them (for scrubbing and checks)."""
        try:
            return self.secrets
        except SecretsUnreadable:
            return {}

    @secrets.setter
    def secrets(self, values: dict) -> None:
        self.secrets_encrypted = secrets_encrypt({k: v for k, v in values.items() if v not in (None, "", {})})


class IntegrationEvent(models.Model):
    """One thing that happened to a subject (a work item), stored once however many
    integrations it goes to. Its payload holds customer data: it is pruned after
    SYNC_RETENTION_DAYS once delivered (see the engine's sweep)."""

    event_id = models.UUIDField(
        default=uuid.uuid4, unique=True, help_text="Stable id of the event; sent as webhook-id."
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, db_index=False)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    payload = models.JSONField(help_text="The event as it was when it happened.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["content_type", "object_id", "-created_at"], name="event_subject_history_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class IntegrationSync(models.Model):
    """One event on its way to one integration: status, attempts, the claim, the result."""

    class Status(models.TextChoices):
        PENDING = "pending", "⚠ Pending"
        SYNCED = "synced", "✓ Synced"
        FAILED = "failed", "✗ Failed"

    # Both served by the unique constraint and the indexes below, so no index of their own:
    # fewer indexes to update per outbox row.
    event = models.ForeignKey(IntegrationEvent, on_delete=models.CASCADE, related_name="syncs", db_index=False)
    integration = models.ForeignKey(TenantIntegration, on_delete=models.CASCADE, related_name="syncs", db_index=False)
    # The event's subject, copied: the per-object order is decided on pending syncs alone, by one index.
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, db_index=False)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts in the current round.")
    next_attempt_at = models.DateTimeField(help_text="When the next attempt is due (pending syncs).")
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is delivering this sync until then."
    )
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    external_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "integration"], name="unique_sync_per_event_and_integration")
        ]
        indexes = [
            # Claims and the sweep: pending syncs per integration by due time (partial, so it stays
            # small whatever the history; the claim is carried so the sweep reads the index only).
            models.Index(
                fields=["integration", "next_attempt_at"],
                name="sync_pending_due_idx",
                condition=models.Q(status="pending"),
                include=["claimed_until"],
            ),
            # Ordering: earlier pending syncs of the same object to the same integration.
            models.Index(
                fields=["integration", "content_type", "object_id", "id"],
                name="sync_object_order_idx",
                condition=models.Q(status="pending"),
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Sync {self.pk} → {self.integration} ({self.status})"


class SyncAttempt(models.Model):
    sync = models.ForeignKey(IntegrationSync, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_class = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["started_at"])]

    def __str__(self) -> str:
        return f"Attempt {self.number} of sync {self.sync_id}"


class ExternalLink(models.Model):
    """The remote object (ticket, issue, message, folder) an integration created for one of ours,
    and for kinds that report statuses back, what the three-way status merge needs."""

    integration = models.ForeignKey(TenantIntegration, on_delete=models.CASCADE, related_name="links")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
    external_id = models.CharField(max_length=255)
    external_url = models.URLField(max_length=2000, blank=True)
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the connector keeps about the remote object besides its id (e.g. a chat "
        "thread's channel, a shared folder's share id).",
    )
    remote_version = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Newest version of the remote object the tool reported (e.g. its lock version); a "
        "replayed older update is ignored.",
    )
    base_status = models.CharField(
        max_length=32,
        blank=True,
        help_text="The Fieldhook status both sides last agreed on; a status that arrives from the tool is "
        "compared with it to tell who changed what. Empty: not known yet.",
    )
    last_remote_status = models.CharField(
        max_length=255, blank=True, help_text="The tool's own status name, as Fieldhook last saw it."
    )
    last_remote_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When that status was set in the tool, by the tool's clock (when Fieldhook first saw it, if "
        "the tool does not say).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "content_type", "object_id"], name="unique_external_link_per_object"
            )
        ]
        indexes = [models.Index(fields=["integration", "external_id"])]

    def __str__(self) -> str:
        return f"{self.integration}: {self.external_id}"


class PackageTemplate(models.Model):
    """A parent issue and its ordered child elements, created together in a tool by a package run."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="package_templates")
    name = models.CharField(max_length=120, help_text="A name you recognise, e.g. 'Laptop repair'.")
    parent_issue_type = models.CharField(
        max_length=60, default="Task", help_text="Issue type of the parent, as the tool names it (e.g. 'Task', 'Epic')."
    )
    parent_summary = models.CharField(
        max_length=255,
        default="{reference_id}: {description}",
        validators=[placeholders_validator],
        help_text="Title of the parent. Placeholders: {reference_id}, {description}, {customer}, {asset}, "
        "{status}, {priority}, {type}, {due_date}, {technician}.",
    )
    parent_description = models.TextField(
        blank=True,
        validators=[placeholders_validator],
        help_text="Text of the parent, with the same placeholders; the work item's facts and a link back "
        "to Fieldhook follow it.",
    )
    child_issue_type = models.CharField(
        max_length=60,
        default="Sub-task",
        help_text="Issue type of the children. A sub-task type makes them sub-tasks of the parent; any "
        "other type is linked to the parent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_package_template_per_tenant")]
        ordering = ["tenant__name", "name"]

    def __str__(self) -> str:
        return self.name


class PackageTemplateElement(models.Model):
    """One child of a package template, in its place in the order."""

    template = models.ForeignKey(PackageTemplate, on_delete=models.CASCADE, related_name="elements")
    position = models.PositiveSmallIntegerField(help_text="Children are created in this order, lowest first.")
    summary = models.CharField(
        max_length=255,
        validators=[placeholders_validator],
        help_text="Title of the child; placeholders as in the parent.",
    )
    description = models.TextField(
        blank=True, validators=[placeholders_validator], help_text="Text of the child; placeholders as in the parent."
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.summary}"


class PackageRun(models.Model):
    """One package created (or being created) from a template for one work item in one integration.
    What it should create is copied in when it starts (`plan`), so a later edit of the template
    never changes a run half-way; what exists remotely is recorded as it is created."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PARTIAL = "partial", "⚠ Partly created"
        FAILED = "failed", "✗ Failed"
        DONE = "done", "✓ Done"

    uuid = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Marks what this run created in the tool."
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workitem = models.ForeignKey("workitems.WorkItem", on_delete=models.CASCADE, related_name="package_runs")
    template = models.ForeignKey(
        PackageTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        help_text="The template it was made from (the run keeps its own copy in `plan`).",
    )
    integration = models.ForeignKey(TenantIntegration, on_delete=models.CASCADE, related_name="package_runs")
    project_key = models.CharField(max_length=64, help_text="Where in the tool the issues are created.")
    elements = models.JSONField(
        default=list, help_text="Ids of the template elements chosen for this run, in their order."
    )
    plan = models.JSONField(
        default=dict, help_text="The parent and children to create, rendered from the template when the run began."
    )
    parent_key = models.CharField(max_length=64, blank=True, help_text="The parent's key in the tool, once created.")
    parent_url = models.URLField(max_length=2000, blank=True)
    child_keys = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per element id, the child created for it: its key, URL and whether it is linked to the parent.",
    )
    element_errors = models.JSONField(
        default=dict, blank=True, help_text="Per element id, why the tool refused to create it on the last try."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True, help_text="Why the last try stopped short.")
    created = models.PositiveIntegerField(default=0, help_text="Issues created so far (parent included).")
    total = models.PositiveIntegerField(default=0, help_text="Issues to create (parent included).")
    tries = models.PositiveSmallIntegerField(default=0, help_text="How often it was started (resumes included).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the last try started.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When the last try ended.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="package_run_tenant_idx"),
            models.Index(fields=["workitem", "-created_at"], name="package_run_workitem_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Package run {self.pk} → {self.integration} ({self.status})"
