"""Demo plans for ``manage.py seed_demo``: a signed treatment plan and a signed relapse-prevention
plan for every admitted demo patient, built through the services. Safe to run again: an
episode that already has plans is left alone."""

from __future__ import annotations

from datetime import timedelta

from patients.models import Episode, site_today
from users.models import Membership, Role

from . import services
from .models import PlanStatus


def _supervisor(site):
    membership = Membership.objects.active().filter(site=site, role=Role.SUPERVISOR).select_related("user").first()
    return membership.user if membership else None


def _treatment_plan(episode, counselor, supervisor) -> None:
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    today = site_today(episode.site)
    services.treatment_plan_update(
        plan=plan,
        by=counselor,
        strengths="Motivated by family; steady work history.",
        needs="Sober supports outside the program; sleep routine.",
        abilities="Reads well; keeps appointments when reminded.",
        preferences="Evening groups; prefers text reminders.",
        discharge_criteria="Meets objectives, has an outpatient counselor and a sponsor, 30 days without use.",
    )
    problem = services.problem_add(
        plan=plan,
        by=counselor,
        statement="Daily alcohol use with blackouts, affecting work.",
        dimensions=[1, 5],
        diagnosis="Alcohol use disorder, moderate",
        icd10_code="F10.20",
    )
    goal = services.goal_add(problem=problem, by=counselor, statement="I want to stop drinking and keep my job.")
    objective = services.objective_add(
        goal=goal,
        by=counselor,
        statement="Attend 3 IOP groups a week for 4 weeks.",
        target_date=today + timedelta(days=28),
    )
    services.intervention_add(
        objective=objective,
        by=counselor,
        modality="CBT relapse-prevention group",
        frequency="3 times a week",
        responsible=counselor,
    )
    plan = services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name=episode.patient.legal_name)
    if plan.status == PlanStatus.AWAITING_COSIGN and supervisor is not None:
        services.treatment_plan_cosign(plan=plan, by=supervisor)


def _rp_plan(episode, counselor) -> None:
    plan = services.rp_plan_start(episode=episode, by=counselor)
    trigger = services.rp_trigger_add(
        plan=plan, by=counselor, category="halt", description="Tired and lonely after late shifts"
    )
    services.rp_strategy_add(
        plan=plan, by=counselor, trigger=trigger, strategy="Text my sponsor before leaving work; eat dinner first."
    )
    places = services.rp_trigger_add(plan=plan, by=counselor, category="places", description="Driving past my old bar")
    services.rp_strategy_add(plan=plan, by=counselor, trigger=places, strategy="Take the longer route home.")
    services.rp_plan_update(
        plan=plan,
        by=counselor,
        early_warning_signs="Skipping group, staying up late, thinking one drink is fine.",
        healthy_routine="Walk after work; bed by 11.",
        meetings="SMART Recovery, Tuesday evenings.",
        naloxone_on_hand=True,
        naloxone_who_knows="My partner knows it is in the kitchen drawer",
        nearest_ed="Riverside General Hospital, 100 Main St",
        review_date=site_today(episode.site) + timedelta(days=30),
    )
    services.rp_plan_sign(plan=plan, by=counselor, patient_signed_name=episode.patient.legal_name)


def seed(stdout, context: dict) -> dict:
    sites = list((context.get("sites") or {}).values())
    episodes = (
        Episode.objects.open()
        .filter(site__in=sites)
        .select_related("patient", "site", "primary_counselor", "admitted_by")
    )
    created = 0
    for episode in episodes:
        counselor = episode.primary_counselor or episode.patient.primary_counselor
        if counselor is None:
            continue
        supervisor = _supervisor(episode.site)
        if not episode.treatment_plans.exists():
            _treatment_plan(episode, counselor, supervisor)
            created += 1
        if not episode.relapse_prevention_plans.exists():
            _rp_plan(episode, counselor)
    stdout.write(f"  plans: {created} signed treatment and relapse-prevention plan(s) for admitted demo patients")
    return {}
