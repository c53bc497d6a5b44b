"""Every write to treatment plans, relapse-prevention plans, review triggers, relapses,
recovery activities, aftercare and follow-ups.

Each service validates, saves and writes its audit event (before/after) in one transaction,
and raises ``ValidationError`` with field keys for anything it refuses, so a view can show the
message on the field and nothing is saved. A signed version is never changed: every service
that edits a plan or its parts first checks that the plan is a draft (and PostgreSQL triggers
refuse it again underneath, see migration 0002).

Public entry points other apps call: ``plan_review_request`` (assessments: an unexpected
positive toxicology result; a level-of-care change) and ``relapse_record``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from patients.models import DischargeType, Episode, Patient, SupportContact, site_today
from patients.services import episode_discharge, support_contact_contact_problem
from users.models import User
from users.permissions import has_capability

from .models import (
    FOLLOW_UP_DAYS,
    OPEN_OBJECTIVE_STATUSES,
    REASON_FOR_TRIGGER,
    AftercarePlan,
    AftercareReferral,
    FollowUpCheckIn,
    FollowUpStatus,
    Goal,
    Intervention,
    Objective,
    PlanImmutable,
    PlanReviewTrigger,
    PlanStatus,
    Problem,
    RecoveryActivity,
    RelapseEvent,
    RelapsePreventionPlan,
    RPCopingStrategy,
    RPSupportContact,
    RPTrigger,
    TreatmentPlan,
    TriggerReason,
    VersionReason,
    validate_dimensions,
)

TREATMENT_PLAN_FIELDS = ["strengths", "needs", "abilities", "preferences", "discharge_criteria"]
RP_PLAN_FIELDS = [
    "early_warning_signs",
    "cravings_plan",
    "healthy_routine",
    "meetings",
    "moud_details",
    "naloxone_on_hand",
    "naloxone_who_knows",
    "lapse_plan",
    "emergency_number",
    "crisis_line",
    "nearest_ed",
    "other_crisis_line",
    "review_date",
    "internal_note",
]
SIGNATURE_FIELDS = [
    "status",
    "patient_signed_name",
    "patient_signed_at",
    "patient_declined_reason",
    "clinician_signed_by",
    "clinician_credentials",
    "clinician_signed_at",
    "signed_at",
    "signed_on",
]
OBJECTIVE_FIELDS = ["statement", "target_date", "status"]
RECOVERY_FIELDS = ["date", "activity_type", "type_detail", "duration_minutes", "sponsor_contact", "note"]
REFERRAL_FIELDS = ["provider", "level", "appointment_on", "contact", "note"]
AFTERCARE_FIELDS = ["recommendations", "readmission_info", "patient_letter", "patient_letter_on", "no_contact_reason"]


# --- helpers ----------------------------------------------------------------------------------


def _snapshot(obj, fields: list[str]) -> dict[str, Any]:
    """Field values for an audit before/after (foreign keys as ids)."""
    return {name: getattr(obj, obj._meta.get_field(name).attname) for name in fields}


def _changes(before: dict, after: dict) -> dict:
    changed = [k for k in after if before.get(k) != after[k]]
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after[k] for k in changed}}


def _unknown_fields(fields: dict, allowed: list[str]) -> None:
    extra = set(fields) - set(allowed)
    if extra:
        raise TypeError(f"Unexpected fields: {', '.join(sorted(extra))}")


def _tidy(value):
    return value.strip() if isinstance(value, str) else value


def _hard_delete(obj: models.Model) -> None:
    """Drop a part of a *draft* (a scratch edit, never a signed record)."""
    models.Model.delete(obj)


def _require_open(episode: Episode) -> None:
    if not episode.is_open:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: f"This episode was discharged on {episode.discharge_date:%Y-%m-%d}; its plans are closed."
            }
        )


def _require_draft(plan: TreatmentPlan | RelapsePreventionPlan) -> None:
    if plan.status != PlanStatus.DRAFT:
        raise PlanImmutable(
            {
                NON_FIELD_ERRORS: f"Version {plan.version} is {plan.get_status_display().lower()} and cannot be "
                "changed. Start a review to write a new version."
            }
        )


def _locked_plan(model, plan):
    """Re-read a plan under a row lock (two clinicians may edit the same draft)."""
    return model.objects.select_for_update().select_related("episode__patient", "site").get(pk=plan.pk)


def _audit(action: str, *, by, plan_or_episode, obj, changes: dict) -> None:
    episode = plan_or_episode if isinstance(plan_or_episode, Episode) else plan_or_episode.episode
    record(action, actor=by, site=episode.site_id, patient=episode.patient, obj=obj, changes=changes)


def _patient_signature(plan, *, patient_signed_name: str, patient_declined_reason: str, now) -> None:
    name = " ".join((patient_signed_name or "").split())
    declined = (patient_declined_reason or "").strip()
    if name and declined:
        raise ValidationError(
            {"patient_declined_reason": "Record either the patient's signature or why they declined, not both."}
        )
    if not name and not declined:
        raise ValidationError(
            {
                "patient_signed_name": "The patient signs by typing their full name. If they declined to sign, "
                "record why in “Patient declined to sign because”."
            }
        )
    plan.patient_signed_name = name
    plan.patient_declined_reason = declined
    plan.patient_signed_at = now if name else None


def _open_trigger(episode: Episode, since) -> PlanReviewTrigger | None:
    triggers = episode.plan_review_triggers.order_by("requested_at", "id")
    if since is not None:
        triggers = triggers.filter(requested_at__gt=since)
    return triggers.first()


# --- treatment plan ------------------------------------------------------------------------------


@transaction.atomic
def treatment_plan_start(
    *, episode: Episode, by: User, reason: str | None = None, reason_detail: str = ""
) -> TreatmentPlan:
    """Start the next version as a draft: the initial plan, or a review that deep-copies the
    latest signed version's problems, goals, objectives and interventions (``copied_from``
    links each part to the one it came from). At most one unsigned version per episode."""
    episode = Episode.objects.select_for_update().select_related("patient", "site").get(pk=episode.pk)
    _require_open(episode)
    latest = episode.treatment_plans.order_by("-version").first()
    if latest is not None and latest.status in (PlanStatus.DRAFT, PlanStatus.AWAITING_COSIGN):
        raise ValidationError(
            {NON_FIELD_ERRORS: f"Version {latest.version} is still {latest.get_status_display().lower()}."}
        )
    source = episode.treatment_plans.filter(status=PlanStatus.SIGNED).order_by("-version").first()
    if latest is None:
        reason = VersionReason.INITIAL
    elif not reason:
        trigger = _open_trigger(episode, source.signed_at if source else None)
        reason = REASON_FOR_TRIGGER[trigger.reason] if trigger else VersionReason.SCHEDULED_REVIEW
    plan = TreatmentPlan(
        episode=episode,
        site=episode.site,
        version=(latest.version + 1) if latest else 1,
        reason=reason,
        reason_detail=_tidy(reason_detail) or "",
        plan_date=site_today(episode.site),
        created_by=by,
    )
    if source is not None:
        for name in TREATMENT_PLAN_FIELDS:
            setattr(plan, name, getattr(source, name))
    plan.full_clean()
    plan.save()
    if source is not None:
        _copy_treatment_plan_parts(source, plan)
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=episode,
        obj=plan,
        changes={
            "before": {},
            "after": {
                "version": plan.version,
                "reason": plan.reason,
                "copied_from_version": source.version if source else None,
            },
        },
    )
    return plan


def _copy_treatment_plan_parts(source: TreatmentPlan, plan: TreatmentPlan) -> None:
    problems = {}
    for p in source.problems.all():
        problems[p.pk] = Problem.objects.create(
            plan=plan,
            position=p.position,
            statement=p.statement,
            dimensions=list(p.dimensions),
            diagnosis=p.diagnosis,
            icd10_code=p.icd10_code,
            copied_from=p,
        )
    goals = {}
    for g in source.goals.all():
        goals[g.pk] = Goal.objects.create(
            plan=plan, problem=problems[g.problem_id], statement=g.statement, copied_from=g
        )
    objectives = {}
    for o in source.objectives.all():
        objectives[o.pk] = Objective.objects.create(
            plan=plan,
            goal=goals[o.goal_id],
            statement=o.statement,
            target_date=o.target_date,
            status=o.status,
            copied_from=o,
        )
    for i in source.interventions.all():
        Intervention.objects.create(
            plan=plan,
            objective=objectives[i.objective_id],
            modality=i.modality,
            frequency=i.frequency,
            responsible_id=i.responsible_id,
            copied_from=i,
        )


@transaction.atomic
def treatment_plan_update(*, plan: TreatmentPlan, by: User, **fields) -> TreatmentPlan:
    """Change a draft's plan-level text (strengths, needs, abilities, preferences, discharge criteria)."""
    allowed = [*TREATMENT_PLAN_FIELDS, "reason", "reason_detail"]
    _unknown_fields(fields, allowed)
    plan = _locked_plan(TreatmentPlan, plan)
    _require_draft(plan)
    before = _snapshot(plan, allowed)
    for name, value in fields.items():
        setattr(plan, name, _tidy(value) if value is not None else "")
    plan.full_clean()
    changes = _changes(before, _snapshot(plan, allowed))
    if not changes["after"]:
        return plan
    plan.save(update_fields=[*changes["after"], "updated_at"])
    _audit(Action.UPDATE, by=by, plan_or_episode=plan, obj=plan, changes=changes)
    return plan


