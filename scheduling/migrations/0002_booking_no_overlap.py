"""No room or facilitator is double-booked: a PostgreSQL exclusion constraint over time ranges.

btree_gist lets the GiST index compare ``resource_key`` with "=" next to the range "&&".
SQLite has neither, so there this migration does nothing and ``scheduling.services`` checks
for overlaps inside its serialised (IMMEDIATE) transaction instead.
"""

from django.db import migrations

CONSTRAINT = "booking_no_overlap"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE scheduling_booking ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(resource_key WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (is_active)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE scheduling_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_rooms_tracks_sessions")]

    operations = [migrations.RunPython(create, drop)]
