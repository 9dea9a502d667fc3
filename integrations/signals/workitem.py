"""WorkItem signals: remember old values before a save, emit events after it.

Thin on purpose: the event logic lives in `integrations.events`.
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from integrations import events
from workitems.models import WorkItem


@receiver(pre_save, sender=WorkItem, dispatch_uid="integrations.workitem.pre_save")
def remember_old_values(sender, instance: WorkItem, raw: bool = False, **kwargs) -> None:
    if not raw:
        instance._integration_old_values = events.workitem_stored_values(workitem=instance)


@receiver(post_save, sender=WorkItem, dispatch_uid="integrations.workitem.post_save")
def emit_events(sender, instance: WorkItem, created: bool, raw: bool = False, **kwargs) -> None:
    if not raw:
        events.workitem_events_emit(
            workitem=instance, created=created, old_values=getattr(instance, "_integration_old_values", None)
        )