@transaction.atomic
def problem_add(
    *, plan: TreatmentPlan, by: User, statement: str, dimensions: list[int], diagnosis: str = "", icd10_code: str = ""
) -> Problem:
    plan = _locked_plan(TreatmentPlan, plan)
    _require_draft(plan)
    try:
        validate_dimensions(dimensions)
    except ValidationError as exc:
        # Checked first: an empty list would otherwise only be called "blank".
        raise ValidationError({"dimensions": exc.messages}) from None
    problem = Problem(
        plan=plan,
        position=plan.problems.count() + 1,
        statement=_tidy(statement) or "",
        dimensions=list(dimensions or []),
        diagnosis=_tidy(diagnosis) or "",
        icd10_code=_tidy(icd10_code) or "",
    )
    problem.full_clean()
    problem.save()
    fields = ["statement", "dimensions", "diagnosis", "icd10_code"]
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=plan,
        obj=problem,
        changes={"before": {}, "after": _snapshot(problem, fields)},
    )
    return problem


@transaction.atomic
def goal_add(*, problem: Problem, by: User, statement: str) -> Goal:
    plan = _locked_plan(TreatmentPlan, problem.plan)
    _require_draft(plan)
    goal = Goal(plan=plan, problem=problem, statement=_tidy(statement) or "")
    goal.full_clean()
    goal.save()
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=plan,
        obj=goal,
        changes={"before": {}, "after": {"statement": goal.statement}},
    )
    return goal


def _check_target_date(plan: TreatmentPlan, target_date: date | None, status: str) -> None:
    if target_date is None:
        raise ValidationError({"target_date": "An objective needs a target date (objectives are time-bound)."})
    if status in OPEN_OBJECTIVE_STATUSES and target_date < plan.plan_date:
        raise ValidationError(
            {"target_date": f"The target date is before the plan date ({plan.plan_date:%Y-%m-%d}); choose a later one."}
        )


