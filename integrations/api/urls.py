from django.urls import path
from rest_framework.routers import DefaultRouter

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

urlpatterns = [
    path("workitems/<int:pk>/syncs/", WorkItemSyncListView.as_view(), name="workitem-syncs"),
    path("workitems/<int:pk>/sync/", WorkItemSyncNowView.as_view(), name="workitem-sync-now"),
    path("event-types/", EventTypeListView.as_view(), name="event-types"),
    path("integration-kinds/", IntegrationKindListView.as_view(), name="integration-kinds"),
    *router.urls,
]
