"""Tenants (companies using Fieldhook), who belongs to them, and the answers kept for API retries."""

from django.conf import settings
from django.db import models


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=64, unique=True, help_text="Short unique name; API clients send it as the X-Tenant header."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive tenants cannot use the API.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        default=Role.MEMBER,
        help_text="Admins manage the tenant's data and integrations in the admin; members use the API.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_membership")]
        ordering = ["tenant__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"


class IdempotencyKey(models.Model):
    """The first answer to an API write sent with an `Idempotency-Key` header, replayed to the
    retries of that write (tenants/idempotency.py; docs/decisions/0011-idempotency-keys.md)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's method, path and body.")
    status_code = models.PositiveSmallIntegerField(
        null=True, help_text="Empty only while the first request runs (inside its own transaction)."
    )
    content_type = models.CharField(max_length=255, blank=True)
    body = models.BinaryField(default=bytes)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="After this the key is forgotten (pruned hourly).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user", "key"], name="unique_idempotency_key")]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.user} in {self.tenant})"
