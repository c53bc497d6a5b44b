"""Drop the TRUNCATE guard: wiping a whole table is a database-owner operation (test resets,
restores into a fresh database), not something the application can do. Row UPDATE and DELETE
stay refused by the trigger from 0002."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
