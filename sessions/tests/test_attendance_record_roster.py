from datetime import time

import pytest
from django.core.exceptions import ValidationError

from audit.models import Action, AuditEvent
from sessions.models import Attendance, AttendanceStatus
from sessions.services import RosterErrors, RowInput, attendance_record_roster

from .conftest import MONDAY
from .factories import enroll, make_session, roll

pytestmark = pytest.mark.django_db


def test_it_saves_the_whole_roll_with_default_and_partial_minutes(group, facilitator):
    a, b, c = group.episodes
    saved = roll(group, facilitator, {a: "present", b: ("late", 150), c: "no_show"})
    by_patient = {x.patient_id: x for x in saved}
    assert by_patient[a.patient_id].minutes_attended == 180
    assert by_patient[b.patient_id].minutes_attended == 150
    assert by_patient[c.patient_id].minutes_attended == 0
    assert Attendance.objects.filter(session=group).count() == 3


def test_it_forces_zero_minutes_for_absences_whatever_was_typed(group, facilitator):
    a, b, c = group.episodes
    roll(group, facilitator, {a: ("excused", 90), b: ("cancelled_program", 180), c: ("cancelled_patient", 30)})
    assert set(Attendance.objects.values_list("minutes_attended", flat=True)) == {0}


def test_it_requires_the_minutes_for_partial_attendance(group, facilitator):
    a, b, _ = group.episodes
    with pytest.raises(RosterErrors) as exc:
        roll(group, facilitator, {a: "present", b: "left_early"})
    assert 1 in exc.value.row_errors and "minutes" in exc.value.row_errors[1]


def test_it_saves_nothing_when_one_row_is_invalid(group, facilitator):
    a, b, c = group.episodes
    with pytest.raises(RosterErrors) as exc:
        roll(group, facilitator, {a: "present", b: ("late", 500), c: "no_show"})
    assert list(exc.value.row_errors) == [1]
    assert not Attendance.objects.exists()


def test_it_refuses_a_patient_not_on_the_roster(site, group, facilitator, track):
    stranger = enroll(site, track, start=MONDAY.replace(day=20))  # enrolled after the session
    with pytest.raises(RosterErrors):
        roll(group, facilitator, {stranger: "present"})


def test_late_cancel_is_kept_only_for_a_patient_cancellation(group, facilitator):
    a, b, _ = group.episodes
    attendance_record_roster(
        session=group,
        rows=[
            RowInput(patient=a.patient, status="cancelled_patient", late_cancel=True),
            RowInput(patient=b.patient, status="present", late_cancel=True),
        ],
        by=facilitator,
    )
    flags = dict(Attendance.objects.values_list("patient_id", "late_cancel"))
    assert flags == {a.patient_id: True, b.patient_id: False}


def test_a_second_roll_updates_changed_rows_and_audits_before_after(group, facilitator):
    a, b, c = group.episodes
    roll(group, facilitator, {a: "present", b: "present", c: "present"})
    roll(group, facilitator, {a: "present", b: ("left_early", 60), c: "present"})
    assert Attendance.objects.get(patient=b.patient).status == AttendanceStatus.LEFT_EARLY
    update = AuditEvent.objects.filter(action=Action.UPDATE, object_type="clinical_sessions.Attendance").get()
    assert update.changes["before"]["status"] == "present"
    assert update.changes["after"] == {"status": "left_early", "minutes_attended": 60, "late_cancel": False}


def test_it_refuses_a_cancelled_session(group, facilitator):
    group.status, group.cancel_reason = "cancelled", "staff"
    group.save(update_fields=["status", "cancel_reason"])
    with pytest.raises(ValidationError):
        roll(group, facilitator, {group.episodes[0]: "present"})


def test_it_refuses_a_future_session(site, track, facilitator):
    from datetime import date

    future = make_session(site, track=track, day=date(2099, 1, 5), at=time(9))
    with pytest.raises(ValidationError):
        roll(future, facilitator, {})


def test_the_database_refuses_minutes_on_an_absence(group, facilitator):
    from django.db import IntegrityError

    roll(group, facilitator, {group.episodes[0]: "no_show"})
    with pytest.raises(IntegrityError):
        Attendance.objects.filter(session=group).update(minutes_attended=30)
