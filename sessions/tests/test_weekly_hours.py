"""Weekly IOP hours: attended clinical minutes per ISO week in the site's zone (DOMAIN.md §6)."""

from datetime import UTC, date, time, timedelta

import pytest
from django.test import override_settings

from scheduling.models import Enrollment
from sessions.selectors import ABOVE_RANGE, UNDER_MINIMUM, patient_week, per_diem_days, weekly_hours

from .conftest import MONDAY
from .factories import enroll, make_session, make_track, roll

pytestmark = pytest.mark.django_db

W41 = (2026, 41)  # MONDAY's week: Mon 5 – Sun 11 October 2026
W42 = (2026, 42)


def sessions_on(site, track, days, *, minutes=180, at=time(9)):
    return [make_session(site, track=track, day=MONDAY + timedelta(days=d), at=at, minutes=minutes) for d in days]


def test_it_counts_full_and_partial_minutes_attended(site, track, facilitator):
    ep = enroll(site, track)
    mon, wed, thu = sessions_on(site, track, [0, 2, 3])
    roll(mon, facilitator, {ep: "present"})
    roll(wed, facilitator, {ep: ("late", 120)})
    roll(thu, facilitator, {ep: ("left_early", 100)})
    week = patient_week(ep.patient, W41)
    assert week.minutes == 180 + 120 + 100
    assert week.threshold == 540
    assert UNDER_MINIMUM in week.flags


def test_absences_and_cancellations_count_zero(site, track, facilitator):
    ep = enroll(site, track)
    sessions = sessions_on(site, track, [0, 1, 2, 3, 4])
    for s, status in zip(
        sessions, ["present", "excused", "no_show", "cancelled_patient", "cancelled_program"], strict=True
    ):
        roll(s, facilitator, {ep: status})
    assert patient_week(ep.patient, W41).minutes == 180


def test_telehealth_counts_and_nine_hours_meets_the_adult_minimum(site, track, facilitator):
    ep = enroll(site, track)
    mon, wed, thu = sessions_on(site, track, [0, 2, 3])
    roll(mon, facilitator, {ep: "present"})
    roll(wed, facilitator, {ep: "telehealth"})
    roll(thu, facilitator, {ep: "present"})
    week = patient_week(ep.patient, W41)
    assert week.minutes == 540 and week.flags == []


def test_mutual_help_is_never_counted(site, track, facilitator):
    # Mutual-help meetings are patient-reported activity, never attendance rows: a week with
    # only those (nothing in this table) has 0 clinical minutes and is under the minimum.
    ep = enroll(site, track)
    week = patient_week(ep.patient, W41)
    assert week.minutes == 0
    assert week.flags == [UNDER_MINIMUM]


def test_a_transition_taper_suppresses_the_under_minimum_flag(site, track, facilitator):
    ep = enroll(site, track, is_taper=True)
    (mon,) = sessions_on(site, track, [0])
    roll(mon, facilitator, {ep: "present"})
    week = patient_week(ep.patient, W41)
    assert week.is_taper and week.minutes == 180
    assert UNDER_MINIMUM not in week.flags


def test_the_taper_applies_only_to_weeks_it_covers(site, track, facilitator):
    ep = enroll(site, track)
    Enrollment.objects.filter(episode=ep).update(end_date=MONDAY + timedelta(days=6))
    Enrollment.objects.create(track=track, episode=ep, start_date=MONDAY + timedelta(days=7), is_taper=True)
    result = {(w.iso_year, w.week): w for w in weekly_hours([ep.patient.pk], [W41, W42])[ep.patient.pk]}
    assert UNDER_MINIMUM in result[W41].flags
    assert UNDER_MINIMUM not in result[W42].flags


def test_the_adolescent_threshold_is_six_hours(site, facilitator):
    teen_track = make_track(site, age_group="adolescent")
    ep = enroll(site, teen_track, dob=date(2011, 3, 1))
    mon, wed = sessions_on(site, teen_track, [0, 2])
    roll(mon, facilitator, {ep: "present"})
    roll(wed, facilitator, {ep: "present"})
    week = patient_week(ep.patient, W41)
    assert week.threshold == 360 and week.minutes == 360 and week.flags == []


