"""Routes of /api/v1/: token issuing plus each app's router."""

from django.urls import include, path

from app.throttling import ObtainAuthTokenView

urlpatterns = [
    path("auth/token/", ObtainAuthTokenView.as_view(), name="api-token"),
    path("", include("workitems.api.urls")),
    path("", include("integrations.api.urls")),
]
