"""python manage.py retry_syncs [--status failed] [--integration ID] [--since DATE]"""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from integrations.engine import sweep
from integrations.management.arguments import since_argument
from integrations.models import IntegrationSync

BATCH = 200


class Command(BaseCommand):
    help = "Give failed (or pending) syncs a new round of attempts now, with a progress bar."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--status", choices=["failed", "pending"], default="failed", help="Which syncs (default: failed)."
        )
        parser.add_argument("--integration", type=int, help="Only this integration id.")
        parser.add_argument("--since", help="Only syncs created at or after this date (YYYY-MM-DD or ISO 8601).")

    def handle(self, *args, status: str, integration: int | None, since: str | None, **options) -> None:
        syncs = IntegrationSync.objects.filter(status=status)
        if integration is not None:
            syncs = syncs.filter(integration_id=integration)
        if since:
            syncs = syncs.filter(created_at__gte=since_argument(since))
        ids = list(syncs.order_by("id").values_list("id", flat=True))
        if not ids:
            self.stdout.write("No matching syncs.")
            return
        queued = 0
        with tqdm(total=len(ids), unit="sync", file=self.stderr, disable=None) as progress:
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                queued += sweep.syncs_retry_now(syncs=IntegrationSync.objects.filter(id__in=batch))
                progress.update(len(batch))
        self.stdout.write(self.style.SUCCESS(f"Queued {queued} of {len(ids)} {status} sync(s) for delivery."))