def test_twenty_hours_or_more_is_flagged_above_the_iop_range(site, track, facilitator):
    ep = enroll(site, track)
    for s in sessions_on(site, track, [0, 1, 2, 3, 4], minutes=240):
        roll(s, facilitator, {ep: "present"})
    week = patient_week(ep.patient, W41)
    assert week.minutes == 1200 and ABOVE_RANGE in week.flags


def test_an_evening_session_counts_in_the_sites_local_day_and_week(site, track, facilitator):
    # Sunday 11 October 21:00 in New York is Monday 12 October 01:00 UTC: ISO week 42 in UTC,
    # but the clinic's Sunday, so week 41.
    ep = enroll(site, track)
    (sunday,) = sessions_on(site, track, [6], at=time(21), minutes=120)
    assert sunday.starts_at.astimezone(UTC).date() == MONDAY + timedelta(days=7)
    roll(sunday, facilitator, {ep: "present"})
    result = {(w.iso_year, w.week): w for w in weekly_hours([ep.patient.pk], [W41, W42])[ep.patient.pk]}
    assert result[W41].minutes == 120
    assert result[W41].days[0].day == MONDAY + timedelta(days=6)
    assert result[W42].minutes == 0


def test_iso_week_boundaries_split_sunday_from_monday(site, track, facilitator):
    ep = enroll(site, track)
    sunday, monday = sessions_on(site, track, [6, 7], minutes=60)
    roll(sunday, facilitator, {ep: "present"})
    roll(monday, facilitator, {ep: "present"})
    result = {(w.iso_year, w.week): w.minutes for w in weekly_hours([ep.patient.pk], [W41, W42])[ep.patient.pk]}
    assert result == {W41: 60, W42: 60}


def test_iso_week_one_can_start_in_december(site, facilitator):
    track = make_track(site, start_date=date(2025, 12, 1))
    ep = enroll(site, track, start=date(2025, 12, 1))
    # Monday 29 December 2025 belongs to ISO week 1 of 2026.
    s = make_session(site, track=track, day=date(2025, 12, 29), minutes=90)
    roll(s, facilitator, {ep: "present"})
    assert patient_week(ep.patient, (2026, 1)).minutes == 90
    assert patient_week(ep.patient, (2025, 52)).minutes == 0


def test_several_patients_in_a_fixed_number_of_queries(site, track, facilitator, django_assert_max_num_queries):
    episodes = [enroll(site, track) for _ in range(6)]
    (mon,) = sessions_on(site, track, [0])
    roll(mon, facilitator, {ep: "present" for ep in episodes})
    with django_assert_max_num_queries(4):
        result = weekly_hours([ep.patient.pk for ep in episodes], [W41, W42])
    assert all(result[ep.patient.pk][0].minutes == 180 for ep in episodes)


@override_settings(PER_DIEM_MIN_MINUTES=180)
def test_per_diem_days_need_the_configured_minutes(site, track, facilitator):
    ep = enroll(site, track)
    mon, tue, wed = sessions_on(site, track, [0, 1, 2])
    roll(mon, facilitator, {ep: "present"})  # 180: eligible
    roll(tue, facilitator, {ep: ("late", 179)})  # one short
    extra = make_session(site, track=track, day=MONDAY + timedelta(days=2), at=time(13), minutes=60)
    roll(wed, facilitator, {ep: ("left_early", 120)})
    roll(extra, facilitator, {ep: "present"})  # 120 + 60 on Wednesday: eligible
    days = per_diem_days(ep.patient, MONDAY, MONDAY + timedelta(days=6))
    assert [d.day for d in days] == [MONDAY, MONDAY + timedelta(days=2)]


@override_settings(PER_DIEM_MIN_MINUTES=240)
def test_the_per_diem_minimum_is_configurable(site, track, facilitator):
    ep = enroll(site, track)
    (mon,) = sessions_on(site, track, [0])
    roll(mon, facilitator, {ep: "present"})
    assert per_diem_days(ep.patient, MONDAY, MONDAY) == []
