"""PostgreSQL only: no two rates of one payer for one code, and no two authorizations of one
payer for one episode, cover the same day (exclusion constraints over inclusive date ranges;
an open-ended rate runs to infinity).

btree_gist lets the GiST index compare the ids with "=" next to the range "&&". SQLite has
neither; there ``PayerRate.clean`` and ``billing.services`` check for overlaps inside their
serialised transaction instead (on PostgreSQL they give the message, these the guarantee).
"""

from django.db import migrations

CONSTRAINTS = [
    (
        "billing_payerrate",
        "billing_payerrate_no_overlap",
        "(payer_id WITH =, service_code_id WITH =, "
        "daterange(effective_from, COALESCE(effective_to, 'infinity'::date), '[]') WITH &&)",
    ),
    (
        "billing_authorization",
        "billing_authorization_no_overlap",
        "(episode_id WITH =, payer_id WITH =, daterange(start_date, end_date, '[]') WITH &&)",
    ),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for table, name, spec in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} EXCLUDE USING gist {spec}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _ in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_payers_catalogue_rates_authorizations")]

    operations = [migrations.RunPython(create, drop)]
