"""Routes under /webhooks/: one signed endpoint for every inbound kind, keyed by the integration's public uuid."""

from django.urls import path

from integrations.inbound import views

app_name = "inbound"

urlpatterns = [
    path("<slug:kind>/<uuid:integration_uuid>/", views.integration_webhook, name="webhook"),
]
