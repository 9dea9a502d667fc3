"""Routes under /webhooks/: one signed endpoint per inbound kind, keyed by the integration's public uuid."""

from django.urls import path

from integrations.inbound import views

app_name = "inbound"

urlpatterns = [
    path("openproject/<uuid:integration_uuid>/", views.openproject_webhook, name="openproject"),
]
