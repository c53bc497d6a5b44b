"""Remove the periodic-task rows of the two sweeps that left this app.

Reminder planning is now ``scheduling.tasks.reminders_plan_task`` (beat entry
"scheduling-reminders-plan") and the due-work sweep ``reports.tasks.due_work_sweep_task``
("reports-due-work-alerts"). Beat's database scheduler creates rows for the entries in
``CELERY_BEAT_SCHEDULE`` but never deletes rows whose entry was renamed, so without this the old
rows would keep publishing the old task names.
"""

from django.db import migrations
from django.utils import timezone

OLD_ENTRIES = ["notifications-reminders-plan", "notifications-staff-alerts"]


def remove_old_entries(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name__in=OLD_ENTRIES).delete()[0]:
        # What the beat package's signals do on a delete: a running beat reloads its schedule.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_outbox_and_message_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(remove_old_entries, migrations.RunPython.noop)]
