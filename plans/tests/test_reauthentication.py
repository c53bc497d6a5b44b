"""Signing and co-signing plans needs a sign-in or confirmation within REAUTHENTICATION_MINUTES
(DOMAIN.md §12): a stale request signs nothing and leads to "confirm it's you", then back."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from plans import services
from plans.models import PlanStatus
from tests.fixtures import confirm_with_password, make_stale
from users.models import Role

from .helpers import fill_plan_text, fill_rp_plan, fill_treatment_plan

pytestmark = pytest.mark.django_db


def confirm_then(response, back_to: str) -> None:
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert url.path == reverse("account_reauthenticate")
    assert parse_qs(url.query)["next"] == [back_to]


def test_treatment_plan_sign_and_cosign(client_as, patient, episode, counselor):
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    fill_treatment_plan(plan, counselor)
    fill_plan_text(plan, counselor)
    page = reverse("plans:treatment_plan", args=[patient.public_id, plan.public_id])
    client = client_as(user=counselor)
    make_stale(client)
    confirm_then(client.post(page + "sign/", {"sign-patient_signed_name": "Testperson Example"}), page)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT and plan.clinician_signed_by is None

    assert confirm_with_password(client, page)["Location"] == page
    assert client.post(page + "sign/", {"sign-patient_signed_name": "Testperson Example"}).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.AWAITING_COSIGN

    supervisor = client_as(Role.SUPERVISOR)
    make_stale(supervisor)
    confirm_then(supervisor.post(page + "cosign/"), page)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.AWAITING_COSIGN and plan.supervisor_signed_by is None
    confirm_with_password(supervisor, page)
    supervisor.post(page + "cosign/")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SIGNED


def test_relapse_prevention_plan_sign(client_as, patient, episode, counselor):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    fill_rp_plan(plan, counselor)
    page = reverse("plans:rp_plan", args=[patient.public_id, plan.public_id])
    client = client_as(user=counselor)
    make_stale(client)
    confirm_then(client.post(page + "sign/", {"patient_signed_name": "Testperson Example"}), page)
    plan.refresh_from_db()
    assert plan.clinician_signed_by is None
    confirm_with_password(client, page)
    assert client.post(page + "sign/", {"patient_signed_name": "Testperson Example"}).status_code == 302
    plan.refresh_from_db()
    assert plan.clinician_signed_by == counselor
