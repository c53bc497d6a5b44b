"""Celery entry points for reports: thin wrappers over services, safe to run twice.

Arguments are ids or numbers only (they sit in Redis and in worker logs).
"""

from celery import shared_task

from . import due_work


@shared_task(expires=1800, ignore_result=True)
def due_work_sweep_task() -> dict[str, int]:
    """In-app tasks for unsigned notes and overdue plans and re-assessments."""
    return due_work.due_work_sweep()


# The name this task had while the sweep lived in notifications: a sweep published under it
# before an upgrade (still queued in Redis) runs instead of being discarded as an unregistered
# task. Remove in the next release.
@shared_task(name="notifications.tasks.staff_alerts_sweep_task", expires=1800, ignore_result=True)
def due_work_sweep_task_old_name() -> dict[str, int]:
    return due_work.due_work_sweep()
