"""The printable disclosure packet is an export of PHI: it needs a sign-in or confirmation
within REAUTHENTICATION_MINUTES (DOMAIN.md §12); nothing is printed (or audited) before."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import Disclosure
from tests.fixtures import confirm_with_password, make_stale
from users.models import Role

pytestmark = pytest.mark.django_db


def test_a_stale_session_confirms_before_the_packet(client_as, patient, consent):
    client = client_as(Role.INTAKE)
    data = {"recipient": "Dr. Quinn Example", "purpose": "treatment", "categories": ["attendance"], "channel": "print"}
    client.post(reverse("patients:disclosure_create", args=[patient.public_id]), data)
    packet = reverse("patients:disclosure_packet", args=[patient.public_id, Disclosure.objects.get().public_id])
    make_stale(client)
    response = client.get(packet)
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert url.path == reverse("account_reauthenticate") and parse_qs(url.query)["next"] == [packet]
    assert not AuditEvent.objects.filter(action=Action.PRINT).exists()

    assert confirm_with_password(client, packet)["Location"] == packet
    page = client.get(packet)
    assert page.status_code == 200 and "42 CFR part 2" in page.content.decode()
    assert AuditEvent.objects.filter(action=Action.PRINT).count() == 1
