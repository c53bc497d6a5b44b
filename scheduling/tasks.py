"""Celery entry points for scheduling: thin wrappers over services, safe to run twice.

Arguments are ids or numbers only (they sit in Redis and in worker logs).
"""

from celery import shared_task

from . import reminders, services


@shared_task(expires=3600)
def tracks_keep_ahead_task(weeks: int | None = None) -> dict[str, int]:
    """Keep every active track's sessions generated ``weeks`` ahead (default: the horizon)."""
    return services.tracks_keep_ahead(weeks=weeks)


@shared_task(expires=600, ignore_result=True)
def reminders_plan_task() -> dict[str, int]:
    """Plan reminders for sessions in the horizon; cancel those of cancelled or moved sessions."""
    return reminders.reminders_plan()


# The name this task had while reminder planning lived in notifications: a sweep published
# under it before an upgrade (still queued in Redis) runs instead of being discarded as an
# unregistered task. Remove in the next release.
@shared_task(name="notifications.tasks.reminders_plan_task", expires=600, ignore_result=True)
def reminders_plan_task_old_name() -> dict[str, int]:
    return reminders.reminders_plan()