@transaction.atomic
def objective_add(
    *, goal: Goal, by: User, statement: str, target_date: date | None, status: str = "not_started"
) -> Objective:
    plan = _locked_plan(TreatmentPlan, goal.plan)
    _require_draft(plan)
    _check_target_date(plan, target_date, status)
    objective = Objective(
        plan=plan, goal=goal, statement=_tidy(statement) or "", target_date=target_date, status=status
    )
    objective.full_clean()
    objective.save()
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=plan,
        obj=objective,
        changes={"before": {}, "after": _snapshot(objective, OBJECTIVE_FIELDS)},
    )
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, by: User, **fields) -> Objective:
    """Revise a draft's objective: its wording, target date or status (achieved, revised …)."""
    _unknown_fields(fields, OBJECTIVE_FIELDS)
    plan = _locked_plan(TreatmentPlan, objective.plan)
    _require_draft(plan)
    objective = Objective.objects.select_for_update().get(pk=objective.pk)
    before = _snapshot(objective, OBJECTIVE_FIELDS)
    for name, value in fields.items():
        setattr(objective, name, _tidy(value))
    _check_target_date(plan, objective.target_date, objective.status)
    objective.full_clean()
    changes = _changes(before, _snapshot(objective, OBJECTIVE_FIELDS))
    if not changes["after"]:
        return objective
    objective.save(update_fields=[*changes["after"], "updated_at"])
    _audit(Action.UPDATE, by=by, plan_or_episode=plan, obj=objective, changes=changes)
    return objective


@transaction.atomic
def intervention_add(
    *, objective: Objective, by: User, modality: str, frequency: str, responsible: User
) -> Intervention:
    plan = _locked_plan(TreatmentPlan, objective.plan)
    _require_draft(plan)
    if responsible is None or not has_capability(responsible, plan.site_id, "clinical.write"):
        raise ValidationError({"responsible": "Choose a counselor or supervisor at this site."})
    intervention = Intervention(
        plan=plan,
        objective=objective,
        modality=_tidy(modality) or "",
        frequency=_tidy(frequency) or "",
        responsible=responsible,
    )
    intervention.full_clean()
    intervention.save()
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=plan,
        obj=intervention,
        changes={"before": {}, "after": _snapshot(intervention, ["modality", "frequency", "responsible"])},
    )
    return intervention


@transaction.atomic
def plan_part_remove(
    *, part: Problem | Goal | Objective | Intervention | RPTrigger | RPCopingStrategy, by: User
) -> None:
    """Remove a part of a draft with everything under it (a problem takes its goals, their
    objectives and interventions; a trigger takes its strategies)."""
    model = RelapsePreventionPlan if isinstance(part, RPTrigger | RPCopingStrategy) else TreatmentPlan
    plan = _locked_plan(model, part.plan)
    _require_draft(plan)
    doomed: list[models.Model] = []
    if isinstance(part, Problem):
        for goal in part.goals.all():
            for objective in goal.objectives.all():
                doomed += [*objective.interventions.all(), objective]
            doomed.append(goal)
    elif isinstance(part, Goal):
        for objective in part.objectives.all():
            doomed += [*objective.interventions.all(), objective]
    elif isinstance(part, Objective):
        doomed += list(part.interventions.all())
    elif isinstance(part, RPTrigger):
        doomed += list(part.strategies.all())
    doomed.append(part)
    label, public_id = part._meta.label, str(part.public_id)
    for obj in doomed:
        _hard_delete(obj)
    record(
        Action.DELETE,
        actor=by,
        site=plan.site_id,
        patient=plan.episode.patient,
        object_type=label,
        object_id=public_id,
        changes={"before": {"removed_parts": len(doomed)}, "after": {}},
    )


# DOMAIN.md §7: after problems, goals, objectives and interventions, "the patient's strengths,
# needs, abilities and preferences, the discharge criteria, and signatures".
PERSON_CENTRED_FIELDS = {
    "strengths": "the patient's strengths",
    "needs": "the patient's needs",
    "abilities": "the patient's abilities",
    "preferences": "the patient's preferences",
    "discharge_criteria": "the discharge criteria",
}


def treatment_plan_missing_fields(plan: TreatmentPlan) -> dict[str, str]:
    """The person-centred fields still blank on this draft, each with why it is needed."""
    return {
        name: f"Write {label} before signing (a treatment plan records {label}, DOMAIN.md §7)."
        for name, label in PERSON_CENTRED_FIELDS.items()
        if not (getattr(plan, name) or "").strip()
    }


def treatment_plan_problems(plan: TreatmentPlan) -> list[str]:
    """Why this draft cannot be signed yet (empty when it is complete): every problem a goal,
    every goal an objective, every objective an intervention (modality, frequency, responsible
    staff), and the strengths, needs, abilities, preferences and discharge criteria written."""
    problems = list(plan.problems.prefetch_related("goals__objectives__interventions"))
    messages = []
    if not problems:
        messages.append("Add at least one problem, with a goal, a measurable objective and an intervention.")
    for n, problem in enumerate(problems, 1):
        goals = list(problem.goals.all())
        if not goals:
            messages.append(f"Problem {n} has no goal.")
        for goal in goals:
            objectives = list(goal.objectives.all())
            if not objectives:
                messages.append(f"A goal of problem {n} has no objective.")
            for objective in objectives:
                if objective.status in OPEN_OBJECTIVE_STATUSES and objective.target_date < plan.plan_date:
                    messages.append(
                        f"An objective of problem {n} has a target date ({objective.target_date:%Y-%m-%d}) before "
                        "the plan date: revise it or record its status."
                    )
                if not objective.interventions.all():
                    messages.append(
                        f"The objective “{objective.statement[:60]}” of problem {n} has no intervention: add its "
                        "modality, frequency and responsible staff."
                    )
    messages.extend(treatment_plan_missing_fields(plan).values())
    return messages


