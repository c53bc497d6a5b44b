"""Due dates: initial plan after admission, a review 30 days after signing, and a review due
now after a level-of-care change or a relapse, until a version is signed after it."""

from datetime import timedelta

import pytest

from patients.models import site_today
from plans import services
from plans.models import TriggerReason
from plans.selectors import (
    RELAPSE_PREVENTION,
    TREATMENT,
    episodes_with_plan_status,
    open_episodes,
    plan_due_by,
    plans_due,
    with_plan_status,
)

from .helpers import (
    count_queries,
    fill_plan_text,
    fill_treatment_plan,
    make_episode,
    make_patient,
    signed_rp_plan,
    signed_treatment_plan,
)

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


STATUS_ATTRIBUTES = [
    f"{prefix}_{name}"
    for prefix, names in (
        ("tp", ("signed_on", "signed_at", "unsigned", "trigger_on", "trigger_reason")),
        ("rp", ("signed_on", "signed_at", "review_date", "unsigned", "trigger_on", "trigger_reason")),
    )
    for name in names
]


def test_with_plan_status_reads_what_the_annotations_read(site, counselor, make_staff, settings):
    """The caseload's three plain reads give every episode the values of the eleven annotated
    subqueries, in each state a plan goes through, and the same due verdict for any day."""
    today = site_today(site)
    supervisor = make_staff("supervisor")

    def episode(days_ago=10):
        return make_episode(
            make_patient(site, primary_counselor=counselor), admitted=today - timedelta(days=days_ago), by=counselor
        )

    episode()  # nothing written yet
    episode(days_ago=40)  # initial plans overdue
    signed_treatment_plan(episode(), counselor)
    with_draft = episode()
    signed_treatment_plan(with_draft, counselor)
    services.treatment_plan_start(episode=with_draft, by=counselor)  # v2 being written
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = True
    awaiting = episode()
    plan = services.treatment_plan_start(episode=awaiting, by=counselor)
    fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    services.treatment_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    both = episode()
    signed_treatment_plan(both, counselor)
    signed_rp_plan(both, counselor)
    services.rp_plan_start(episode=both, by=counselor)  # a relapse-prevention draft too
    # A review request before the signatures is answered by them; later ones are open, first one wins.
    answered = episode()
    services.plan_review_request(episode=answered, reason=TriggerReason.NEW_DIAGNOSIS, by=counselor)
    signed_treatment_plan(answered, counselor)
    signed_rp_plan(answered, counselor)
    reopened = episode()
    signed_treatment_plan(reopened, counselor)
    signed_rp_plan(reopened, counselor)
    services.plan_review_request(episode=reopened, reason=TriggerReason.HOSPITALISATION, by=counselor)
    services.plan_review_request(episode=reopened, reason=TriggerReason.NEW_DIAGNOSIS, by=counselor)
    half = episode()
    signed_rp_plan(half, counselor)
    services.plan_review_request(episode=half, reason=TriggerReason.LEVEL_OF_CARE_CHANGE, by=counselor)
    signed_treatment_plan(half, counselor, supervisor)

    annotated = {e.pk: e for e in episodes_with_plan_status([site.pk])}
    read = {e.pk: e for e in with_plan_status(open_episodes([site.pk]))}
    assert annotated.keys() == read.keys() and len(read) == 9
    for pk, expected in annotated.items():
        assert {a: getattr(read[pk], a) for a in STATUS_ATTRIBUTES} == {
            a: getattr(expected, a) for a in STATUS_ATTRIBUTES
        }, pk
    assert read[awaiting.pk].tp_unsigned == "awaiting_cosign" and read[with_draft.pk].tp_unsigned == "draft"
    assert read[reopened.pk].tp_trigger_reason == TriggerReason.HOSPITALISATION
    assert read[answered.pk].tp_trigger_on is None and read[half.pk].rp_trigger_on is not None
    for day in (today, today + timedelta(days=29), today + timedelta(days=31), today + timedelta(days=60)):
        due_ids = {r.episode.pk for r in plans_due([site.pk], day)}
        assert {pk for pk, e in read.items() if plan_due_by(e, day)} == due_ids, day


def test_with_plan_status_costs_three_queries_for_1_or_20_episodes(site, counselor):
    today = site_today(site)

    def add(n):
        for _ in range(n):
            episode = make_episode(make_patient(site), admitted=today - timedelta(days=40), by=counselor)
            signed_treatment_plan(episode, counselor)
            services.plan_review_request(episode=episode, reason=TriggerReason.NEW_DIAGNOSIS, by=counselor)

    add(1)
    episodes = list(open_episodes([site.pk]))
    assert count_queries(lambda: with_plan_status(episodes)) == 3
    add(19)
    episodes = list(open_episodes([site.pk]))
    assert count_queries(lambda: with_plan_status(episodes)) == 3
    assert all(e.tp_trigger_reason == TriggerReason.NEW_DIAGNOSIS for e in with_plan_status(episodes))
