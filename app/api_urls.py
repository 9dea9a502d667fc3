"""Routes of /api/v1/: token issuing plus each app's router."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include("workitems.api.urls")),
    path("", include("integrations.api.urls")),
]
