"""python manage.py backfill <integration> [--since DATE] [--status STATUS]…"""

import uuid

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from integrations import events
from integrations.management.arguments import since_argument
from integrations.models import TenantIntegration
from workitems.models import WorkItem


class Command(BaseCommand):
    help = (
        "Send workitem_created for the tenant's work items an integration has not received (default: the "
        "open ones), through the outbox in batches, with a progress bar. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("integration", help="Id or UUID of the integration.")
        parser.add_argument("--since", help="Only work items created at or after this date (YYYY-MM-DD or ISO 8601).")
        parser.add_argument(
            "--status",
            action="append",
            dest="statuses",
            choices=WorkItem.Status.values,
            help="Only work items in this status; repeat for several (default: every status but Closed and Cancelled).",
        )

    def handle(self, *args, integration: str, since: str | None, statuses: list[str] | None, **options) -> None:
        target = self.integration(integration)
        moment = since_argument(since) if since else None
        total = events.workitems_to_backfill(integration=target, since=moment, statuses=statuses).count()
        if not total:
            self.stdout.write("No matching work items.")
            return
        if not target.is_active:
            self.stdout.write(self.style.WARNING(f"{target} is inactive: its syncs wait until it is resumed."))
        sent, after_id = 0, 0
        with tqdm(total=total, unit="work item", file=self.stderr, disable=None) as progress:
            while after_id is not None:
                batch = events.integration_backfill_batch(
                    integration=target, since=moment, statuses=statuses, after_id=after_id
                )
                sent += batch.sent
                progress.update(batch.scanned)
                after_id = batch.next_after_id
        self.stdout.write(
            self.style.SUCCESS(f"Queued {sent} of {total} work item(s) for {target}; it had the others already.")
        )

    def integration(self, value: str) -> TenantIntegration:
        integrations = TenantIntegration.objects.select_related("tenant")
        try:
            found = integrations.filter(uuid=uuid.UUID(value)).first()
        except ValueError:
            found = integrations.filter(pk=int(value)).first() if value.isdigit() else None
        if found is None:
            raise CommandError(f"No integration with id or UUID '{value}'.")
        return found
