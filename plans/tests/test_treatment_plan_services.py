"""Treatment plans: versions, signatures, completeness, immutability (service and database)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from audit.models import Action, AuditEvent
from patients.models import site_today
from plans import services
from plans.models import (
    Goal,
    Intervention,
    Objective,
    ObjectiveStatus,
    PlanStatus,
    Problem,
    TreatmentPlan,
    VersionReason,
)
from users.models import Role

from .helpers import fill_plan_text, fill_treatment_plan, postgres_only, signed_treatment_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(make_staff):
    return make_staff(Role.SUPERVISOR, full_name="Sam Supervisor", credentials="LCSW")


def test_the_first_version_is_the_initial_plan(episode, counselor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    assert (plan.version, plan.reason, plan.status) == (1, VersionReason.INITIAL, PlanStatus.DRAFT)
    assert plan.plan_date == site_today(episode.site)
    assert AuditEvent.objects.filter(action=Action.CREATE, object_id=str(plan.public_id)).exists()


def test_only_one_unsigned_version_at_a_time(episode, counselor):
    services.treatment_plan_start(episode=episode, by=counselor)
    with pytest.raises(ValidationError, match="still draft"):
        services.treatment_plan_start(episode=episode, by=counselor)
    assert TreatmentPlan.objects.count() == 1


def test_a_clinician_signature_waits_for_the_supervisor(episode, counselor, supervisor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    plan = services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="  Testperson   Example ")
    assert plan.status == PlanStatus.AWAITING_COSIGN
    assert plan.patient_signed_name == "Testperson Example" and plan.patient_signed_at is not None
    assert plan.clinician_signed_by == counselor and plan.clinician_credentials == "LADC"
    # Locked while waiting: no edits.
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.treatment_plan_update(plan=plan, by=counselor, strengths="Changed")
    with pytest.raises(ValidationError):
        services.treatment_plan_cosign(plan=plan, by=counselor)
    plan = services.treatment_plan_cosign(plan=plan, by=supervisor)
    assert plan.status == PlanStatus.SIGNED and plan.signed_on == site_today(episode.site)
    assert plan.supervisor_signed_by == supervisor and plan.supervisor_credentials == "LCSW"
    assert AuditEvent.objects.filter(action=Action.SIGN, object_id=str(plan.public_id)).count() == 2


def test_without_the_supervisor_setting_the_clinician_signature_takes_effect(episode, counselor, settings):
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    plan = signed_treatment_plan(episode, counselor)
    assert plan.status == PlanStatus.SIGNED and plan.supervisor_signed_by is None


def test_a_supervisor_author_signs_as_both(episode, supervisor):
    plan = signed_treatment_plan(episode, supervisor)
    assert plan.status == PlanStatus.SIGNED and plan.supervisor_signed_by == supervisor


def test_an_incomplete_plan_cannot_be_signed(episode, counselor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    with pytest.raises(ValidationError, match="at least one problem"):
        services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    problem = services.problem_add(plan=plan, by=counselor, statement="Use", dimensions=[5], diagnosis="OUD")
    with pytest.raises(ValidationError, match="Problem 1 has no goal"):
        services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    services.goal_add(problem=problem, by=counselor, statement="Stay clean")
    with pytest.raises(ValidationError, match="has no objective"):
        services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT and plan.clinician_signed_at is None


def test_the_patient_signs_or_the_reason_they_declined_is_recorded(episode, counselor, supervisor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    with pytest.raises(ValidationError) as exc:
        services.treatment_plan_sign(plan=plan, by=counselor)
    assert "patient_signed_name" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="A B", patient_declined_reason="x")
    assert "patient_declined_reason" in exc.value.message_dict
    plan = services.treatment_plan_sign(
        plan=plan, by=counselor, patient_declined_reason="Wants to read it at home first"
    )
    assert plan.patient_declined and plan.patient_signed_at is None


def test_objective_rules(episode, counselor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    problem = services.problem_add(plan=plan, by=counselor, statement="Use", dimensions=[5], diagnosis="OUD")
    goal = services.goal_add(problem=problem, by=counselor, statement="Stay clean")
    with pytest.raises(ValidationError) as exc:
        services.objective_add(goal=goal, by=counselor, statement="Attend", target_date=None)
    assert "target_date" in exc.value.message_dict
    with pytest.raises(ValidationError, match="before the plan date"):
        services.objective_add(
            goal=goal, by=counselor, statement="Attend", target_date=plan.plan_date - timedelta(days=1)
        )
    assert not Objective.objects.exists()


def test_problem_rules(episode, counselor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    for dims, field in (([], "dimensions"), ([0, 7], "dimensions"), ([2, 2], "dimensions"), (["1"], "dimensions")):
        with pytest.raises(ValidationError) as exc:
            services.problem_add(plan=plan, by=counselor, statement="Use", dimensions=dims, diagnosis="OUD")
        assert field in exc.value.message_dict, dims
    with pytest.raises(ValidationError) as exc:
        services.problem_add(plan=plan, by=counselor, statement="Use", dimensions=[1], icd10_code="XYZ")
    assert "icd10_code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.problem_add(plan=plan, by=counselor, statement="Use", dimensions=[1])
    assert "diagnosis" in exc.value.message_dict
    problem = services.problem_add(plan=plan, by=counselor, statement="Use", dimensions=[6, 3], icd10_code="f11.20")
    assert problem.dimensions == [3, 6] and problem.icd10_code == "F11.20"


def test_a_review_copies_the_signed_version_and_keeps_it_readable(episode, counselor, supervisor):
    v1 = signed_treatment_plan(episode, counselor, supervisor)
    v2 = services.treatment_plan_start(episode=episode, by=counselor)
    assert (v2.version, v2.status, v2.reason) == (2, PlanStatus.DRAFT, VersionReason.SCHEDULED_REVIEW)
    assert v2.problems.count() == v1.problems.count() == 1
    new_objective = v2.objectives.get()
    old_objective = v1.objectives.get()
    assert new_objective.copied_from == old_objective and new_objective.pk != old_objective.pk
    assert v2.interventions.get().copied_from == v1.interventions.get()
    # Progress is recorded on the draft; the signed version is untouched.
    services.objective_update(objective=new_objective, by=counselor, status=ObjectiveStatus.ACHIEVED)
    old_objective.refresh_from_db()
    assert old_objective.status == ObjectiveStatus.NOT_STARTED
    services.treatment_plan_sign(plan=v2, by=counselor, patient_signed_name="Testperson Example")
    services.treatment_plan_cosign(plan=v2, by=supervisor)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == PlanStatus.SUPERSEDED and v1.superseded_at is not None
    assert v2.status == PlanStatus.SIGNED


def test_the_service_refuses_to_change_a_signed_version(episode, counselor, supervisor):
    plan = signed_treatment_plan(episode, counselor, supervisor)
    problem = plan.problems.get()
    objective = plan.objectives.get()
    for call in (
        lambda: services.treatment_plan_update(plan=plan, by=counselor, needs="x"),
        lambda: services.problem_add(plan=plan, by=counselor, statement="x", dimensions=[1], diagnosis="x"),
        lambda: services.goal_add(problem=problem, by=counselor, statement="x"),
        lambda: services.objective_update(objective=objective, by=counselor, status=ObjectiveStatus.ACHIEVED),
        lambda: services.plan_part_remove(part=problem, by=counselor),
        lambda: services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="x"),
    ):
        with pytest.raises(ValidationError, match="cannot be changed"):
            call()
    objective.refresh_from_db()
    assert objective.status == ObjectiveStatus.NOT_STARTED


def test_removing_a_draft_problem_takes_its_parts(episode, counselor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    problem, _, _ = fill_treatment_plan(plan, counselor)
    services.plan_part_remove(part=problem, by=counselor)
    assert not (
        Problem.objects.exists() or Goal.objects.exists() or Objective.objects.exists() or Intervention.objects.exists()
    )


def test_a_discharged_episode_gets_no_new_version(episode, counselor, supervisor):
    signed_treatment_plan(episode, counselor, supervisor)
    episode.discharge_date = site_today(episode.site)
    episode.discharge_type = "completed"
    episode.save(update_fields=["discharge_date", "discharge_type"])
    with pytest.raises(ValidationError, match="discharged"):
        services.treatment_plan_start(episode=episode, by=counselor)


@postgres_only
@pytest.mark.postgres
def test_the_database_refuses_raw_changes_to_a_signed_plan(episode, counselor, supervisor):
    plan = signed_treatment_plan(episode, counselor, supervisor)
    objective = plan.objectives.get()
    statements = [
        ("UPDATE plans_treatmentplan SET strengths = 'edited' WHERE id = %s", [plan.pk]),
        ("UPDATE plans_treatmentplan SET status = 'draft' WHERE id = %s", [plan.pk]),
        ("DELETE FROM plans_treatmentplan WHERE id = %s", [plan.pk]),
        ("UPDATE plans_objective SET status = 'achieved' WHERE id = %s", [objective.pk]),
        ("DELETE FROM plans_intervention WHERE plan_id = %s", [plan.pk]),
        (
            "INSERT INTO plans_goal (public_id, plan_id, problem_id, statement, created_at, updated_at) "
            "VALUES (gen_random_uuid(), %s, %s, 'sneaked in', now(), now())",
            [plan.pk, plan.problems.get().pk],
        ),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError, match="signed"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    objective.refresh_from_db()
    assert objective.status == ObjectiveStatus.NOT_STARTED


@postgres_only
@pytest.mark.postgres
def test_the_database_allows_only_cosign_and_supersede_moves(episode, counselor, supervisor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    plan = services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE plans_treatmentplan SET status = 'signed', needs = 'x' WHERE id = %s", [plan.pk])
    plan = services.treatment_plan_cosign(plan=plan, by=supervisor)
    v2 = services.treatment_plan_start(episode=episode, by=counselor)
    services.treatment_plan_sign(plan=v2, by=supervisor, patient_signed_name="Testperson Example")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUPERSEDED


def test_every_objective_needs_an_intervention_before_signing(episode, counselor, settings):
    """DOMAIN.md §7: "Interventions: modality, frequency, responsible staff." An objective with
    none keeps the plan a draft; the refusal names the objective."""
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    _, goal, _ = fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    services.objective_add(
        goal=goal,
        by=counselor,
        statement="Call my sponsor twice a week",
        target_date=site_today(episode.site) + timedelta(days=14),
    )
    with pytest.raises(ValidationError) as exc:
        services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    assert "“Call my sponsor twice a week” of problem 1 has no intervention" in " ".join(exc.value.messages)
    assert "has no intervention" in " ".join(services.treatment_plan_problems(plan))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


@pytest.mark.parametrize("blank", ["strengths", "needs", "abilities", "preferences", "discharge_criteria"])
def test_the_person_centred_fields_and_discharge_criteria_are_needed_to_sign(episode, counselor, settings, blank):
    """DOMAIN.md §7: "Then the patient's strengths, needs, abilities and preferences, the
    discharge criteria, and signatures." Each blank one is refused by name."""
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    services.treatment_plan_update(plan=plan, by=counselor, **{blank: "   "})
    with pytest.raises(ValidationError) as exc:
        services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    assert list(exc.value.message_dict) == ["__all__", blank]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    services.treatment_plan_update(plan=plan, by=counselor, **{blank: "Written now."})
    assert services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example").is_locked


def test_a_review_copies_the_text_and_interventions_so_it_can_be_signed(episode, counselor, settings):
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    signed_treatment_plan(episode, counselor)
    v2 = services.treatment_plan_start(episode=episode, by=counselor)
    assert services.treatment_plan_problems(v2) == []
    assert services.treatment_plan_sign(plan=v2, by=counselor, patient_signed_name="Testperson Example").is_locked
