"""Writes made through the pages carry where they came from (DOMAIN.md §12 (b)), although the
services record them with ``actor=by`` only: the request being served supplies the origin."""

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from users.models import Role

from .factories import PatientFactory

pytestmark = pytest.mark.django_db
WHERE = {"REMOTE_ADDR": "192.0.2.44", "HTTP_USER_AGENT": "EditProbe/3.1"}


def test_pages_record_the_origin_of_service_writes(client_as, site):
    patient = PatientFactory(site=site)
    client = client_as(Role.INTAKE)
    response = client.post(
        reverse("patients:edit", args=[patient.public_id]),
        {
            "legal_first_name": patient.legal_first_name,
            "legal_last_name": patient.legal_last_name,
            "date_of_birth": f"{patient.date_of_birth:%Y-%m-%d}",
            "language": "English",
            "preferred_channel": "phone",
            "preferred_name": "Robbie",
        },
        **WHERE,
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.UPDATE, patient_ref=str(patient.public_id))
    assert (event.ip, event.user_agent) == ("192.0.2.44", "EditProbe/3.1")


def test_the_api_records_the_origin_of_service_writes(client_as, site):
    patient = PatientFactory(site=site)
    client = client_as(Role.INTAKE)
    response = client.patch(
        reverse("api:patient-update", args=[patient.public_id]),
        {"preferred_name": "Robbie"},
        content_type="application/json",
        **WHERE,
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=Action.UPDATE, patient_ref=str(patient.public_id))
    assert (event.ip, event.user_agent) == ("192.0.2.44", "EditProbe/3.1")
