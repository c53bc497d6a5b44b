"""Missed-session follow-up (DOMAIN.md §6): configurable thresholds, proposals only."""

from datetime import date, time, timedelta

import pytest

from notifications.models import Alert, AlertKind
from patients.models import Episode
from sessions.models import FollowUpPolicy
from sessions.services import followup_check_contact, followup_check_week, followup_sweep

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
    s1, s2, s3 = series(site, track, 3)
    roll(s1, facilitator, {patient_ep: "no_show"})
    roll(s2, facilitator, {patient_ep: "cancelled_patient"})
    roll(s3, facilitator, {patient_ep: "no_show"})
    assert "DISCHARGE_REVIEW_ABSENCES" in titles(patient_ep.patient)
    episode = Episode.objects.get(pk=patient_ep.pk)
    assert episode.discharge_date is None and episode.discharge_type == ""


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


def test_fourteen_days_without_an_attended_session_proposes_a_discharge_review(site, track, facilitator, patient_ep):
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "present"})
    assert followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=13)) is None
    alert = followup_check_contact(patient=patient_ep.patient, site=site, today=MONDAY + timedelta(days=14))
    assert alert.title_code == "DISCHARGE_REVIEW_NO_CONTACT"
    assert Episode.objects.get(pk=patient_ep.pk).discharge_date is None


def test_the_no_contact_days_are_configurable(site, track, facilitator, patient_ep):
    FollowUpPolicy.objects.create(site=site, days_without_contact=7)
    (s,) = series(site, track, 1)
    roll(s, facilitator, {patient_ep: "present"})
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
