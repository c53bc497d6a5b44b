"""The periodic tasks: beat rows left by the sweeps that moved to scheduling and reports are
removed, and ``outbox_run`` (the embedded default's stand-in for beat) runs every entry."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command

from notifications import outbox

pytestmark = pytest.mark.django_db


def test_the_old_beat_rows_of_the_moved_sweeps_are_removed_and_beat_is_told():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    every = IntervalSchedule.objects.create(every=900, period=IntervalSchedule.SECONDS)
    for name, task in [
        ("notifications-reminders-plan", "notifications.tasks.reminders_plan_task"),
        ("notifications-staff-alerts", "notifications.tasks.staff_alerts_sweep_task"),
        ("notifications-outbox-dispatch", "notifications.tasks.outbox_dispatch_due_task"),
    ]:
        PeriodicTask.objects.create(name=name, task=task, interval=every)
    PeriodicTasks.objects.all().delete()

    migration = importlib.import_module("notifications.migrations.0003_remove_moved_beat_entries")
    migration.remove_old_entries(apps, None)

    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["notifications-outbox-dispatch"]
    assert PeriodicTasks.objects.filter(ident=1).exists()  # a running beat reloads its schedule


def test_outbox_run_runs_every_periodic_task_once_and_sends_what_is_due(settings, counselor):
    message, _ = outbox.enqueue(
        site=counselor.memberships.get().site,
        channel="email",
        template_key="staff_urgent_alert",
        cause="alert:test",
        kind="urgent",
        staff=counselor,
    )
    out = StringIO()
    call_command("outbox_run", stdout=out)
    ran = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert ran == list(settings.CELERY_BEAT_SCHEDULE)
    message.refresh_from_db()
    assert message.status == "sent"
    assert [m.to for m in mail.outbox] == [[counselor.email]]
