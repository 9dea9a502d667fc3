"""Tenant resolution for API views: every API query is scoped to one tenant, and every write
may carry an Idempotency-Key."""

from django.core.validators import slug_re
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tenants import idempotency
from tenants.models import IdempotencyKey, Membership, Tenant
from tenants.selectors import membership_role, tenants_for_user

TENANT_HEADER = "X-Tenant"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def tenant_for_request(*, request: Request) -> Tenant:
    """The tenant an authenticated request acts for.

    `X-Tenant: <slug>` picks one of the caller's tenants; with a single membership
    it is implied. Not a member → 403; several memberships and no header, or a
    header that cannot be a slug, → 400.
    """
    tenants = tenants_for_user(user=request.user)
    slug = request.headers.get(TENANT_HEADER, "").strip()
    if slug:
        if not slug_re.match(slug):
            raise ValidationError({TENANT_HEADER: ["Not a valid tenant slug."]})
        tenant = tenants.filter(slug=slug).first()
        if tenant is None:
            raise PermissionDenied(f"You are not a member of tenant '{slug}'.")
        return tenant
    candidates = list(tenants.order_by("slug")[:21])
    if not candidates:
        raise PermissionDenied("You are not a member of any active tenant.")
    if len(candidates) > 1:
        slugs = ", ".join(t.slug for t in candidates[:20])
        raise ValidationError(
            {TENANT_HEADER: [f"You belong to several tenants; send this header with one of: {slugs}."]}
        )
    return candidates[0]


class IdempotencyKeyReusedError(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        f"This {IDEMPOTENCY_HEADER} was first used with another request (method, path or body); "
        "send a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class IdempotencyKeyBusyError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = f"The first request with this {IDEMPOTENCY_HEADER} is still running; retry later."
    default_code = "idempotency_key_busy"


class _Replay(Exception):
    """Raised from initial() to answer a retry with the stored response."""

    def __init__(self, stored: IdempotencyKey) -> None:
        super().__init__()
        self.stored = stored

    def response(self) -> HttpResponse:
        response = HttpResponse(bytes(self.stored.body), status=self.stored.status_code)
        if self.stored.content_type:
            response["Content-Type"] = self.stored.content_type
        response[REPLAYED_HEADER] = "true"
        return response


class TenantScopedViewMixin:
    """Resolves `self.tenant` after authentication, so anonymous calls still get 401; makes
    every write sent with an `Idempotency-Key` header safe to retry (tenants/idempotency.py)."""

    tenant: Tenant
    _idempotency_fingerprint: str | None = None
    _idempotency_record: IdempotencyKey | None = None

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        """A keyed write runs in one transaction with its key's row and its stored answer."""
        if request.method not in WRITE_METHODS or IDEMPOTENCY_HEADER not in request.headers:
            return super().dispatch(request, *args, **kwargs)
        # Read before anything parses the body (afterwards the raw bytes are gone).
        self._idempotency_fingerprint = idempotency.request_fingerprint(
            method=request.method, path=request.get_full_path(), body=request.body
        )
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if self._idempotency_record is not None:
                if hasattr(response, "render"):
                    response.render()
                idempotency.idempotency_key_complete(
                    record=self._idempotency_record,
                    status_code=response.status_code,
                    content_type=response.get("Content-Type", ""),
                    body=response.content,
                )
        return response

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        self.resolve_tenant()
        if self._idempotency_fingerprint is not None:
            self._idempotency_claim(request)

    def resolve_tenant(self) -> Tenant:
        """The tenant acted for, looked up once (a permission may need it before initial() ends)."""
        if getattr(self, "tenant", None) is None:
            self.tenant = tenant_for_request(request=self.request)
        return self.tenant

    def _idempotency_claim(self, request: Request) -> None:
        key = request.headers[IDEMPOTENCY_HEADER]
        if not idempotency.KEY_PATTERN.match(key):
            raise ValidationError({IDEMPOTENCY_HEADER: ["Send 1 to 255 visible ASCII characters, e.g. a UUID."]})
        try:
            record, first = idempotency.idempotency_key_claim(
                tenant=self.tenant, user=request.user, key=key, fingerprint=self._idempotency_fingerprint
            )
        except idempotency.IdempotencyKeyReused:
            raise IdempotencyKeyReusedError from None
        except idempotency.IdempotencyKeyBusy:
            raise IdempotencyKeyBusyError from None
        if not first:
            raise _Replay(record)
        self._idempotency_record = record

    def handle_exception(self, exc: Exception):
        if isinstance(exc, _Replay):
            return exc.response()
        return super().handle_exception(exc)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["tenant"] = getattr(self, "tenant", None)
        return context

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Query-string filters narrow a list; a route to one object finds it by id alone
        (`GET /workitems/1/?customer=5` is work item 1, not a 404)."""
        if getattr(self, "detail", False):
            return queryset
        return super().filter_queryset(queryset)

    @property
    def is_schema_generation(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


def is_tenant_admin(*, request: Request, view: TenantScopedViewMixin) -> bool:
    return membership_role(user=request.user, tenant=view.resolve_tenant()) == Membership.Role.ADMIN


class DeleteNeedsTenantAdmin(BasePermission):
    """Members read, create and update; deleting needs the admin role in the tenant acted for.

    Checked on the object, after the tenant-scoped look-up: another tenant's object stays a 404."""

    message = "Deleting needs the admin role in this tenant."

    def has_object_permission(self, request: Request, view, obj) -> bool:
        if request.method != "DELETE":
            return True
        return is_tenant_admin(request=request, view=view)


class WritesNeedTenantAdmin(BasePermission):
    """Members read; every write (actions included) needs the admin role in the tenant acted for."""

    message = "This needs the admin role in this tenant; members may only read."

    def has_permission(self, request: Request, view) -> bool:
        return request.method in SAFE_METHODS or is_tenant_admin(request=request, view=view)


class TenantAwareAutoSchema(AutoSchema):
    """Documents the X-Tenant header on every tenant-scoped endpoint, and Idempotency-Key on its writes."""

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if isinstance(self.view, TenantScopedViewMixin):
            parameters.append(
                OpenApiParameter(
                    TENANT_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    description="Slug of the tenant to act for; required only when you belong to several.",
                )
            )
            if self.method in WRITE_METHODS:
                parameters.append(
                    OpenApiParameter(
                        IDEMPOTENCY_HEADER,
                        str,
                        OpenApiParameter.HEADER,
                        description=(
                            "Makes the request safe to retry: the first answer is kept for 24 hours per "
                            "(tenant, user, key) and replayed with `Idempotent-Replayed: true`. The same "
                            "key with another method, path or body answers 422; while the first request "
                            "runs, a retry waits for it (409 if it takes too long)."
                        ),
                        pattern=idempotency.KEY_PATTERN.pattern,
                    )
                )
        return parameters
