"""Support network pages: contact permission shown, may_contact refused without a consent."""

import pytest
from django.urls import reverse

from patients.models import SupportContact
from users.models import Role

from .factories import ConsentFactory

pytestmark = pytest.mark.django_db


def test_may_contact_without_a_consent_is_refused_on_the_field(client_as, patient):
    client = client_as(Role.CLINICIAN)
    url = reverse("patients:support_create", args=[patient.public_id])
    response = client.post(url, {"name": "Morgan Example", "relationship": "family", "may_contact": "on"})
    assert "may_contact" in response.context["form"].errors
    assert not SupportContact.objects.exists()


def test_the_list_says_who_may_be_contacted(client_as, patient):
    consent = ConsentFactory(patient=patient, recipients="Morgan Example")
    client = client_as(Role.CLINICIAN)
    url = reverse("patients:support_create", args=[patient.public_id])
    data = {"name": "Morgan Example", "relationship": "family", "may_contact": "on", "consent": consent.pk}
    assert client.post(url, data).status_code == 302
    assert client.post(url, {"name": "Sam Sponsorly", "relationship": "sponsor"}).status_code == 302
    page = client.get(reverse("patients:support_list", args=[patient.public_id])).content.decode()
    assert page.count("May be contacted") == 1 and page.count("Do not contact") == 1
