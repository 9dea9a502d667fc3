from django.urls import path

from integrations.api.views import WorkItemSyncListView

urlpatterns = [
    path("workitems/<int:pk>/syncs/", WorkItemSyncListView.as_view(), name="workitem-syncs"),
]
