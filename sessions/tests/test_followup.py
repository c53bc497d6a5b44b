"""Missed-session follow-up (DOMAIN.md §6): configurable thresholds, proposals only."""

from datetime import date, datetime, time, timedelta

import pytest

from notifications.models import Alert, AlertKind
from patients.models import Episode, site_today
from plans.models import PlanReviewTrigger, TriggerReason
from plans.tests.helpers import signed_treatment_plan
from scheduling.models import Enrollment
from sessions.models import Attendance, FollowUpPolicy
from sessions.services import (
    ENGAGEMENT_NOTES,
    contact_attempt_record,
    followup_check_contact,
    followup_check_week,
    followup_sweep,
)

from .conftest import MONDAY
from .factories import enroll, make_session, roll

pytestmark = pytest.mark.django_db


def titles(patient) -> list[str]:
    """Alert titles about the run of absences (these sessions lie in a past week, so the weekly
    share is checked too as the roll is taken; that rule has tests of its own)."""
    alerts = Alert.objects.filter(patient=patient).exclude(title_code="ATTENDANCE_UNDER_WEEKLY")
    return sorted(alerts.values_list("title_code", flat=True))


def series(site, track, n, *, start=MONDAY):
    return [make_session(site, track=track, day=start + timedelta(days=d), at=time(9)) for d in range(n)]


@pytest.fixture
def patient_ep(site, track, facilitator):
    return enroll(site, track, counselor=facilitator)


def test_each_no_show_creates_an_outreach_task_for_the_primary_counselor(
    site, track, facilitator, make_staff, patient_ep
):
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "no_show"})
    alert = Alert.objects.get(patient=patient_ep.patient, title_code="NO_SHOW")
    assert alert.kind == AlertKind.NO_SHOW and alert.title_code == "NO_SHOW"
    assert list(alert.recipients.all()) == [facilitator]
    assert alert.target_url.startswith("/sessions/followups/attendance/")


def test_recording_the_same_no_show_again_raises_nothing_new(site, track, facilitator, patient_ep):
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "no_show"})
    roll(s, facilitator, {patient_ep: "no_show"})
    assert titles(patient_ep.patient) == ["NO_SHOW"]


def test_two_consecutive_no_shows_raise_a_clinician_review(site, track, facilitator, patient_ep):
    s1, s2 = series(site, track, 2)
    roll(s1, facilitator, {patient_ep: "no_show"})
    assert titles(patient_ep.patient) == ["NO_SHOW"]
    roll(s2, facilitator, {patient_ep: "no_show"})
    assert titles(patient_ep.patient) == ["NO_SHOW", "NO_SHOW", "NO_SHOWS_CONSECUTIVE"]


def test_an_attended_session_breaks_the_run(site, track, facilitator, patient_ep):
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "present"})
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert "NO_SHOWS_CONSECUTIVE" not in titles(patient_ep.patient)


def test_three_unexcused_absences_propose_a_discharge_review_and_never_discharge(site, track, facilitator, patient_ep):
    # DOMAIN.md §6: a no-show is an unexcused absence, and so is a cancellation by the patient
    # flagged as a late cancel (a timely one is not: see the next test).
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: ("cancelled_patient", None, True)})
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert "DISCHARGE_REVIEW_ABSENCES" in titles(patient_ep.patient)
    episode = Episode.objects.get(pk=patient_ep.pk)
    assert episode.discharge_date is None and episode.discharge_type == ""


def test_a_timely_cancellation_by_the_patient_is_not_an_unexcused_absence(site, track, facilitator, patient_ep):
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "cancelled_patient"})
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert "DISCHARGE_REVIEW_ABSENCES" not in titles(patient_ep.patient)