def _supersede_previous(model, plan, now) -> None:
    for old in (
        model.objects.select_for_update()
        .filter(episode_id=plan.episode_id, status=PlanStatus.SIGNED)
        .exclude(pk=plan.pk)
    ):
        old.status = PlanStatus.SUPERSEDED
        old.superseded_at = now
        old.save(update_fields=["status", "superseded_at", "updated_at"])


def _take_effect(plan, model, now) -> None:
    plan.status = PlanStatus.SIGNED
    plan.signed_at = now
    plan.signed_on = site_today(plan.site)
    _supersede_previous(model, plan, now)


@transaction.atomic
def treatment_plan_sign(
    *, plan: TreatmentPlan, by: User, patient_signed_name: str = "", patient_declined_reason: str = ""
) -> TreatmentPlan:
    """The clinician signs with the patient's signature (or the reason they declined).

    Refuses an incomplete plan (``treatment_plan_problems``: at least one problem; every problem
    a goal; every goal an objective; every objective an intervention; the strengths, needs,
    abilities, preferences and discharge criteria written). When
    ``PLAN_SUPERVISOR_SIGNATURE_REQUIRED`` is on and the signer is not a supervisor, the version
    is locked and waits for ``treatment_plan_cosign``; otherwise it takes effect now and the
    previous signed version becomes superseded.
    """
    plan = _locked_plan(TreatmentPlan, plan)
    _require_draft(plan)
    _require_open(plan.episode)
    if not has_capability(by, plan.site_id, "clinical.write"):
        raise ValidationError({NON_FIELD_ERRORS: "Only a counselor or supervisor at this site may sign the plan."})
    missing = treatment_plan_problems(plan)
    if missing:
        # The blank plan fields are also named by field, so the API and the plan form point at them.
        blank = treatment_plan_missing_fields(plan)
        structure = [m for m in missing if m not in blank.values()]
        raise ValidationError({NON_FIELD_ERRORS: ["The plan is not complete:", *structure], **blank})
    now = timezone.now()
    before = _snapshot(plan, SIGNATURE_FIELDS)
    _patient_signature(
        plan, patient_signed_name=patient_signed_name, patient_declined_reason=patient_declined_reason, now=now
    )
    plan.clinician_signed_by = by
    plan.clinician_credentials = by.credentials
    plan.clinician_signed_at = now
    supervisor = has_capability(by, plan.site_id, "note.cosign")
    if settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED and not supervisor:
        plan.status = PlanStatus.AWAITING_COSIGN
    else:
        if settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED:
            plan.supervisor_signed_by = by
            plan.supervisor_credentials = by.credentials
            plan.supervisor_signed_at = now
        _take_effect(plan, TreatmentPlan, now)
    plan.full_clean()
    plan.save(
        update_fields=[
            *SIGNATURE_FIELDS,
            "supervisor_signed_by",
            "supervisor_credentials",
            "supervisor_signed_at",
            "updated_at",
        ]
    )
    _audit(
        Action.SIGN, by=by, plan_or_episode=plan, obj=plan, changes=_changes(before, _snapshot(plan, SIGNATURE_FIELDS))
    )
    return plan


@transaction.atomic
def treatment_plan_cosign(*, plan: TreatmentPlan, by: User) -> TreatmentPlan:
    """The supervisor's signature: the version takes effect and supersedes the previous one."""
    plan = _locked_plan(TreatmentPlan, plan)
    if plan.status != PlanStatus.AWAITING_COSIGN:
        raise ValidationError({NON_FIELD_ERRORS: "This version is not waiting for a supervisor's signature."})
    if not has_capability(by, plan.site_id, "note.cosign"):
        raise ValidationError({NON_FIELD_ERRORS: "Only a clinical supervisor at this site may co-sign."})
    now = timezone.now()
    before = _snapshot(plan, ["status", "signed_at", "signed_on"])
    plan.supervisor_signed_by = by
    plan.supervisor_credentials = by.credentials
    plan.supervisor_signed_at = now
    _take_effect(plan, TreatmentPlan, now)
    plan.save(
        update_fields=[
            "status",
            "supervisor_signed_by",
            "supervisor_credentials",
            "supervisor_signed_at",
            "signed_at",
            "signed_on",
            "updated_at",
        ]
    )
    after = _snapshot(plan, ["status", "signed_at", "signed_on"])
    _audit(
        Action.SIGN,
        by=by,
        plan_or_episode=plan,
        obj=plan,
        changes={"before": before, "after": {**after, "cosigned": True}},
    )
    return plan


# --- relapse-prevention plan ------------------------------------------------------------------------


