"""API representations of work items and their related records.

Relations are written as `<field>_id` and read back as small nested objects, the
same shape integrations receive. Related ids are looked up in the caller's tenant
only, so another tenant's row is a 400 field error, not a silent link.
"""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workitems import selectors
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem, WorkItemNote

User = get_user_model()


@extend_schema_field(OpenApiTypes.INT)
class TenantRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key resolved within the request's tenant (see `queryset_for_tenant`)."""

    def __init__(self, queryset_for_tenant, **kwargs):
        self.queryset_for_tenant = queryset_for_tenant
        kwargs.setdefault("queryset", None)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("write_only", True)
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        tenant = self.context.get("tenant")
        if tenant is None:
            return self.queryset_for_tenant(None).none()
        return self.queryset_for_tenant(tenant)


def members_of(tenant) -> QuerySet:
    return User.objects.filter(memberships__tenant=tenant) if tenant else User.objects.none()


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: User) -> str:
        return selectors.user_display_name(user)


class NamedSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerSummarySerializer(NamedSummarySerializer):
    email = serializers.EmailField()


class WorkItemSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(read_only=True, allow_null=True)
    owner = UserSummarySerializer(read_only=True, allow_null=True)
    technician = UserSummarySerializer(read_only=True, allow_null=True)
    customer_asset = NamedSummarySerializer(read_only=True, allow_null=True)
    dropoff_point = NamedSummarySerializer(read_only=True, allow_null=True)

    customer_id = TenantRelatedField(lambda t: selectors.customers_for_tenant(tenant=t), source="customer")
    owner_id = TenantRelatedField(members_of, source="owner")
    technician_id = TenantRelatedField(members_of, source="technician")
    customer_asset_id = TenantRelatedField(lambda t: selectors.assets_for_tenant(tenant=t), source="customer_asset")
    dropoff_point_id = TenantRelatedField(
        lambda t: selectors.dropoff_points_for_tenant(tenant=t), source="dropoff_point"
    )

    class Meta:
        model = WorkItem
        fields = [
            "id",
            "reference_id",
            "description",
            "status",
            "type",
            "priority",
            "created_date",
            "due_date",
            "customer",
            "customer_id",
            "owner",
            "owner_id",
            "technician",
            "technician_id",
            "customer_asset",
            "customer_asset_id",
            "estimated_price",
            "final_price",
            "dropoff_point",
            "dropoff_point_id",
            "intake_method",
            "comments",
            "updated_at",
        ]
        read_only_fields = ["id", "reference_id", "created_date", "updated_at"]


class WorkItemNoteSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = WorkItemNote
        fields = ["id", "kind", "author", "body", "created_at"]
        read_only_fields = ["id", "kind", "author", "created_at"]


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email", "phone", "created_at"]
        read_only_fields = ["id", "created_at"]


class CustomerAssetSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(read_only=True, allow_null=True)
    customer_id = TenantRelatedField(lambda t: selectors.customers_for_tenant(tenant=t), source="customer")

    class Meta:
        model = CustomerAsset
        fields = ["id", "name", "serial_number", "customer", "customer_id", "created_at"]
        read_only_fields = ["id", "created_at"]


class DropoffPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = DropoffPoint
        fields = ["id", "name", "address", "created_at"]
        read_only_fields = ["id", "created_at"]