def test_a_late_cancellation_recorded_last_completes_the_run(site, track, facilitator, patient_ep):
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "no_show"})
    roll(s3, facilitator, {patient_ep: ("cancelled_patient", None, True)})
    alert = Alert.objects.get(patient=patient_ep.patient, title_code="DISCHARGE_REVIEW_ABSENCES")
    assert alert.object_id == str(Attendance.objects.get(session=s3).public_id)
    # A late cancellation is not a no-show: no same-day outreach task of its own.
    assert titles(patient_ep.patient).count("NO_SHOW") == 2


def test_program_cancellations_neither_count_nor_break_a_run(site, track, facilitator, patient_ep):
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "cancelled_program"})
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert "NO_SHOWS_CONSECUTIVE" in titles(patient_ep.patient)


def test_a_roll_entered_out_of_order_completes_the_run_on_either_side(site, track, facilitator, patient_ep):
    s1, s2, s3 = series(site, track, 3)
    roll(s3, facilitator, {patient_ep: "no_show"})
    roll(s1, facilitator, {patient_ep: "no_show"})  # a late roll: consecutive with Wednesday's as recorded
    assert titles(patient_ep.patient) == ["NO_SHOW", "NO_SHOW", "NO_SHOWS_CONSECUTIVE"]
    roll(s2, facilitator, {patient_ep: "no_show"})  # fills the gap: one run of three, one review for it
    assert titles(patient_ep.patient) == [
        "DISCHARGE_REVIEW_ABSENCES",
        "NO_SHOW",
        "NO_SHOW",
        "NO_SHOW",
        "NO_SHOWS_CONSECUTIVE",
    ]


def test_each_review_is_raised_once_per_run(site, track, facilitator, patient_ep):
    sessions = series(site, track, 4)
    for s in sessions:
        roll(s, facilitator, {patient_ep: "no_show"})
    found = titles(patient_ep.patient)
    assert (found.count("NO_SHOWS_CONSECUTIVE"), found.count("DISCHARGE_REVIEW_ABSENCES")) == (1, 1)
    assert found.count("NO_SHOW") == 4


def test_a_run_of_an_earlier_episode_does_not_carry_over(site, track, facilitator, patient_ep):
    (s1,) = series(site, track, 1)
    roll(s1, facilitator, {patient_ep: "no_show"})
    Episode.objects.filter(pk=patient_ep.pk).update(
        discharge_date=MONDAY + timedelta(days=1), discharge_type="administrative"
    )
    readmitted = enroll(site, track, start=MONDAY + timedelta(days=2), counselor=facilitator)
    Episode.objects.filter(pk=readmitted.pk).update(patient=patient_ep.patient)
    readmitted.refresh_from_db()
    Enrollment.objects.filter(episode=patient_ep).update(end_date=MONDAY + timedelta(days=1))
    (s2,) = series(site, track, 1, start=MONDAY + timedelta(days=2))
    roll(s2, facilitator, {readmitted: "no_show"})
    assert titles(patient_ep.patient) == ["NO_SHOW", "NO_SHOW"]


def test_excused_absences_do_not_count_toward_the_run(site, track, facilitator, patient_ep):
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "excused"})
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert titles(patient_ep.patient) == ["NO_SHOW", "NO_SHOW"]


def test_thresholds_are_configurable_per_site(site, track, facilitator, patient_ep):
    FollowUpPolicy.objects.create(
        site=site, consecutive_no_shows_for_review=3, consecutive_absences_for_discharge_review=4
    )
    s1, s2, s3 = series(site, track, 3)
    for s in (s1, s2):
        roll(s, facilitator, {patient_ep: "no_show"})
    assert "NO_SHOWS_CONSECUTIVE" not in titles(patient_ep.patient)
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert "NO_SHOWS_CONSECUTIVE" in titles(patient_ep.patient)
    assert "DISCHARGE_REVIEW_ABSENCES" not in titles(patient_ep.patient)