@transaction.atomic
def rp_plan_start(
    *, episode: Episode, by: User, reason: str | None = None, reason_detail: str = ""
) -> RelapsePreventionPlan:
    """Start the next relapse-prevention plan version as a draft, copying the latest signed one
    (support contacts are carried over only while the patient's consent still covers them)."""
    episode = Episode.objects.select_for_update().select_related("patient", "site").get(pk=episode.pk)
    _require_open(episode)
    latest = episode.relapse_prevention_plans.order_by("-version").first()
    if latest is not None and latest.status == PlanStatus.DRAFT:
        raise ValidationError({NON_FIELD_ERRORS: f"Version {latest.version} is still a draft."})
    source = episode.relapse_prevention_plans.filter(status=PlanStatus.SIGNED).order_by("-version").first()
    if latest is None:
        reason = VersionReason.INITIAL
    elif not reason:
        trigger = _open_trigger(episode, source.signed_at if source else None)
        reason = REASON_FOR_TRIGGER[trigger.reason] if trigger else VersionReason.SCHEDULED_REVIEW
    plan = RelapsePreventionPlan(
        episode=episode,
        site=episode.site,
        version=(latest.version + 1) if latest else 1,
        reason=reason,
        reason_detail=_tidy(reason_detail) or "",
        plan_date=site_today(episode.site),
        created_by=by,
    )
    if source is not None:
        for name in RP_PLAN_FIELDS:
            setattr(plan, name, getattr(source, name))
        plan.review_date = None  # each version sets its own review date
    plan.full_clean()
    plan.save()
    if source is not None:
        triggers = {}
        for t in source.triggers.all():
            triggers[t.pk] = RPTrigger.objects.create(
                plan=plan, category=t.category, description=t.description, copied_from=t
            )
        for s in source.strategies.all():
            RPCopingStrategy.objects.create(
                plan=plan, trigger=triggers[s.trigger_id], strategy=s.strategy, copied_from=s
            )
        for listed in source.listed_contacts.select_related("contact__consent", "contact__patient__site"):
            if support_contact_contact_problem(listed.contact) is None:
                RPSupportContact.objects.create(plan=plan, contact=listed.contact)
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=episode,
        obj=plan,
        changes={
            "before": {},
            "after": {
                "version": plan.version,
                "reason": plan.reason,
                "copied_from_version": source.version if source else None,
            },
        },
    )
    return plan


@transaction.atomic
def rp_plan_update(*, plan: RelapsePreventionPlan, by: User, **fields) -> RelapsePreventionPlan:
    _unknown_fields(fields, RP_PLAN_FIELDS)
    plan = _locked_plan(RelapsePreventionPlan, plan)
    _require_draft(plan)
    before = _snapshot(plan, RP_PLAN_FIELDS)
    for name, value in fields.items():
        setattr(plan, name, _tidy(value))
    if plan.review_date is not None and plan.review_date <= plan.plan_date:
        raise ValidationError({"review_date": "The review date must be after the plan date."})
    plan.full_clean()
    changes = _changes(before, _snapshot(plan, RP_PLAN_FIELDS))
    if not changes["after"]:
        return plan
    plan.save(update_fields=[*changes["after"], "updated_at"])
    # The internal note is staff-only text; its content stays out of the trail like any free text.
    _audit(Action.UPDATE, by=by, plan_or_episode=plan, obj=plan, changes=changes)
    return plan


@transaction.atomic
def rp_trigger_add(*, plan: RelapsePreventionPlan, by: User, category: str, description: str) -> RPTrigger:
    plan = _locked_plan(RelapsePreventionPlan, plan)
    _require_draft(plan)
    trigger = RPTrigger(plan=plan, category=category, description=_tidy(description) or "")
    trigger.full_clean()
    trigger.save()
    _audit(
        Action.CREATE, by=by, plan_or_episode=plan, obj=trigger, changes={"before": {}, "after": {"category": category}}
    )
    return trigger


@transaction.atomic
def rp_strategy_add(
    *, plan: RelapsePreventionPlan, by: User, trigger: RPTrigger | None, strategy: str
) -> RPCopingStrategy:
    """A coping strategy always answers one trigger of the same plan."""
    plan = _locked_plan(RelapsePreventionPlan, plan)
    _require_draft(plan)
    if trigger is None or trigger.plan_id != plan.pk:
        raise ValidationError({"trigger": "Choose the trigger this strategy answers."})
    item = RPCopingStrategy(plan=plan, trigger=trigger, strategy=_tidy(strategy) or "")
    item.full_clean()
    item.save()
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=plan,
        obj=item,
        changes={"before": {}, "after": {"trigger": str(trigger.public_id)}},
    )
    return item


def _contact_problem(plan: RelapsePreventionPlan, contact: SupportContact) -> str | None:
    if contact.patient_id != plan.episode.patient_id:
        return "That person is not in this patient's support network."
    problem = support_contact_contact_problem(contact)
    if problem:
        return f"{contact.name} cannot be listed: {problem}"
    return None


@transaction.atomic
def rp_contact_add(*, plan: RelapsePreventionPlan, by: User, contact: SupportContact) -> RPSupportContact:
    """List a support person on the plan: only one the patient agreed may be contacted, under an
    active consent naming them (``patients.services.support_contact_contact_problem``)."""
    plan = _locked_plan(RelapsePreventionPlan, plan)
    _require_draft(plan)
    contact = SupportContact.objects.select_related("consent", "patient__site").get(pk=contact.pk)
    problem = _contact_problem(plan, contact)
    if problem:
        raise ValidationError({"contact": problem})
    if plan.listed_contacts.filter(contact=contact).exists():
        raise ValidationError({"contact": f"{contact.name} is already listed."})
    listed = RPSupportContact.objects.create(plan=plan, contact=contact)
    _audit(
        Action.UPDATE,
        by=by,
        plan_or_episode=plan,
        obj=plan,
        changes={"before": {}, "after": {"listed_contact": str(contact.public_id)}},
    )
    return listed


@transaction.atomic
def rp_contact_remove(*, plan: RelapsePreventionPlan, by: User, contact: SupportContact) -> None:
    plan = _locked_plan(RelapsePreventionPlan, plan)
    _require_draft(plan)
    for listed in plan.listed_contacts.filter(contact=contact):
        _hard_delete(listed)
    _audit(
        Action.UPDATE,
        by=by,
        plan_or_episode=plan,
        obj=plan,
        changes={"before": {"listed_contact": str(contact.public_id)}, "after": {}},
    )


