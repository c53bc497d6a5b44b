"""assessment_record: scores with instruments.score, stores exactly its result, refuses bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from assessments import services
from assessments.instruments import score
from assessments.models import AssessmentResponse, ResponseStatus
from audit.models import Action, AuditEvent
from notifications.models import Alert
from users.models import Role

from .answers import BAM, CSSRS_HIGH, CSSRS_MODERATE, CSSRS_NONE, GAD7, PHQ9_CLEAN, PHQ9_ITEM9


def test_it_stores_exactly_what_score_returns(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    expected = score("PHQ-9", PHQ9_CLEAN).to_dict()
    response.refresh_from_db()
    assert response.total == expected["total"] == 7
    assert response.band == expected["band"] == "mild"
    assert response.band_label == expected["band_label"]
    assert response.band_set == expected["band_set"] == "PHQ-9:2001"
    assert response.flags == expected["flags"]
    assert response.item_scores == expected["item_scores"]
    assert response.subscales == expected["subscales"]
    assert response.answers == PHQ9_CLEAN
    assert response.episode == patient.episodes.open().get()
    assert response.site_id == patient.site_id
    assert response.administered_by == counselor


def test_it_records_a_response_without_a_flag_closed(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="GAD-7", answers=GAD7, by=counselor)
    assert response.status == ResponseStatus.CLOSED
    assert response.closed_by == counselor
    assert not Alert.objects.exists()


def test_it_stores_bam_subscales_without_a_total(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="bam", answers=BAM, by=counselor)
    assert response.instrument == "BAM"
    assert response.total is None
    assert response.subscales == score("BAM", BAM).subscales


def test_it_leaves_the_episode_empty_before_admission(make_patient, counselor):
    patient = make_patient(admitted=False)
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    assert response.episode is None


def test_it_audits_the_write_with_the_result(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    event = AuditEvent.objects.filter(action=Action.CREATE, object_id=str(response.public_id)).get()
    assert event.patient_ref == str(patient.public_id)
    assert event.changes["after"]["total"] == 7
    assert event.changes["before"] == {}


@pytest.mark.parametrize(
    ("code", "answers", "field"),
    [
        ("PHQ-9", [1, 1, 1, 1, 4, 0, 0, 0, 0], "item_5"),  # out of range
        ("PHQ-9", [1, 1, 1, 1, None, 0, 0, 0, 0], "item_5"),  # missing
        ("AUDIT", [1, 1, 1, 0, 0, 0, 0, 0, 1, 0], "item_9"),  # 9 allows 0/2/4 only
        ("C-SSRS", [True, False, True, None, None, False, None], "item_3"),  # skip violated
        ("DAST-10", [True] * 9 + [3], "item_10"),  # not yes/no
    ],
)
def test_it_rejects_bad_answers_per_item_and_saves_nothing(patient, counselor, code, answers, field):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.assessment_record(patient=patient, instrument_code=code, answers=answers, by=counselor)
    assert field in exc.value.message_dict
    assert exc.value.message_dict[field][0].startswith("Item ")
    assert not AssessmentResponse.objects.exists()
    assert not Alert.objects.exists()
    assert AuditEvent.objects.count() == events


def test_it_rejects_a_wrong_answer_count(patient, counselor):
    with pytest.raises(ValidationError):
        services.assessment_record(patient=patient, instrument_code="GAD-7", answers=[1, 1], by=counselor)
    assert not AssessmentResponse.objects.exists()


def test_it_rejects_an_unknown_instrument(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        services.assessment_record(patient=patient, instrument_code="XYZ", answers=[1], by=counselor)
    assert "code" in exc.value.message_dict


def test_it_rejects_a_time_in_the_future(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        services.assessment_record(
            patient=patient,
            instrument_code="GAD-7",
            answers=GAD7,
            by=counselor,
            administered_at=timezone.now() + timedelta(hours=2),
        )
    assert "administered_at" in exc.value.message_dict
    assert not AssessmentResponse.objects.exists()


def test_intake_may_administer_screening_but_not_clinical_instruments(patient, make_staff):
    intake = make_staff(Role.INTAKE)
    services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=intake)
    with pytest.raises(PermissionDenied):
        services.assessment_record(patient=patient, instrument_code="BAM", answers=BAM, by=intake)


def test_a_director_may_not_administer(patient, make_staff):
    with pytest.raises(PermissionDenied):
        services.assessment_record(
            patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=make_staff(Role.DIRECTOR)
        )


def test_cssrs_high_marks_imminent_danger(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="C-SSRS", answers=CSSRS_HIGH, by=counselor)
    assert response.imminent_danger is True
    assert response.band == "high"


def test_cssrs_moderate_and_none_do_not_mark_imminent_danger(patient, counselor):
    moderate = services.assessment_record(
        patient=patient, instrument_code="C-SSRS", answers=CSSRS_MODERATE, by=counselor
    )
    none = services.assessment_record(patient=patient, instrument_code="C-SSRS", answers=CSSRS_NONE, by=counselor)
    assert (moderate.imminent_danger, none.imminent_danger) == (False, False)
    assert none.status == ResponseStatus.CLOSED


def test_item9_keeps_the_response_open(patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_ITEM9, by=counselor)
    assert response.status == ResponseStatus.OPEN
    assert "SUICIDE_RISK" in response.flags
