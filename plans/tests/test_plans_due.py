"""Due dates: initial plan after admission, a review 30 days after signing, and a review due
now after a level-of-care change or a relapse, until a version is signed after it."""

from datetime import timedelta

import pytest

from patients.models import site_today
from plans import services
from plans.models import TriggerReason
from plans.selectors import RELAPSE_PREVENTION, TREATMENT, plans_due

from .helpers import count_queries, make_episode, make_patient, signed_rp_plan, signed_treatment_plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cosign(settings):
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    settings.PLAN_INITIAL_DUE_DAYS = 7
    settings.PLAN_REVIEW_INTERVAL_DAYS = 30


def due(site, today, kind=TREATMENT, **kw):
    return [r for r in plans_due([site.pk], today, **kw) if r.kind == kind]


def test_the_initial_plan_is_due_n_days_after_admission(site, counselor):
    today = site_today(site)
    patient = make_patient(site, primary_counselor=counselor)
    episode = make_episode(patient, admitted=today - timedelta(days=3), by=counselor)
    assert due(site, today) == []
    (row,) = due(site, today, horizon_days=4)
    assert (row.reason, row.due_on, row.overdue) == ("initial", episode.admission_date + timedelta(days=7), False)
    (row,) = due(site, today + timedelta(days=5))
    assert row.overdue and row.episode == episode


def test_a_review_is_due_30_days_after_the_last_signed_version(site, counselor):
    today = site_today(site)
    patient = make_patient(site, primary_counselor=counselor)
    episode = make_episode(patient, admitted=today - timedelta(days=2), by=counselor)
    plan = signed_treatment_plan(episode, counselor)
    assert due(site, today) == []
    assert due(site, today + timedelta(days=29)) == []
    (row,) = due(site, today + timedelta(days=30))
    assert (row.reason, row.due_on) == ("scheduled_review", plan.signed_on + timedelta(days=30))
    # A review in progress is shown as such, and still due until signed.
    services.treatment_plan_start(episode=episode, by=counselor)
    (row,) = due(site, today + timedelta(days=31))
    assert row.in_progress == "Draft" and row.overdue


@pytest.mark.parametrize("reason", [TriggerReason.LEVEL_OF_CARE_CHANGE, TriggerReason.HOSPITALISATION])
def test_a_significant_event_makes_both_reviews_due_now(site, counselor, reason):
    today = site_today(site)
    patient = make_patient(site, primary_counselor=counselor)
    episode = make_episode(patient, admitted=today - timedelta(days=2), by=counselor)
    signed_treatment_plan(episode, counselor)
    signed_rp_plan(episode, counselor)
    assert plans_due([site.pk], today) == []
    services.plan_review_request(episode=episode, reason=reason, by=counselor)
    rows = plans_due([site.pk], today)
    assert {(r.kind, r.reason, r.due_on) for r in rows} == {
        (TREATMENT, reason, today),
        (RELAPSE_PREVENTION, reason, today),
    }
    # A new signed treatment plan version clears its review; the relapse-prevention one stays due.
    v2 = services.treatment_plan_start(episode=episode, by=counselor)
    assert v2.reason == "level_of_care_change" if reason == TriggerReason.LEVEL_OF_CARE_CHANGE else "hospitalisation"
    services.treatment_plan_sign(plan=v2, by=counselor, patient_signed_name="Testperson Example")
    assert [r.kind for r in plans_due([site.pk], today)] == [RELAPSE_PREVENTION]


def test_a_recorded_relapse_prompts_a_review_of_both_plans(site, counselor):
    today = site_today(site)
    patient = make_patient(site, primary_counselor=counselor)
    episode = make_episode(patient, admitted=today - timedelta(days=5), by=counselor)
    signed_treatment_plan(episode, counselor)
    signed_rp_plan(episode, counselor)
    relapse = services.relapse_record(
        episode=episode, occurred_on=today - timedelta(days=1), by=counselor, substance="Alcohol"
    )
    assert relapse.trigger.reason == TriggerReason.RELAPSE
    rows = plans_due([site.pk], today)
    assert {r.kind for r in rows} == {TREATMENT, RELAPSE_PREVENTION}
    assert all(r.reason == TriggerReason.RELAPSE and "relapse" in r.reason_label for r in rows)
    v2 = services.rp_plan_start(episode=episode, by=counselor)
    assert v2.reason == "relapse" and v2.triggers.count() == 1


def test_the_relapse_prevention_review_follows_its_review_date(site, counselor):
    today = site_today(site)
    patient = make_patient(site, primary_counselor=counselor)
    episode = make_episode(patient, admitted=today - timedelta(days=1), by=counselor)
    signed_treatment_plan(episode, counselor)
    plan = signed_rp_plan(episode, counselor)
    assert due(site, plan.review_date - timedelta(days=1), RELAPSE_PREVENTION) == []
    (row,) = due(site, plan.review_date, RELAPSE_PREVENTION)
    assert row.reason == "scheduled_review"


def test_relapse_dates_are_checked(episode, counselor):
    from django.core.exceptions import ValidationError

    today = site_today(episode.site)
    for day in (today + timedelta(days=1), episode.admission_date - timedelta(days=1), None):
        with pytest.raises(ValidationError) as exc:
            services.relapse_record(episode=episode, occurred_on=day, by=counselor)
        assert "occurred_on" in exc.value.message_dict
    assert not episode.plan_review_triggers.exists()


def test_a_clinician_sees_only_their_patients(site, counselor, make_staff):
    other = make_staff()
    today = site_today(site)
    mine = make_episode(
        make_patient(site, primary_counselor=counselor), admitted=today - timedelta(days=20), by=counselor
    )
    make_episode(make_patient(site, primary_counselor=other), admitted=today - timedelta(days=20), by=other)
    rows = plans_due([site.pk], today, counselor=counselor)
    assert {r.episode for r in rows} == {mine}
    assert len({r.episode for r in plans_due([site.pk], today)}) == 2


def test_other_sites_and_discharged_episodes_are_left_out(site, other_site, counselor):
    today = site_today(site)
    make_episode(make_patient(other_site), admitted=today - timedelta(days=20), by=counselor)
    closed = make_episode(make_patient(site), admitted=today - timedelta(days=20), by=counselor)
    closed.discharge_date, closed.discharge_type = today, "completed"
    closed.save(update_fields=["discharge_date", "discharge_type"])
    assert plans_due([site.pk], today) == []


def test_it_costs_one_query_for_1_or_20_patients(site, counselor):
    today = site_today(site)

    def add(n):
        for _ in range(n):
            episode = make_episode(make_patient(site), admitted=today - timedelta(days=40), by=counselor)
            services.plan_review_request(episode=episode, reason=TriggerReason.NEW_DIAGNOSIS, by=counselor)

    add(1)
    assert count_queries(lambda: plans_due([site.pk], today)) == 1
    add(19)
    assert count_queries(lambda: plans_due([site.pk], today)) == 1
    assert len(plans_due([site.pk], today)) == 40