def rp_plan_problems(plan: RelapsePreventionPlan) -> list[str]:
    """Why this draft cannot be signed yet (empty when it is complete)."""
    messages = []
    triggers = list(plan.triggers.prefetch_related("strategies"))
    if not triggers:
        messages.append("Add at least one trigger or high-risk situation.")
    if any(not t.strategies.all() for t in triggers):
        messages.append("Match a coping strategy to every trigger.")
    if plan.review_date is None:
        messages.append("Set a review date.")
    elif plan.review_date <= site_today(plan.site):
        messages.append("The review date must be in the future.")
    if plan.naloxone_on_hand is None:
        messages.append("Record whether naloxone is on hand.")
    if not (plan.lapse_plan or "").strip():
        messages.append("Write the steps after a lapse (stop, call, return).")
    for listed in plan.listed_contacts.select_related("contact__consent", "contact__patient__site"):
        problem = _contact_problem(plan, listed.contact)
        if problem:
            messages.append(problem)
    return messages


@transaction.atomic
def rp_plan_sign(
    *, plan: RelapsePreventionPlan, by: User, patient_signed_name: str = "", patient_declined_reason: str = ""
) -> RelapsePreventionPlan:
    """Patient and clinician sign; the version takes effect and supersedes the previous one."""
    plan = _locked_plan(RelapsePreventionPlan, plan)
    _require_draft(plan)
    _require_open(plan.episode)
    if not has_capability(by, plan.site_id, "clinical.write"):
        raise ValidationError({NON_FIELD_ERRORS: "Only a counselor or supervisor at this site may sign the plan."})
    missing = rp_plan_problems(plan)
    if missing:
        raise ValidationError({NON_FIELD_ERRORS: ["The plan is not complete:", *missing]})
    now = timezone.now()
    before = _snapshot(plan, SIGNATURE_FIELDS)
    _patient_signature(
        plan, patient_signed_name=patient_signed_name, patient_declined_reason=patient_declined_reason, now=now
    )
    plan.clinician_signed_by = by
    plan.clinician_credentials = by.credentials
    plan.clinician_signed_at = now
    _take_effect(plan, RelapsePreventionPlan, now)
    plan.full_clean()
    plan.save(update_fields=[*SIGNATURE_FIELDS, "updated_at"])
    _audit(
        Action.SIGN, by=by, plan_or_episode=plan, obj=plan, changes=_changes(before, _snapshot(plan, SIGNATURE_FIELDS))
    )
    return plan


# --- review triggers and relapses ------------------------------------------------------------------


@transaction.atomic
def plan_review_request(
    *, episode: Episode, reason: str, by: User | None = None, note: str = "", occurred_on: date | None = None
) -> PlanReviewTrigger:
    """Make a review of the treatment plan and the relapse-prevention plan due now, until a
    version of each is signed after this moment.

    The public entry point for a level-of-care change, a hospitalisation, a new diagnosis, a
    recorded relapse and (from assessments) an unexpected positive toxicology result.
    ``by`` is None when the system requests it. Audited (CREATE).
    """
    if reason not in TriggerReason.values:
        raise ValidationError({"reason": f"Unknown review reason {reason!r}."})
    episode = Episode.objects.select_related("patient", "site").get(pk=episode.pk)
    _require_open(episode)
    if reason == TriggerReason.OTHER and not (note or "").strip():
        raise ValidationError({"note": "Describe the event that calls for a review."})
    today = site_today(episode.site)
    if occurred_on is not None and occurred_on > today:
        raise ValidationError({"occurred_on": "The date cannot be in the future."})
    trigger = PlanReviewTrigger.objects.create(
        episode=episode,
        site=episode.site,
        reason=reason,
        note=(note or "").strip(),
        requested_by=by,
        requested_at=timezone.now(),
        requested_on=today,
    )
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=episode,
        obj=trigger,
        changes={"before": {}, "after": {"reason": reason, "requested_on": today}},
    )
    return trigger


@transaction.atomic
def relapse_record(
    *, episode: Episode, occurred_on: date | None, by: User, substance: str = "", note: str = ""
) -> RelapseEvent:
    """Record a relapse and prompt a review of both plans (``plan_review_request``)."""
    episode = Episode.objects.select_related("patient", "site").get(pk=episode.pk)
    _require_open(episode)
    if occurred_on is None:
        raise ValidationError({"occurred_on": "Give the date of the relapse (an estimate is fine)."})
    if occurred_on > site_today(episode.site):
        raise ValidationError({"occurred_on": "The date cannot be in the future."})
    if occurred_on < episode.admission_date:
        raise ValidationError(
            {"occurred_on": f"The date is before this episode's admission ({episode.admission_date:%Y-%m-%d})."}
        )
    trigger = plan_review_request(episode=episode, reason=TriggerReason.RELAPSE, by=by, occurred_on=occurred_on)
    relapse = RelapseEvent.objects.create(
        episode=episode,
        site=episode.site,
        occurred_on=occurred_on,
        substance=(substance or "").strip(),
        note=(note or "").strip(),
        trigger=trigger,
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=episode,
        obj=relapse,
        changes={"before": {}, "after": {"occurred_on": occurred_on, "substance": relapse.substance}},
    )
    return relapse


# --- recovery activities ------------------------------------------------------------------------------


