"""Registration and edit pages: field errors from the services, the duplicate confirmation."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import Patient, site_today
from users.models import Role

from .factories import PatientFactory

pytestmark = pytest.mark.django_db
URL = "/patients/register/"
VALID = {
    "legal_first_name": "Robin",
    "legal_last_name": "Testcase",
    "date_of_birth": "1988-03-04",
    "language": "English",
    "preferred_channel": "phone",
    "phone": "212-555-0143",
}


def test_intake_staff_register_a_patient(client_as, site):
    client = client_as(Role.INTAKE)
    assert client.get(URL).status_code == 200
    response = client.post(URL, VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302 and response.url == reverse("patients:detail", args=[patient.public_id])
    assert patient.site == site and patient.created_by == client.user and patient.phone == "+12125550143"
    assert patient.mrn not in response.url and str(patient.pk) not in response.url.replace(str(patient.public_id), "")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("phone", "555-0143", "valid phone number"),
        ("email", "robin@", "valid email"),
        ("date_of_birth", (date.today() + timedelta(days=3)).isoformat(), "cannot be in the future"),
        ("date_of_birth", "1880-01-01", "check the year"),
        ("date_of_birth", (date.today() - timedelta(days=365 * 4)).isoformat(), "aged 10 and over"),
    ],
)
def test_bad_input_shows_on_the_field_and_saves_nothing(client_as, field, value, message):
    response = client_as(Role.INTAKE).post(URL, {**VALID, field: value})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert not Patient.objects.exists()


def test_it_warns_about_a_duplicate_then_registers_when_confirmed(client_as, site):
    existing = PatientFactory(
        site=site, legal_first_name="Robin", legal_last_name="Testcase", date_of_birth=date(1988, 3, 4)
    )
    client = client_as(Role.INTAKE)
    response = client.post(URL, {**VALID, "legal_first_name": "Robyn"})
    assert response.status_code == 200
    assert response.context["candidates"] == [existing]
    assert b'type="checkbox" name="confirm_different_person"' in response.content
    assert Patient.objects.count() == 1
    response = client.post(URL, {**VALID, "legal_first_name": "Robyn", "confirm_different_person": "on"})
    assert response.status_code == 302 and Patient.objects.count() == 2


def test_it_refuses_registration_to_read_only_roles(client_as):
    assert client_as(Role.DIRECTOR).post(URL, VALID).status_code == 403
    assert not Patient.objects.exists()


def test_edit_saves_changes_and_shows_errors_on_fields(client_as, patient):
    client = client_as(Role.CLINICIAN)
    url = reverse("patients:edit", args=[patient.public_id])
    data = {
        **VALID,
        "legal_first_name": patient.legal_first_name,
        "legal_last_name": patient.legal_last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "preferred_name": "Rob",
    }
    response = client.post(url, {**data, "emergency_contact_phone": "12"})
    assert "emergency_contact_phone" in response.context["form"].errors
    patient.refresh_from_db()
    assert patient.preferred_name == ""
    assert client.post(url, data).status_code == 302
    patient.refresh_from_db()
    assert patient.preferred_name == "Rob"
    assert AuditEvent.objects.filter(action=Action.UPDATE, patient_ref=str(patient.public_id)).count() == 1


def test_the_sms_opt_in_needs_its_details(client_as):
    response = client_as(Role.INTAKE).post(URL, {**VALID, "sms_opt_in": "on"})
    errors = response.context["form"].errors
    assert {"sms_opt_in_on", "sms_opt_in_source", "sms_number"} <= set(errors)
    assert site_today  # the site's date decides "future"
