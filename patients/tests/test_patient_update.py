"""patient_update and patient_archive: before/after of what changed, soft delete only."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import Action, AuditEvent
from patients.models import Patient
from patients.services import episode_admit, patient_archive, patient_update
from users.models import Role

pytestmark = pytest.mark.django_db


def test_it_records_only_what_changed(patient, intake):
    patient_update(patient=patient, by=intake, preferred_name="Rob", phone="2125550111", legal_last_name="Example")
    event = AuditEvent.objects.get(action=Action.UPDATE, patient_ref=str(patient.public_id))
    assert event.changes == {
        "before": {"preferred_name": "", "phone": ""},
        "after": {"preferred_name": "Rob", "phone": "+12125550111"},
    }


def test_it_writes_nothing_when_nothing_changed(patient, intake):
    patient_update(patient=patient, by=intake, legal_last_name=patient.legal_last_name)
    assert not AuditEvent.objects.filter(action=Action.UPDATE).exists()


def test_it_refuses_bad_input_and_saves_nothing(patient, intake):
    with pytest.raises(ValidationError) as exc:
        patient_update(patient=patient, by=intake, phone="555", preferred_name="Rob")
    assert "phone" in exc.value.message_dict
    patient.refresh_from_db()
    assert patient.preferred_name == "" and not AuditEvent.objects.exists()


def test_archiving_is_a_soft_delete(patient, make_staff):
    supervisor = make_staff(Role.SUPERVISOR)
    patient_archive(patient=patient, by=supervisor, reason="Registered twice")
    assert Patient.objects.filter(pk=patient.pk).exists()
    assert not Patient.objects.active().filter(pk=patient.pk).exists()
    assert AuditEvent.objects.get(action=Action.DELETE).reason == "Registered twice"


def test_it_refuses_to_archive_a_patient_in_care(patient, intake):
    from patients.models import site_today

    episode_admit(patient=patient, admission_date=site_today(patient.site), by=intake)
    with pytest.raises(ValidationError, match="open episode"):
        patient_archive(patient=patient, by=intake, reason="Oops")
