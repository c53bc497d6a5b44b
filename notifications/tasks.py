"""Celery entry points for the outbox, reminders and staff notices.

Thin and safe to run twice: arguments are ids only (never names or text: they sit in Redis and in
worker logs), and each task calls one service. Retries are not Celery's: a failed send moves the
row's ``due_at`` forward and the next sweep picks it up (no long ETAs or countdowns).
"""

from celery import shared_task

from . import outbox, reminders, staff


@shared_task(expires=60, ignore_result=True)
def outbox_dispatch_due_task() -> dict[str, int]:
    """Claim due messages (SKIP LOCKED) and publish one send task per message."""
    return outbox.outbox_dispatch_due()


@shared_task(acks_late=True, ignore_result=True)
def outbox_send_task(message_id: int) -> str:
    """Send one claimed message at most once (a redelivered task is a no-op)."""
    return outbox.outbox_send(message_id)


@shared_task(expires=600, ignore_result=True)
def reminders_plan_task() -> dict[str, int]:
    """Plan reminders for sessions in the horizon; cancel those of cancelled or moved sessions."""
    return reminders.reminders_plan()


@shared_task(expires=1800, ignore_result=True)
def staff_alerts_sweep_task() -> dict[str, int]:
    """In-app tasks for unsigned notes and overdue plans and re-assessments."""
    return staff.staff_alerts_sweep()


@shared_task(expires=1800, ignore_result=True)
def staff_digest_task() -> int:
    """Hourly: enqueue the daily digest where it is ``STAFF_DIGEST_HOUR`` at the site."""
    return staff.digest_plan()