@transaction.atomic
def recovery_activity_record(*, patient: Patient, by: User, **fields) -> RecoveryActivity:
    """Log a mutual-help meeting the patient reports. It never counts toward IOP hours."""
    _unknown_fields(fields, RECOVERY_FIELDS)
    episode = patient.episodes.open().first()
    if episode is None:
        raise ValidationError({NON_FIELD_ERRORS: "The patient has no open episode of care."})
    day = fields.get("date")
    if day is not None:
        if day > site_today(patient.site):
            raise ValidationError({"date": "The date cannot be in the future."})
        if day < episode.admission_date:
            raise ValidationError({"date": f"The date is before admission ({episode.admission_date:%Y-%m-%d})."})
    sponsor = fields.get("sponsor_contact")
    if sponsor is not None and (sponsor.patient_id != patient.pk or sponsor.removed_at is not None):
        raise ValidationError({"sponsor_contact": "Choose someone in this patient's support network."})
    activity = RecoveryActivity(
        patient=patient, episode=episode, site=patient.site, recorded_by=by, **{k: _tidy(v) for k, v in fields.items()}
    )
    activity.full_clean()
    activity.save()
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=episode,
        obj=activity,
        changes={
            "before": {},
            "after": _snapshot(activity, ["date", "activity_type", "duration_minutes", "sponsor_contact"]),
        },
    )
    return activity


# --- aftercare, discharge and follow-up ------------------------------------------------------------------


def _aftercare_for(episode: Episode, by: User) -> AftercarePlan:
    plan = AftercarePlan.objects.select_for_update().filter(episode=episode).first()
    if plan is None:
        plan = AftercarePlan.objects.create(episode=episode, site=episode.site, updated_by=by)
    return plan


@transaction.atomic
def aftercare_update(*, episode: Episode, by: User, **fields) -> AftercarePlan:
    """Change the aftercare plan's recommendations, re-admission information, letter to the
    patient (its text and date) or why contact is not allowed; fields not given are kept."""
    _unknown_fields(fields, AFTERCARE_FIELDS)
    episode = Episode.objects.select_related("patient", "site").get(pk=episode.pk)
    plan = _aftercare_for(episode, by)
    before = _snapshot(plan, AFTERCARE_FIELDS)
    for name, value in fields.items():
        if name == "patient_letter_on":
            plan.patient_letter_on = value
        else:
            setattr(plan, name, (value or "").strip())
    if plan.patient_letter_on is not None and plan.patient_letter_on > site_today(episode.site):
        raise ValidationError({"patient_letter_on": "The letter's date cannot be in the future."})
    plan.full_clean()
    changes = _changes(before, _snapshot(plan, AFTERCARE_FIELDS))
    if not changes["after"]:
        return plan
    plan.updated_by = by
    plan.save(update_fields=[*changes["after"], "updated_by", "updated_at"])
    _audit(Action.UPDATE, by=by, plan_or_episode=episode, obj=plan, changes=changes)
    return plan


@transaction.atomic
def aftercare_referral_add(*, episode: Episode, by: User, **fields) -> AftercareReferral:
    _unknown_fields(fields, REFERRAL_FIELDS)
    episode = Episode.objects.select_related("patient", "site").get(pk=episode.pk)
    plan = _aftercare_for(episode, by)
    referral = AftercareReferral(aftercare=plan, **{k: _tidy(v) if v is not None else v for k, v in fields.items()})
    for name in ("level", "contact", "note"):
        if getattr(referral, name) is None:
            setattr(referral, name, "")
    if referral.appointment_on and referral.appointment_on < episode.admission_date:
        raise ValidationError({"appointment_on": "The appointment is before this episode's admission."})
    referral.full_clean()
    referral.save()
    _audit(
        Action.CREATE,
        by=by,
        plan_or_episode=episode,
        obj=referral,
        changes={"before": {}, "after": _snapshot(referral, REFERRAL_FIELDS)},
    )
    return referral


@transaction.atomic
def aftercare_referral_withdraw(*, referral: AftercareReferral, by: User) -> AftercareReferral:
    referral = (
        AftercareReferral.objects.select_for_update().select_related("aftercare__episode__patient").get(pk=referral.pk)
    )
    if referral.withdrawn_at is None:
        referral.withdrawn_at = timezone.now()
        referral.save(update_fields=["withdrawn_at", "updated_at"])
        _audit(
            Action.UPDATE,
            by=by,
            plan_or_episode=referral.aftercare.episode,
            obj=referral,
            changes={"before": {"withdrawn_at": None}, "after": {"withdrawn_at": referral.withdrawn_at}},
        )
    return referral


def follow_ups_schedule(*, episode: Episode, by: User) -> list[FollowUpCheckIn]:
    """Check-ins 30, 60 and 90 days after discharge (idempotent: existing ones are kept)."""
    if episode.discharge_date is None:
        raise ValidationError({NON_FIELD_ERRORS: "Follow-ups are scheduled at discharge."})
    rows = []
    for days in FOLLOW_UP_DAYS:
        row, created = FollowUpCheckIn.objects.get_or_create(
            episode=episode,
            days_after_discharge=days,
            defaults={
                "patient": episode.patient,
                "site": episode.site,
                "due_on": episode.discharge_date + timedelta(days=days),
            },
        )
        if created:
            _audit(
                Action.CREATE,
                by=by,
                plan_or_episode=episode,
                obj=row,
                changes={"before": {}, "after": {"days_after_discharge": days, "due_on": row.due_on}},
            )
        rows.append(row)
    return rows


