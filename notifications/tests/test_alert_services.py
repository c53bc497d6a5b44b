"""alert_raise and alert_acknowledge."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from audit.models import Action, AuditEvent
from notifications.models import Alert, AlertAction, AlertKind, NeverDeleted, Severity
from notifications.services import alert_acknowledge, alert_raise, responsible_clinicians
from users.models import Role


def _raise(patient, **kw):
    return alert_raise(
        site=patient.site,
        kind=AlertKind.SAFETY,
        severity=Severity.CRITICAL,
        title_code="PHQ9_ITEM9",
        patient=patient,
        object_type="assessments.AssessmentResponse",
        object_id="7b0c7a3e-0000-4000-8000-000000000001",
        **kw,
    )


def test_it_addresses_the_counselor_and_the_site_supervisors(patient, counselor, make_staff, other_site):
    supervisor = make_staff(Role.SUPERVISOR)
    make_staff(Role.CLINICIAN)  # another counselor: not told
    make_staff(Role.SUPERVISOR, at=other_site)  # another site's supervisor: not told
    alert = _raise(patient)
    assert set(alert.recipients.all()) == {counselor, supervisor}


def test_it_falls_back_to_every_counselor_when_nobody_is_responsible(site, make_staff):
    a, b = make_staff(Role.CLINICIAN), make_staff(Role.CLINICIAN)
    assert set(responsible_clinicians(site=site)) == {a, b}


def test_raising_twice_for_the_same_record_gives_one_alert(patient):
    first, second = _raise(patient), _raise(patient)
    assert first.pk == second.pk
    assert Alert.objects.count() == 1


def test_raising_is_audited(patient, counselor):
    alert = _raise(patient, by=counselor)
    event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(alert.public_id))
    assert event.patient_ref == str(patient.public_id)
    assert event.changes["after"]["title_code"] == "PHQ9_ITEM9"


def test_acknowledging_records_who_when_and_what(patient, counselor):
    alert = _raise(patient)
    alert = alert_acknowledge(
        alert=alert, by=counselor, action_taken=AlertAction.SAFETY_PLAN, action_note="  Safety plan reviewed.  "
    )
    alert.refresh_from_db()
    assert alert.acknowledged_by == counselor
    assert alert.acknowledged_at is not None
    assert alert.action_taken == AlertAction.SAFETY_PLAN
    assert alert.action_note == "Safety plan reviewed."
    event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(alert.public_id))
    assert event.changes["before"]["acknowledged_at"] is None
    assert event.changes["after"]["action_taken"] == "safety_plan"


@pytest.mark.parametrize(
    ("action", "note", "field"),
    [("", "did things", "action_taken"), ("bogus", "did things", "action_taken"), ("other", "   ", "action_note")],
)
def test_acknowledging_requires_an_action_and_a_note(patient, counselor, action, note, field):
    alert = _raise(patient)
    with pytest.raises(ValidationError) as exc:
        alert_acknowledge(alert=alert, by=counselor, action_taken=action, action_note=note)
    assert field in exc.value.message_dict
    alert.refresh_from_db()
    assert alert.is_open


def test_an_alert_is_acknowledged_once(patient, counselor):
    alert = _raise(patient)
    alert_acknowledge(alert=alert, by=counselor, action_taken="other", action_note="Called the patient.")
    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alert, by=counselor, action_taken="other", action_note="Again.")


def test_a_director_cannot_acknowledge(patient, make_staff):
    alert = _raise(patient)
    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alert, by=make_staff(Role.DIRECTOR), action_taken="other", action_note="x")
    alert.refresh_from_db()
    assert alert.is_open


def test_alerts_are_never_deleted(patient):
    alert = _raise(patient)
    with pytest.raises(NeverDeleted):
        alert.delete()
    with pytest.raises(NeverDeleted):
        Alert.objects.all().delete()
