"""Disclosure pages: the reason for a refusal on its field, the packet with the notice, accounting."""

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import Disclosure
from users.models import Role

pytestmark = pytest.mark.django_db


def test_a_refused_disclosure_shows_the_reason(client_as, patient, consent):
    client = client_as(Role.INTAKE)
    url = reverse("patients:disclosure_create", args=[patient.public_id])
    data = {
        "consent": consent.pk,
        "recipient": "Acme Employer Inc",
        "purpose": "legal",
        "categories": ["attendance"],
        "channel": "fax",
    }
    response = client.post(url, data)
    assert "does not cover this recipient" in " ".join(response.context["form"].errors["recipient"])
    response = client.post(url, {**data, "recipient": "Dr. Quinn Example", "categories": ["toxicology"]})
    assert "Toxicology results" in " ".join(response.context["form"].errors["categories"])
    assert not Disclosure.objects.exists()


def test_a_covered_disclosure_leads_to_the_packet(client_as, patient, consent):
    client = client_as(Role.INTAKE)
    data = {"recipient": "Dr. Quinn Example", "purpose": "treatment", "categories": ["attendance"], "channel": "print"}
    response = client.post(reverse("patients:disclosure_create", args=[patient.public_id]), data)
    disclosure = Disclosure.objects.get()
    assert response.url == reverse("patients:disclosure_packet", args=[patient.public_id, disclosure.public_id])
    packet = client.get(response.url).content.decode()
    assert "42 CFR part 2 prohibits unauthorized use or disclosure of these records." in packet
    assert "Springfield Probation Office" in packet  # the consent's scope is copied in
    assert "notice-stamp" in packet
    assert AuditEvent.objects.filter(action=Action.PRINT, object_id=str(disclosure.public_id)).count() == 1
    log = client.get(reverse("patients:disclosure_list", args=[patient.public_id])).content.decode()
    assert "Dr. Quinn Example" in log and "v1" in log
    accounting = client.get(reverse("patients:disclosure_accounting", args=[patient.public_id]))
    assert [d.pk for d in accounting.context["disclosures"]] == [disclosure.pk]
