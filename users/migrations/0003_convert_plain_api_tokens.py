"""Carry the old plain-text API tokens (DRF's ``authtoken_token`` table) over to hashed tokens.

Each key keeps working: its SHA-256 and first 12 characters become an ``ApiToken`` named
"Carried over", expiring 90 days from now, because copies of the plain key may sit in older
database backups; its owner replaces it from the API tokens page before then. The old table,
the last place the keys were stored in plain text, is then dropped, and authtoken's migration
records removed (so an older release would recreate an empty table instead of failing).

Not reversible: the plain keys are gone by design.
"""

import hashlib
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"
CARRY_OVER_DAYS = 90


def convert_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return  # a new installation, or already converted
    ApiToken = apps.get_model("users", "ApiToken")
    expires_at = timezone.now() + timedelta(days=CARRY_OVER_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {OLD_TABLE}")  # noqa: S608 - constant name
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=user_id,
            name="Carried over",
            prefix=key[:12],
            secret_hash=hashlib.sha256(key.encode()).hexdigest(),
            created_at=created,
            expires_at=expires_at,
        )
        for key, user_id, created in rows
    )
    schema_editor.execute(f"DROP TABLE {OLD_TABLE}")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_api_tokens_hashed"),
    ]

    operations = [
        migrations.RunPython(convert_plain_tokens, migrations.RunPython.noop),
    ]
