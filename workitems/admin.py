"""Admin for work items and their related records, scoped to the user's tenants."""

from django.contrib import admin
from django.http import HttpRequest

from tenants.admin import TenantScopedAdminMixin
from workitems import services
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem, WorkItemNote

TENANT_FILTER = ("tenant", admin.RelatedOnlyFieldListFilter)


class WorkItemNoteInline(TenantScopedAdminMixin, admin.TabularInline):
    model = WorkItemNote
    tenant_path = "workitem__tenant"
    extra = 0
    fields = ["created_at", "kind", "author", "body"]
    readonly_fields = ["created_at", "kind", "author"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WorkItem)
class WorkItemAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "reference_id",
        "short_description",
        "status",
        "priority",
        "type",
        "customer",
        "technician",
        "due_date",
        "updated_at",
    ]
    list_display_links = ["reference_id", "short_description"]
    list_filter = ["status", "priority", "type", "intake_method", TENANT_FILTER]
    list_select_related = ["customer", "technician", "tenant"]
    search_fields = ["reference_id", "description", "customer__name"]
    date_hierarchy = "created_date"
    readonly_fields = ["reference_id", "status_changed_at", "updated_at"]
    inlines = [WorkItemNoteInline]
    fieldsets = [
        (None, {"fields": ["tenant", "reference_id", "description", "status", "type", "priority"]}),
        (
            "People and things",
            {"fields": ["customer", "customer_asset", "owner", "technician", "dropoff_point", "intake_method"]},
        ),
        (
            "Dates and money",
            {
                "fields": [
                    "created_date",
                    "due_date",
                    "estimated_price",
                    "final_price",
                    "status_changed_at",
                    "updated_at",
                ]
            },
        ),
        ("Comments", {"fields": ["comments"]}),
    ]

    @admin.display(description="Description")
    def short_description(self, obj: WorkItem) -> str:
        return obj.description[:80]

    def save_model(self, request: HttpRequest, obj: WorkItem, form, change: bool) -> None:
        if not change:
            obj.reference_id = services.reference_id_allocate(tenant=obj.tenant)
        elif "status" in form.changed_data:
            services.workitem_status_stamp(workitem=obj, previous_status=form.initial["status"])
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for note in formset.save(commit=False):
            note.author = note.author or request.user
            note.save()
        for note in formset.deleted_objects:
            note.delete()


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "email", "phone", "tenant"]
    list_filter = [TENANT_FILTER]
    search_fields = ["name", "email", "phone"]


@admin.register(CustomerAsset)
class CustomerAssetAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "serial_number", "customer", "tenant"]
    list_filter = [TENANT_FILTER]
    search_fields = ["name", "serial_number", "customer__name"]
    list_select_related = ["customer", "tenant"]


@admin.register(DropoffPoint)
class DropoffPointAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "address", "tenant"]
    list_filter = [TENANT_FILTER]
    search_fields = ["name", "address"]
