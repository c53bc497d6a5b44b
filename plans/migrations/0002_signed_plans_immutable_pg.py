"""PostgreSQL only: signed plan versions and their parts cannot be changed by any client.

A plan row may change freely while it is a draft. After that, only two moves are allowed:
awaiting co-signature → signed (adding the supervisor's signature and nothing else), and
signed → superseded (status and superseded time only). Rows are never deleted once locked.
Parts (problems, goals, objectives, interventions; triggers, strategies, listed contacts)
may be inserted, changed or removed only while their plan is a draft.

SQLite has no such triggers; the services refuse the same changes there.
"""

from django.db import migrations

PARENT_FUNCTION = """
CREATE OR REPLACE FUNCTION plans_refuse_signed_plan_change() RETURNS trigger AS $$
DECLARE
    cosign_cols text[] := ARRAY['status', 'supervisor_signed_by_id', 'supervisor_credentials',
                                'supervisor_signed_at', 'signed_at', 'signed_on', 'updated_at'];
    supersede_cols text[] := ARRAY['status', 'superseded_at', 'updated_at'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'plan % (%) is signed: it cannot be deleted', OLD.id, TG_TABLE_NAME;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'awaiting_cosign' AND NEW.status = 'signed'
       AND (to_jsonb(NEW) - cosign_cols) = (to_jsonb(OLD) - cosign_cols) THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'signed' AND NEW.status = 'superseded'
       AND (to_jsonb(NEW) - supersede_cols) = (to_jsonb(OLD) - supersede_cols) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'plan % (%) is signed: it cannot be changed; write a new version', OLD.id, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""

# TG_ARGV[0]: the plan table the part belongs to (through its plan_id column).
CHILD_FUNCTION = """
CREATE OR REPLACE FUNCTION plans_refuse_signed_part_change() RETURNS trigger AS $$
DECLARE
    plan_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT status FROM %I WHERE id = $1', TG_ARGV[0]) INTO plan_status USING OLD.plan_id;
        IF plan_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION '% row % belongs to a signed plan: it cannot be changed', TG_TABLE_NAME, OLD.id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('SELECT status FROM %I WHERE id = $1', TG_ARGV[0]) INTO plan_status USING NEW.plan_id;
        IF plan_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'a signed plan cannot get new parts (%)', TG_TABLE_NAME;
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
"""

PARENTS = ["plans_treatmentplan", "plans_relapsepreventionplan"]
CHILDREN = [
    ("plans_problem", "plans_treatmentplan"),
    ("plans_goal", "plans_treatmentplan"),
    ("plans_objective", "plans_treatmentplan"),
    ("plans_intervention", "plans_treatmentplan"),
    ("plans_rptrigger", "plans_relapsepreventionplan"),
    ("plans_rpcopingstrategy", "plans_relapsepreventionplan"),
    ("plans_rpsupportcontact", "plans_relapsepreventionplan"),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(PARENT_FUNCTION, params=None)
    schema_editor.execute(CHILD_FUNCTION, params=None)
    for table in PARENTS:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION plans_refuse_signed_plan_change()"
        )
    for table, parent in CHILDREN:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION plans_refuse_signed_part_change('{parent}')"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in PARENTS + [t for t, _ in CHILDREN]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS plans_refuse_signed_part_change()")
    schema_editor.execute("DROP FUNCTION IF EXISTS plans_refuse_signed_plan_change()")


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_treatment_and_relapse_prevention_plans")]

    operations = [migrations.RunPython(forward, backward)]
