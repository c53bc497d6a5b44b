"""pg_trgm for duplicate detection on PostgreSQL. SQLite has no extensions: the duplicate
check there falls back to difflib (patients.services.patient_find_duplicates)."""

from django.db import migrations


def create_extension(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_patient_intake_episode_consent")]

    # Reversing leaves the extension in place: other apps may use it.
    operations = [migrations.RunPython(create_extension, migrations.RunPython.noop, elidable=False)]