def test_under_75_percent_of_scheduled_minutes_in_a_week_raises_a_review(site, track, facilitator, patient_ep):
    mon, wed, thu = (make_session(site, track=track, day=MONDAY + timedelta(days=d)) for d in (0, 2, 3))
    roll(mon, facilitator, {patient_ep: "present"})
    roll(wed, facilitator, {patient_ep: "present"})
    roll(thu, facilitator, {patient_ep: ("late", 44)})  # 404 of 540 = 74.8 %
    alert = Alert.objects.get(patient=patient_ep.patient, title_code="ATTENDANCE_UNDER_WEEKLY")
    assert alert.object_id == f"{patient_ep.patient.public_id}:2026-W41"


def test_75_percent_exactly_is_enough(site, track, facilitator, patient_ep):
    mon, wed, thu = (make_session(site, track=track, day=MONDAY + timedelta(days=d)) for d in (0, 2, 3))
    roll(mon, facilitator, {patient_ep: "present"})
    roll(wed, facilitator, {patient_ep: "present"})
    roll(thu, facilitator, {patient_ep: ("late", 45)})  # 405 of 540 = 75 %
    assert followup_check_week(patient=patient_ep.patient, site=site, week=(2026, 41)) is None


def test_program_cancellations_are_not_scheduled_hours_the_patient_missed(site, track, facilitator, patient_ep):
    mon, wed = (make_session(site, track=track, day=MONDAY + timedelta(days=d)) for d in (0, 2))
    roll(mon, facilitator, {patient_ep: "present"})
    roll(wed, facilitator, {patient_ep: "cancelled_program"})
    assert followup_check_week(patient=patient_ep.patient, site=site, week=(2026, 41)) is None


def outreach(patient, by, day, outcome="no_answer"):
    return contact_attempt_record(
        patient=patient,
        by=by,
        attempted_at=datetime.combine(day, time(11), tzinfo=patient.site.zone),
        channel="phone",
        outcome=outcome,
        note="Called; see outcome.",
    )


def test_fourteen_days_without_contact_after_outreach_proposes_a_discharge_review(site, track, facilitator, patient_ep):
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "present"})
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=3))
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=6), outcome="left_message")
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=13)) is None
    alert = followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=14))
    assert alert.title_code == "DISCHARGE_REVIEW_NO_CONTACT"
    assert alert.object_id == f"{patient_ep.patient.public_id}:{MONDAY.isoformat()}"
    assert Episode.objects.get(pk=patient_ep.pk).discharge_date is None


def test_without_outreach_the_counselor_is_asked_to_reach_out_first(site, track, facilitator, patient_ep):
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "present"})
    day = MONDAY + timedelta(days=20)
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=day) is None
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=day) is None  # raised once
    task = Alert.objects.get(patient=patient_ep.patient, title_code="NO_CONTACT_OUTREACH")
    assert list(task.recipients.all()) == [facilitator]
    assert task.target_url.startswith("/sessions/")
    assert not Alert.objects.filter(title_code="DISCHARGE_REVIEW_NO_CONTACT").exists()
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=19))
    alert = followup_check_contact(patient=patient_ep.patient, site=site, today=day)
    assert alert.title_code == "DISCHARGE_REVIEW_NO_CONTACT"


def test_outreach_that_reaches_the_patient_is_contact(site, track, facilitator, patient_ep):
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "present"})
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=10), outcome="reached")
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=23)) is None
    assert not Alert.objects.filter(patient=patient_ep.patient).exclude(title_code="ATTENDANCE_UNDER_WEEKLY")
    # 14 days after the call, and outreach tried since: the review, counted from the call.
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=17))
    alert = followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=24))
    assert alert.object_id == f"{patient_ep.patient.public_id}:{(MONDAY + timedelta(days=10)).isoformat()}"


def test_the_no_contact_days_and_outreach_attempts_are_configurable(site, track, facilitator, patient_ep):
    FollowUpPolicy.objects.create(site=site, days_without_contact=7, outreach_attempts_for_discharge_review=2)
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "present"})
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=2))
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=7)) is None
    outreach(patient_ep.patient, facilitator, MONDAY + timedelta(days=4), outcome="left_message")
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=7))