def _administrative_discharge_problems(
    episode: Episode, *, readmission_info: str, has_letter: bool, no_contact_reason: str, referral_provider: str
) -> dict[str, str]:
    """What an administrative discharge still lacks (DOMAIN.md §6: "It needs a clinician
    decision, a discharge summary, referral and re-admission information, and a letter to the
    patient if contact is allowed"), by field; the values are those the discharge would keep."""
    errors: dict[str, str] = {}
    aftercare = AftercarePlan.objects.filter(episode=episode).first()
    referred = referral_provider or (
        aftercare is not None and aftercare.referrals.filter(withdrawn_at__isnull=True).exists()
    )
    if not referred:
        errors["referral_provider"] = (
            "An administrative discharge needs an aftercare referral: name the provider the patient is referred "
            "to (or add the referral on the Aftercare page first)."
        )
    if not readmission_info:
        errors["readmission_info"] = (
            "An administrative discharge needs re-admission information: how the patient can come back."
        )
    if not has_letter and not no_contact_reason:
        errors["patient_letter"] = (
            "An administrative discharge needs a letter to the patient (its text or the date it was sent), or, "
            "when contact is not allowed, why (“Contact not allowed because”)."
        )
    return errors


@transaction.atomic
def discharge_sign(
    *,
    episode: Episode,
    by: User,
    discharge_date: date | None,
    discharge_type: str,
    summary: str,
    readmission_info: str = "",
    patient_letter: str = "",
    patient_letter_on: date | None = None,
    no_contact_reason: str = "",
    referral_provider: str = "",
    referral_contact: str = "",
) -> Episode:
    """Sign the discharge: close the episode with the clinician's final summary (through
    ``patients.services.episode_discharge``) and schedule the 30/60/90-day follow-ups.
    Never automatic: only this explicit call discharges, and only by a counselor or clinical
    supervisor at the episode's site (``episode.discharge``, as the pages and the API check).

    The re-admission information, the letter to the patient (text and/or date) and why contact
    is not allowed are kept on the aftercare plan; blank ones keep what the plan already says.
    ``referral_provider`` (with ``referral_contact``) adds an aftercare referral. An
    administrative discharge is refused unless it has an active referral, re-admission
    information, and a letter or the reason contact is not allowed (DOMAIN.md §6). Nothing is
    saved when anything is refused."""
    if not has_capability(by, episode.site_id, "episode.discharge"):
        raise PermissionDenied("Only a counselor or clinical supervisor at this site may sign a discharge.")
    if not (summary or "").strip():
        raise ValidationError({"summary": "Write (or keep) the discharge summary before signing."})
    if not discharge_type:
        raise ValidationError({"discharge_type": "Choose the type of discharge."})
    if discharge_date is not None and discharge_date < episode.admission_date:
        raise ValidationError(
            {"discharge_date": f"The discharge date is before the admission date ({episode.admission_date:%Y-%m-%d})."}
        )
    given = {
        "readmission_info": (readmission_info or "").strip(),
        "patient_letter": (patient_letter or "").strip(),
        "patient_letter_on": patient_letter_on,
        "no_contact_reason": (no_contact_reason or "").strip(),
    }
    given = {name: value for name, value in given.items() if value}
    referral_provider = " ".join((referral_provider or "").split())
    if referral_contact and not referral_provider:
        raise ValidationError({"referral_provider": "Name the provider the patient is referred to."})
    if discharge_type == DischargeType.ADMINISTRATIVE:
        kept = AftercarePlan.objects.filter(episode=episode).first() or AftercarePlan(episode=episode)
        would = {name: given.get(name, getattr(kept, name)) for name in AFTERCARE_FIELDS}
        errors = _administrative_discharge_problems(
            episode,
            readmission_info=(would["readmission_info"] or "").strip(),
            has_letter=bool((would["patient_letter"] or "").strip() or would["patient_letter_on"]),
            no_contact_reason=(would["no_contact_reason"] or "").strip(),
            referral_provider=referral_provider,
        )
        if errors:
            raise ValidationError(errors)
    if given:
        aftercare_update(episode=episode, by=by, **given)
    if referral_provider:
        try:
            aftercare_referral_add(episode=episode, by=by, provider=referral_provider, contact=referral_contact or "")
        except ValidationError as exc:
            # Named after the discharge form's fields.
            names = {"provider": "referral_provider", "contact": "referral_contact"}
            raise ValidationError({names.get(k, k): v for k, v in exc.message_dict.items()}) from None
    episode = episode_discharge(
        episode=episode,
        discharge_date=discharge_date,
        discharge_type=discharge_type,
        by=by,
        summary=summary,
        aftercare_checked=True,
    )
    follow_ups_schedule(episode=episode, by=by)
    return episode


@transaction.atomic
def follow_up_record(*, checkin: FollowUpCheckIn, by: User, status: str, outcome_note: str) -> FollowUpCheckIn:
    """Record a check-in's outcome: done, or unable to reach (with what was tried)."""
    checkin = FollowUpCheckIn.objects.select_for_update().select_related("episode__patient").get(pk=checkin.pk)
    if checkin.status != FollowUpStatus.PENDING:
        raise ValidationError({NON_FIELD_ERRORS: "This follow-up was already recorded."})
    if status not in (FollowUpStatus.DONE, FollowUpStatus.UNABLE_TO_REACH):
        raise ValidationError({"status": "Choose done or unable to reach."})
    note = (outcome_note or "").strip()
    if not note:
        raise ValidationError({"outcome_note": "Say what happened (or how you tried to reach them)."})
    checkin.status = status
    checkin.outcome_note = note
    checkin.completed_by = by
    checkin.completed_at = timezone.now()
    checkin.save(update_fields=["status", "outcome_note", "completed_by", "completed_at", "updated_at"])
    _audit(
        Action.UPDATE,
        by=by,
        plan_or_episode=checkin.episode,
        obj=checkin,
        changes={"before": {"status": FollowUpStatus.PENDING}, "after": {"status": status}},
    )
    return checkin
