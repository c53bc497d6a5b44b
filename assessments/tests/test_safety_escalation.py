"""Safety escalation: PHQ-9 item 9 and C-SSRS moderate/high raise one alert that must be acknowledged."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from assessments import services
from assessments.models import ResponseStatus
from notifications.models import Alert, AlertKind, Severity
from notifications.services import alert_acknowledge
from users.models import Role

from .answers import CSSRS_HIGH, CSSRS_MODERATE, CSSRS_NONE, PHQ9_CLEAN, PHQ9_ITEM9


@pytest.fixture
def supervisor(make_staff):
    return make_staff(Role.SUPERVISOR)


def test_item9_raises_exactly_one_alert_for_the_counselor_and_supervisors(patient, counselor, supervisor, make_staff):
    bystander = make_staff(Role.CLINICIAN)
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_ITEM9, by=counselor)
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.SAFETY
    assert alert.severity == Severity.CRITICAL
    assert alert.title_code == "PHQ9_ITEM9"
    assert alert.patient == patient
    assert (alert.object_type, alert.object_id) == ("assessments.AssessmentResponse", str(response.public_id))
    assert set(alert.recipients.all()) == {counselor, supervisor}
    assert bystander not in alert.recipients.all()


def test_item9_raises_the_alert_whatever_the_total(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=[0] * 8 + [1], by=counselor)
    assert Alert.objects.count() == 1


def test_no_alert_without_item9(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    assert not Alert.objects.exists()


def test_the_response_cannot_be_closed_until_the_alert_is_acknowledged(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_ITEM9, by=counselor)
    with pytest.raises(ValidationError) as exc:
        services.assessment_close(response=response, by=counselor)
    assert "acknowledge" in str(exc.value).lower()
    response.refresh_from_db()
    assert response.status == ResponseStatus.OPEN

    alert_acknowledge(
        alert=Alert.objects.get(), by=counselor, action_taken="cssrs_administered", action_note="C-SSRS done: low."
    )
    services.assessment_close(response=response, by=counselor)
    response.refresh_from_db()
    assert response.status == ResponseStatus.CLOSED
    assert response.closed_by == counselor


def test_acknowledging_requires_action_text(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_ITEM9, by=counselor)
    with pytest.raises(ValidationError) as exc:
        alert_acknowledge(alert=Alert.objects.get(), by=counselor, action_taken="safety_plan", action_note="")
    assert "action_note" in exc.value.message_dict
    assert Alert.objects.get().is_open


def test_cssrs_moderate_raises_an_alert_without_imminent_danger(patient, counselor):
    response = services.assessment_record(
        patient=patient, instrument_code="C-SSRS", answers=CSSRS_MODERATE, by=counselor
    )
    alert = Alert.objects.get()
    assert alert.title_code == "CSSRS_MODERATE"
    assert alert.severity == Severity.HIGH
    assert response.imminent_danger is False
    assert response.status == ResponseStatus.OPEN


def test_cssrs_high_raises_a_critical_alert_and_sets_imminent_danger(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="C-SSRS", answers=CSSRS_HIGH, by=counselor)
    alert = Alert.objects.get()
    assert alert.title_code == "CSSRS_HIGH"
    assert alert.severity == Severity.CRITICAL
    assert response.imminent_danger is True
    assert services.placement_suggestions(patient)["imminent_danger"] is True


def test_cssrs_without_risk_raises_nothing(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="C-SSRS", answers=CSSRS_NONE, by=counselor)
    assert not Alert.objects.exists()


def test_a_later_cssrs_without_risk_clears_the_danger_suggestion(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="C-SSRS", answers=CSSRS_HIGH, by=counselor)
    services.assessment_record(patient=patient, instrument_code="C-SSRS", answers=CSSRS_NONE, by=counselor)
    assert services.placement_suggestions(patient)["imminent_danger"] is False


def test_an_intake_coordinator_recording_item9_alerts_clinicians(patient, counselor, make_staff):
    intake = make_staff(Role.INTAKE)
    services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_ITEM9, by=intake)
    alert = Alert.objects.get()
    assert counselor in alert.recipients.all()
    assert intake not in alert.recipients.all()
    assert alert.raised_by == intake
