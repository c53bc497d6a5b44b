"""Signing or co-signing a placement needs a sign-in or confirmation within
REAUTHENTICATION_MINUTES (DOMAIN.md §12). A stale sign keeps the placement as a draft."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from assessments.models import Placement, PlacementStatus
from tests.fixtures import confirm_with_password, make_stale
from users.models import Role

from .test_placement_views import RATINGS, awaiting, draft  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def confirm_then(response, back_to: str) -> None:
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert url.path == reverse("account_reauthenticate")
    assert parse_qs(url.query)["next"] == [back_to]


def test_a_stale_create_and_sign_saves_a_draft_and_asks_to_confirm(client_as, patient, counselor):
    client = client_as(user=counselor)
    make_stale(client)
    data = {"placement_type": "initial", **RATINGS, "actual_level": "2.1", "sign": "1"}
    response = client.post(reverse("assessments:placement_create", args=[patient.public_id]), data)
    placement = Placement.objects.get()
    edit = reverse("assessments:placement_edit", args=[placement.public_id])
    confirm_then(response, edit)
    assert placement.status == PlacementStatus.DRAFT and placement.signed_at is None

    confirm_with_password(client, edit)
    assert client.post(edit, data).status_code == 302
    assert Placement.objects.get().status == PlacementStatus.SIGNED


def test_a_stale_edit_and_sign_leaves_the_draft_unsigned(client_as, draft, counselor):  # noqa: F811
    client = client_as(user=counselor)
    make_stale(client)
    edit = reverse("assessments:placement_edit", args=[draft.public_id])
    data = {"placement_type": "initial", **RATINGS, "actual_level": "2.1", "sign": "1"}
    confirm_then(client.post(edit, data), edit)
    draft.refresh_from_db()
    assert draft.status == PlacementStatus.DRAFT and draft.actual_level == "2.1"


def test_a_stale_cosign_is_refused_until_confirmed(client_as, awaiting):  # noqa: F811
    supervisor = client_as(Role.SUPERVISOR)
    make_stale(supervisor)
    url = reverse("assessments:placement_cosign", args=[awaiting.public_id])
    detail = reverse("assessments:placement_detail", args=[awaiting.public_id])
    confirm_then(supervisor.post(url), detail)
    awaiting.refresh_from_db()
    assert awaiting.status == PlacementStatus.AWAITING_COSIGN and awaiting.cosigned_by is None
    confirm_with_password(supervisor, detail)
    supervisor.post(url)
    awaiting.refresh_from_db()
    assert awaiting.status == PlacementStatus.SIGNED
