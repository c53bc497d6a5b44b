"""Consent pages: recorded by intake staff, missing elements on the fields, revocation."""

import pytest
from django.urls import reverse

from patients.models import Consent, ConsentStatus, site_today
from users.models import Role

pytestmark = pytest.mark.django_db

COMPLETE = {
    "kind": "standard",
    "disclosing_party": "Riverside Test program",
    "categories": ["attendance"],
    "recipients": "Springfield Probation Office",
    "purposes": ["legal"],
    "expiry_event": "End of probation",
    "signed_by": "patient",
    "revocation_acknowledged": "on",
    "redisclosure_acknowledged": "on",
    "refusal_acknowledged": "on",
    "signer_name": "Testperson Example",
}


def test_intake_staff_record_a_consent(client_as, patient):
    client = client_as(Role.INTAKE)
    response = client.post(reverse("patients:consent_create", args=[patient.public_id]), COMPLETE)
    consent = Consent.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:consent_detail", args=[patient.public_id, consent.public_id])
    assert consent.recorded_by == client.user and consent.status == ConsentStatus.ACTIVE


@pytest.mark.parametrize(
    "field", ["disclosing_party", "categories", "recipients", "purposes", "signer_name", "revocation_acknowledged"]
)
def test_a_missing_element_shows_on_its_field(client_as, patient, field):
    data = {k: v for k, v in COMPLETE.items() if k != field}
    response = client_as(Role.INTAKE).post(reverse("patients:consent_create", args=[patient.public_id]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Consent.objects.exists()


def test_a_missing_expiry_shows_on_the_expiry_date(client_as, patient):
    data = {**COMPLETE, "expiry_event": ""}
    response = client_as(Role.INTAKE).post(reverse("patients:consent_create", args=[patient.public_id]), data)
    assert "expires_on" in response.context["form"].errors


def test_revocation_through_the_page(client_as, patient, consent):
    client = client_as(Role.CLINICIAN)
    url = reverse("patients:consent_revoke", args=[patient.public_id, consent.public_id])
    response = client.post(url, {"revoked_on": "2999-01-01", "method": "letter"})
    assert "revoked_on" in response.context["form"].errors
    response = client.post(url, {"revoked_on": site_today(patient.site).isoformat(), "method": "letter"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REVOKED
    page = client.get(reverse("patients:consent_detail", args=[patient.public_id, consent.public_id]))
    assert "Revoked" in page.content.decode() and page.context["form"] is None