def test_the_daily_sweep_is_safe_to_run_twice(site, track, facilitator, patient_ep):
    mon, wed = (make_session(site, track=track, day=MONDAY + timedelta(days=d)) for d in (0, 2))
    roll(mon, facilitator, {patient_ep: "present"})
    roll(wed, facilitator, {patient_ep: "excused"})
    today = {site.pk: MONDAY + timedelta(days=8)}  # the next week's Tuesday: W41 is last week
    first = followup_sweep(today_by_site=today)
    again = followup_sweep(today_by_site=today)
    assert first["weeks"] == 1 and again["weeks"] == 1  # found again, raised once
    assert Alert.objects.filter(title_code="ATTENDANCE_UNDER_WEEKLY").count() == 1
    assert date(2026, 10, 13) == MONDAY + timedelta(days=8)


# --- Engagement on the treatment plan (DOMAIN.md §6: "… clinician review and a note on the
# treatment-plan problem list (engagement)") ----------------------------------------------------


def engagement_requests(episode, title_code=None):
    """The episode's engagement review requests (of one follow-up rule, when given). These
    sessions lie in a past week, so each roll also checks that week's attended share."""
    found = PlanReviewTrigger.objects.filter(episode=episode, reason=TriggerReason.ENGAGEMENT)
    if title_code is not None:
        found = found.filter(note=ENGAGEMENT_NOTES[title_code])
    return list(found)


def test_consecutive_no_shows_request_a_plan_review_for_engagement_once_per_run(
    site, track, facilitator, supervisor, patient_ep
):
    signed_treatment_plan(patient_ep, facilitator, supervisor)
    sessions = series(site, track, 3)
    roll(sessions[0], facilitator, {patient_ep: "no_show"})
    assert engagement_requests(patient_ep, "NO_SHOWS_CONSECUTIVE") == []
    roll(sessions[1], facilitator, {patient_ep: "no_show"})
    roll(sessions[2], facilitator, {patient_ep: "no_show"})
    roll(sessions[2], facilitator, {patient_ep: "no_show"})  # the same roll saved again
    (request,) = engagement_requests(patient_ep, "NO_SHOWS_CONSECUTIVE")
    assert request.requested_by == facilitator
    # PHI-free: no name, no record number.
    patient = patient_ep.patient
    assert not {patient.legal_first_name, patient.legal_last_name, patient.mrn} & set(request.note.split())


def test_under_the_weekly_share_requests_a_plan_review_and_the_sweep_adds_no_other(
    site, track, facilitator, supervisor, patient_ep
):
    signed_treatment_plan(patient_ep, facilitator, supervisor)
    mon, wed = (make_session(site, track=track, day=MONDAY + timedelta(days=d)) for d in (0, 2))
    roll(mon, facilitator, {patient_ep: "present"})
    roll(wed, facilitator, {patient_ep: "excused"})
    assert [r.note for r in engagement_requests(patient_ep)] == [ENGAGEMENT_NOTES["ATTENDANCE_UNDER_WEEKLY"]]
    today = {site.pk: MONDAY + timedelta(days=8)}
    followup_sweep(today_by_site=today)
    followup_sweep(today_by_site=today)
    assert len(engagement_requests(patient_ep)) == 1


def test_the_plan_review_reads_engagement_in_the_plans_due(site, track, facilitator, supervisor, patient_ep):
    from plans.selectors import TREATMENT, plans_due

    signed_treatment_plan(patient_ep, facilitator, supervisor)
    s1, s2 = series(site, track, 2)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "no_show"})
    (row,) = [r for r in plans_due([site.pk], site_today(site)) if r.kind == TREATMENT]
    assert row.reason == TriggerReason.ENGAGEMENT and "engagement" in row.reason_label.lower()
