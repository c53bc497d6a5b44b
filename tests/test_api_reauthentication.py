"""Signing and exporting over the API from a browser session needs a sign-in or confirmation
within REAUTHENTICATION_MINUTES: 403 with ``code`` ``reauthentication_required`` and nothing
signed or exported. Token calls are exempt (the token is the integration's credential)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments.models import Placement, PlacementStatus
from audit.models import Action, AuditEvent
from patients.models import Disclosure
from tests.fixtures import confirm_with_authenticator, make_stale
from users.models import Role

from .test_api_placements import RATINGS, create
from .test_api_world import build_world

pytestmark = pytest.mark.django_db

C = Role.CLINICIAN
FHIR = {"recipient": "Springfield Probation Office", "purpose": "legal", "categories": ["attendance"]}


def url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs)


@pytest.fixture
def world(db):
    return build_world()


def decided(world) -> str:
    """A draft placement with its level decided: ready to sign."""
    pid = create(world, **RATINGS).json()["id"]
    response = world.api(world.staff[C]).post(
        url("placement-decide", placement_id=pid), {"actual_level": "2.1"}, format="json"
    )
    assert response.status_code == 200, response.json()
    return pid


def test_a_stale_session_is_told_to_reauthenticate_and_nothing_is_signed(world):
    clinician = world.staff[C]
    pid = decided(world)
    client = world.api(clinician, token=False)
    make_stale(client)
    response = client.post(url("placement-sign", placement_id=pid), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert "Confirm it's you" in response.json()["detail"]
    assert Placement.objects.get(public_id=pid).status == PlacementStatus.DRAFT

    confirm_with_authenticator(client, clinician, "/")
    response = client.post(url("placement-sign", placement_id=pid), format="json")
    assert response.status_code == 200, response.json()
    assert Placement.objects.get(public_id=pid).status != PlacementStatus.DRAFT


def test_a_fresh_session_signs(world):
    pid = decided(world)
    client = world.api(world.staff[C], token=False)
    assert client.post(url("placement-sign", placement_id=pid), format="json").status_code == 200


def test_a_stale_session_exports_no_fhir_bundle(world):
    client = world.api(world.staff[C], token=False)
    make_stale(client)
    response = client.post(
        url("patient-fhir-disclosure", patient_id=world.objects["patient"].public_id), FHIR, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "reauthentication_required"
    assert not Disclosure.objects.filter(recipient=FHIR["recipient"]).exists()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_token_calls_are_not_asked_to_reauthenticate(world):
    client = world.api(world.staff[C])  # a token: no session, no authentication records at all
    pid = decided(world)
    assert client.post(url("placement-sign", placement_id=pid), format="json").status_code == 200
    response = client.post(
        url("patient-fhir-disclosure", patient_id=world.objects["patient"].public_id), FHIR, format="json"
    )
    assert response.status_code == 201, response.json()


def test_reading_needs_no_recent_authentication(world):
    client = world.api(world.staff[C], token=False)
    make_stale(client)
    assert client.get(url("placement-list")).status_code == 200
