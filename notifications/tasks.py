"""Celery entry points for the outbox and staff notices.

Thin and safe to run twice: arguments are ids only (never names or text: they sit in Redis and in
worker logs), and each task calls one service. Retries are not Celery's: a failed send moves the
row's ``due_at`` forward and the next sweep picks it up (no long ETAs or countdowns). Reminder
planning is ``scheduling.tasks.reminders_plan_task``; the due-work sweep is
``reports.tasks.due_work_sweep_task``.
"""

from celery import shared_task

from . import outbox, staff


@shared_task(expires=60, ignore_result=True)
def outbox_dispatch_due_task() -> dict[str, int]:
    """Claim due messages (SKIP LOCKED) and publish one send task per message."""
    return outbox.outbox_dispatch_due()


@shared_task(acks_late=True, ignore_result=True)
def outbox_send_task(message_id: int) -> str:
    """Send one claimed message at most once (a redelivered task is a no-op)."""
    return outbox.outbox_send(message_id)


@shared_task(expires=1800, ignore_result=True)
def staff_digest_task() -> int:
    """Hourly: enqueue the daily digest where it is ``STAFF_DIGEST_HOUR`` at the site."""
    return staff.digest_plan()
