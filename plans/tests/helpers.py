"""Builders for plan tests: fake people only."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import Episode, Patient, site_today
from patients.services import new_mrn
from plans import services
from plans.models import PlanStatus

_names = itertools.count(1)

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (row triggers)")


def make_patient(site, **fields) -> Patient:
    n = next(_names)
    defaults = {"legal_first_name": f"Testperson{n}", "legal_last_name": "Example", "date_of_birth": date(1990, 5, 17)}
    return Patient.objects.create(site=site, mrn=new_mrn(), **{**defaults, **fields})


def make_episode(patient, *, admitted: date, by, counselor=None) -> Episode:
    return Episode.objects.create(
        patient=patient,
        site=patient.site,
        admission_date=admitted,
        admitted_by=by,
        primary_counselor=counselor or patient.primary_counselor,
    )


def fill_treatment_plan(plan, by, *, target_in_days: int = 30):
    """One problem → goal → objective → intervention: the smallest complete structure (the
    plan-level text is left blank: ``fill_plan_text`` adds it)."""
    problem = services.problem_add(
        plan=plan,
        by=by,
        statement="Daily alcohol use",
        dimensions=[5, 1],
        diagnosis="Alcohol use disorder",
        icd10_code="f10.20",
    )
    goal = services.goal_add(problem=problem, by=by, statement="I want to stop drinking and keep my job.")
    objective = services.objective_add(
        goal=goal,
        by=by,
        statement="Attend 3 groups a week",
        target_date=site_today(plan.site) + timedelta(days=target_in_days),
    )
    services.intervention_add(
        objective=objective, by=by, modality="CBT group", frequency="3 times a week", responsible=by
    )
    return problem, goal, objective


PLAN_TEXT = {
    "strengths": "Employed; supportive sister.",
    "needs": "Evening structure.",
    "abilities": "Reads and writes well.",
    "preferences": "Evening groups.",
    "discharge_criteria": "Four weeks without use; relapse-prevention plan signed.",
}


def fill_plan_text(plan, by):
    """The strengths, needs, abilities, preferences and discharge criteria a plan needs to be
    signed (``fill_treatment_plan`` leaves them blank)."""
    return services.treatment_plan_update(plan=plan, by=by, **PLAN_TEXT)


def signed_treatment_plan(episode, clinician, supervisor=None):
    plan = services.treatment_plan_start(episode=episode, by=clinician)
    fill_treatment_plan(plan, clinician)
    fill_plan_text(plan, clinician)
    plan = services.treatment_plan_sign(plan=plan, by=clinician, patient_signed_name="Testperson Example")
    if plan.status == PlanStatus.AWAITING_COSIGN:
        plan = services.treatment_plan_cosign(plan=plan, by=supervisor)
    return plan


def fill_rp_plan(plan, by):
    trigger = services.rp_trigger_add(plan=plan, by=by, category="halt", description="Tired after night shifts")
    services.rp_strategy_add(plan=plan, by=by, trigger=trigger, strategy="Sleep plan; call sponsor before driving home")
    services.rp_plan_update(
        plan=plan,
        by=by,
        review_date=site_today(plan.site) + timedelta(days=30),
        naloxone_on_hand=True,
        naloxone_who_knows="My sister knows it is in the kitchen drawer",
    )
    return trigger


def signed_rp_plan(episode, clinician):
    plan = services.rp_plan_start(episode=episode, by=clinician)
    fill_rp_plan(plan, clinician)
    return services.rp_plan_sign(plan=plan, by=clinician, patient_signed_name="Testperson Example")


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)
