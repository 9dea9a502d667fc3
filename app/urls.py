"""Top-level routes: admin, REST API v1, OpenAPI schema and docs, inbound webhooks, health, Prometheus metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from app.health import healthz
from app.throttling import admin_login
from integrations.auth.views import oauth_callback
from integrations.views import metrics_view

admin.site.site_header = "Fieldhook"
admin.site.site_title = "Fieldhook admin"
admin.site.index_title = "Work items and integrations"

urlpatterns = [
    # Before the admin's own login/ route: the same view, throttled per client address.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("app.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("webhooks/", include("integrations.inbound.urls")),
    # The redirect URI registered in each tool's OAuth application (e.g. /integrations/oauth/openproject/callback/).
    path("integrations/oauth/<slug:kind>/callback/", oauth_callback, name="oauth-callback"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
