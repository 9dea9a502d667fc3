from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from integrations import signals  # noqa: F401  (registers the receivers)
        from integrations.engine.schedules import periodic_tasks_sync_after_migrate

        post_migrate.connect(periodic_tasks_sync_after_migrate, sender=self)
