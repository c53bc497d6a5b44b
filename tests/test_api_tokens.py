"""Per-user API tokens: created and revoked on the staff member's own page (audited, the key
shown once), acting as their owner (their sites only), and refused with 401 once revoked."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import Action, AuditEvent
from users.models import Role

from .test_api_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_world()


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _create_token(user) -> str:
    response = _signed_in(user).post(reverse("users:api_token_create"))
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key in response.content.decode()
    return key


def test_the_key_is_shown_once_and_creation_is_audited_without_it(world):
    user = world.staff[Role.CLINICIAN]
    key = _create_token(user)
    page = _signed_in(user).get(reverse("users:api_tokens")).content.decode()
    assert key not in page
    assert key[:6] in page
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="authtoken.Token")
    assert event.actor == user
    assert key not in str(event.changes)


def test_a_token_acts_as_its_owner_at_their_sites_only(world):
    key = _create_token(world.other_clinician)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    listed = client.get(reverse("api:patient-list")).json()["results"]
    assert [p["id"] for p in listed] == [str(world.objects["other_patient"].public_id)]
    patient = world.objects["patient"]
    assert client.get(reverse("api:patient-detail", kwargs={"patient_id": patient.public_id})).status_code == 404
    event = AuditEvent.objects.filter(action=Action.VIEW, object_type="patients.Patient").first()
    assert event.actor == world.other_clinician


def test_revoking_cuts_the_integration_off_with_401(world):
    user = world.staff[Role.SUPERVISOR]
    key = _create_token(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(reverse("api:me")).status_code == 200
    _signed_in(user).post(reverse("users:api_token_revoke"))
    assert not Token.objects.filter(user=user).exists()
    assert client.get(reverse("api:me")).status_code == 401
    assert AuditEvent.objects.filter(action=Action.DELETE, object_type="authtoken.Token", actor=user).exists()


def test_replacing_a_token_invalidates_the_old_one(world):
    user = world.staff[Role.INTAKE]
    old = _create_token(user)
    new = _create_token(user)
    assert old != new
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.get(reverse("api:me")).status_code == 401


def test_the_page_needs_sign_in_and_a_membership(world, client):
    assert client.get(reverse("users:api_tokens")).status_code == 302
    from users.tests.factories import UserFactory

    loner = UserFactory(mfa=True)
    assert _signed_in(loner).get(reverse("users:api_tokens")).status_code == 403
    assert _signed_in(loner).post(reverse("users:api_token_create")).status_code == 403


def test_the_account_nav_links_to_the_page(world):
    body = _signed_in(world.staff[Role.CLINICIAN]).get(reverse("users:api_tokens")).content.decode()
    assert f'href="{reverse("users:api_tokens")}"' in body
