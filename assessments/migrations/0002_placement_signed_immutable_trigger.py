"""On PostgreSQL, refuse changes to signed placements at the database itself.

The model and the services already refuse; this trigger also stops raw SQL, a shell or another
client. A placement awaiting co-sign may only change its co-sign columns (status to 'signed',
cosigned_by, cosigned_at, updated_at); a signed one cannot change at all, and neither can be
deleted. SQLite has no such trigger: the model-level guard covers it (ARCHITECTURE.md §4).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION assessments_placement_refuse_signed_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'signed placement % cannot be deleted', OLD.public_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'signed placement % cannot be changed', OLD.public_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status = 'awaiting_cosign' THEN
        IF NEW.status NOT IN ('awaiting_cosign', 'signed')
           OR (to_jsonb(NEW) - ARRAY['status', 'cosigned_by_id', 'cosigned_at', 'updated_at'])
              IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'cosigned_by_id', 'cosigned_at', 'updated_at']) THEN
            RAISE EXCEPTION 'placement % awaiting co-sign can only be co-signed', OLD.public_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS assessments_placement_signed_immutable ON assessments_placement;
CREATE TRIGGER assessments_placement_signed_immutable
    BEFORE UPDATE OR DELETE ON assessments_placement
    FOR EACH ROW EXECUTE FUNCTION assessments_placement_refuse_signed_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS assessments_placement_signed_immutable ON assessments_placement;
DROP FUNCTION IF EXISTS assessments_placement_refuse_signed_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_responses_placements_toxicology_medications")]

    operations = [migrations.RunPython(forward, backward)]
