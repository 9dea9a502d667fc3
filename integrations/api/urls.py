from django.urls import path
from rest_framework.routers import DefaultRouter

from integrations.api.package_views import PackageRunViewSet, PackageTemplateViewSet, WorkItemPackageView
from integrations.api.views import (
    EventTypeListView,
    IntegrationKindListView,
    IntegrationViewSet,
    SyncViewSet,
    WorkItemSyncListView,
    WorkItemSyncNowView,
)

router = DefaultRouter()
router.include_root_view = False
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("syncs", SyncViewSet, basename="sync")
router.register("package-templates", PackageTemplateViewSet, basename="package-template")
router.register("package-runs", PackageRunViewSet, basename="package-run")

urlpatterns = [
    path("workitems/<int:pk>/syncs/", WorkItemSyncListView.as_view(), name="workitem-syncs"),
    path("workitems/<int:pk>/sync/", WorkItemSyncNowView.as_view(), name="workitem-sync-now"),
    path("workitems/<int:pk>/packages/", WorkItemPackageView.as_view(), name="workitem-packages"),
    path("event-types/", EventTypeListView.as_view(), name="event-types"),
    path("integration-kinds/", IntegrationKindListView.as_view(), name="integration-kinds"),
    *router.urls,
]
