"""Placement pages: list, create, edit/sign, detail, co-sign, and the supervisors' review."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments import services
from assessments.models import Placement, PlacementStatus
from users.models import Role

RATINGS = {"d1_rating": "1", "d2_rating": "1", "d3_rating": "2", "d4_rating": "2", "d5_rating": "2", "d6_rating": "1"}
IOP = {k: int(v) for k, v in RATINGS.items()}


@pytest.fixture
def draft(patient, counselor):
    return services.placement_create(patient=patient, by=counselor, placement_type="initial", **IOP)


@pytest.fixture
def awaiting(patient, counselor):
    placement = services.placement_create(
        patient=patient,
        by=counselor,
        placement_type="initial",
        actual_level="1",
        override_reason="PATIENT_PREFERENCE",
        override_note="Works days; prefers OP.",
        **IOP,
    )
    return services.placement_sign(placement=placement, by=counselor)


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CLINICIAN, 200), (Role.SUPERVISOR, 200), (Role.DIRECTOR, 200), (Role.INTAKE, 403)],
)
def test_list_and_detail_role_matrix(client_as, patient, draft, role, status):
    client = client_as(role)
    assert client.get(reverse("assessments:placement_list", args=[patient.public_id])).status_code == status
    detail = client.get(reverse("assessments:placement_detail", args=[draft.public_id])).status_code
    assert detail == (200 if status == 200 else 404)


@pytest.mark.parametrize(("role", "status"), [(Role.CLINICIAN, 200), (Role.DIRECTOR, 403), (Role.INTAKE, 403)])
def test_create_role_matrix(client_as, patient, role, status):
    assert client_as(role).get(reverse("assessments:placement_create", args=[patient.public_id])).status_code == status


def test_other_site_and_anonymous(client_as, client, patient, draft, other_site):
    other = client_as(Role.SUPERVISOR, at=other_site)
    assert other.get(reverse("assessments:placement_list", args=[patient.public_id])).status_code == 404
    assert other.get(reverse("assessments:placement_detail", args=[draft.public_id])).status_code == 404
    assert client.get(reverse("assessments:placement_detail", args=[draft.public_id])).status_code == 302


def test_create_and_sign_in_one_step(client_as, patient):
    client = client_as(Role.CLINICIAN)
    data = {"placement_type": "initial", **RATINGS, "actual_level": "2.1", "sign": "1"}
    response = client.post(reverse("assessments:placement_create", args=[patient.public_id]), data)
    placement = Placement.objects.get()
    assert response.status_code == 302
    assert placement.status == PlacementStatus.SIGNED
    assert placement.recommendation["treatment_level"] == "2.1"


def test_an_unexplained_override_is_refused_per_field_and_nothing_saved(client_as, patient):
    client = client_as(Role.CLINICIAN)
    data = {"placement_type": "initial", **RATINGS, "actual_level": "1", "sign": "1"}
    response = client.post(reverse("assessments:placement_create", args=[patient.public_id]), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "choose a reason" in page and "Explain the override" in page
    assert not Placement.objects.exists()


def test_the_form_prefills_suggestions_from_instruments(client_as, patient, counselor):
    services.assessment_record(
        patient=patient, instrument_code="COWS", answers=[2, 2, 3, 2, 2, 2, 2, 2, 2, 2, 0], by=counselor
    )  # total 21 -> D1 = 2
    page = client_as(Role.CLINICIAN).get(reverse("assessments:placement_create", args=[patient.public_id]))
    assert "COWS total 21" in page.content.decode()
    assert page.context["form"].initial["d1_rating"] == 2


def test_a_signed_placement_cannot_be_edited(client_as, awaiting):
    assert (
        client_as(Role.CLINICIAN).get(reverse("assessments:placement_edit", args=[awaiting.public_id])).status_code
        == 403
    )


def test_editing_a_draft_recomputes(client_as, draft):
    client = client_as(Role.CLINICIAN)
    data = {"placement_type": "initial", **RATINGS, "d5_rating": "3", "save": "1"}
    assert client.post(reverse("assessments:placement_edit", args=[draft.public_id]), data).status_code == 302
    draft.refresh_from_db()
    assert draft.recommended_level == "2.5"


def test_cosign_flow(client_as, awaiting):
    url = reverse("assessments:placement_cosign", args=[awaiting.public_id])
    assert client_as(Role.CLINICIAN).post(url).status_code == 403
    assert client_as(Role.DIRECTOR).post(url).status_code == 403
    supervisor = client_as(Role.SUPERVISOR)
    page = supervisor.get(reverse("assessments:placement_detail", args=[awaiting.public_id])).content.decode()
    assert "Co-sign this placement" in page
    supervisor.post(url)
    awaiting.refresh_from_db()
    assert awaiting.status == PlacementStatus.SIGNED


def test_review_lists_awaiting_and_discrepancies_for_supervisors(client_as, awaiting, patient):
    url = reverse("assessments:placement_review")
    assert client_as(Role.CLINICIAN).get(url).status_code == 403
    assert client_as(Role.DIRECTOR).get(url).status_code == 403
    page = client_as(Role.SUPERVISOR).get(url).content.decode()
    assert "Awaiting co-sign (1)" in page
    assert "discrepancies (1)" in page
    assert patient.legal_last_name in page
