"""python manage.py rotate_secrets — re-encrypt every stored secret with the newest key."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from integrations.crypto import SecretsUnreadable, secrets_reencrypt
from integrations.models import TenantIntegration


class Command(BaseCommand):
    help = (
        "Re-encrypt integration secrets with the first key of FIELD_ENCRYPTION_KEYS. Run it after "
        "putting a new key first; remove the old key only afterwards."
    )

    def handle(self, *args, **options) -> None:
        integrations = TenantIntegration.objects.exclude(secrets_encrypted="").only("pk", "secrets_encrypted")
        unreadable = []
        rotated = 0
        with tqdm(total=integrations.count(), unit="integration", file=self.stderr, disable=None) as progress:
            for integration in integrations.iterator():
                try:
                    token = secrets_reencrypt(integration.secrets_encrypted)
                except SecretsUnreadable:
                    unreadable.append(integration.pk)
                else:
                    with transaction.atomic():
                        TenantIntegration.objects.filter(pk=integration.pk).update(secrets_encrypted=token)
                    rotated += 1
                progress.update(1)
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted the secrets of {rotated} integration(s) with the newest key.")
        )
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} integration(s) could not be decrypted with any configured key: ids "
                f"{', '.join(map(str, unreadable))}. Put their old key back into FIELD_ENCRYPTION_KEYS."
            )
