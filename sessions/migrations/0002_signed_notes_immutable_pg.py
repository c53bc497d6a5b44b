"""PostgreSQL only: a signed note never changes, whoever connects to the database.

A note row (progress or group) may change while it is a draft, including the one UPDATE that
signs it (draft → signed). Once signed it refuses every UPDATE and DELETE: a co-signature is a
row of its own (``NoteCosignature``), and corrections are addenda. A group note's parts
(entries) and its facilitator links may be inserted, changed or removed only while the note is
a draft. Addenda and co-signatures refuse every UPDATE and DELETE.

SQLite has no such triggers; the services and the models' ``save()`` refuse the same changes.
"""

from django.db import migrations

NOTE_FUNCTION = """
CREATE OR REPLACE FUNCTION clinical_sessions_refuse_signed_note_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'note % (%) is signed: it cannot be changed or deleted; add an addendum', OLD.id, TG_TABLE_NAME;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# TG_ARGV[0]: the column holding the group note's id.
PART_FUNCTION = """
CREATE OR REPLACE FUNCTION clinical_sessions_refuse_signed_part_change() RETURNS trigger AS $$
DECLARE
    note_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT status FROM clinical_sessions_groupnote WHERE id = ($1).%I', TG_ARGV[0])
            INTO note_status USING OLD;
        IF note_status = 'signed' THEN
            RAISE EXCEPTION '% row % belongs to a signed group note: it cannot be changed', TG_TABLE_NAME, OLD.id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('SELECT status FROM clinical_sessions_groupnote WHERE id = ($1).%I', TG_ARGV[0])
            INTO note_status USING NEW;
        IF note_status = 'signed' THEN
            RAISE EXCEPTION 'a signed group note cannot get new parts (%)', TG_TABLE_NAME;
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
"""

RECORD_FUNCTION = """
CREATE OR REPLACE FUNCTION clinical_sessions_refuse_record_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are signed records: they cannot be changed or deleted', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""

NOTES = ["clinical_sessions_progressnote", "clinical_sessions_groupnote"]
PARTS = [
    ("clinical_sessions_groupnoteentry", "group_note_id"),
    ("clinical_sessions_groupnote_facilitators", "groupnote_id"),
]
RECORDS = ["clinical_sessions_noteaddendum", "clinical_sessions_notecosignature"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    def run(sql):
        # params=None: the SQL holds literal % signs (RAISE formats), not placeholders.
        schema_editor.execute(sql, params=None)

    run(NOTE_FUNCTION)
    run(PART_FUNCTION)
    run(RECORD_FUNCTION)
    for table in NOTES:
        run(
            f"CREATE TRIGGER {table}_signed_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION clinical_sessions_refuse_signed_note_change()"
        )
    for table, column in PARTS:
        run(
            f"CREATE TRIGGER {table}_signed_immutable BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION clinical_sessions_refuse_signed_part_change('{column}')"
        )
    for table in RECORDS:
        run(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION clinical_sessions_refuse_record_change()"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in NOTES + [t for t, _ in PARTS]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_signed_immutable ON {table}")
    for table in RECORDS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS clinical_sessions_refuse_signed_note_change()")
    schema_editor.execute("DROP FUNCTION IF EXISTS clinical_sessions_refuse_signed_part_change()")
    schema_editor.execute("DROP FUNCTION IF EXISTS clinical_sessions_refuse_record_change()")


class Migration(migrations.Migration):
    dependencies = [("clinical_sessions", "0001_attendance_notes_signatures")]

    operations = [migrations.RunPython(forward, backward)]
