from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from tenants.schedules import periodic_tasks_sync_after_migrate

        post_migrate.connect(periodic_tasks_sync_after_migrate, sender=self)
