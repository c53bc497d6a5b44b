"""The plan API names what a plan still needs before signing, and shows who is responsible for
each intervention (DOMAIN.md §7)."""

import pytest
from django.urls import reverse

from plans import services

from .helpers import fill_plan_text, fill_treatment_plan

pytestmark = pytest.mark.django_db


def test_signing_over_the_api_names_the_blank_fields_and_missing_interventions(client_as, episode, counselor, settings):
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    plan = services.treatment_plan_start(episode=episode, by=counselor)
    _, goal, objective = fill_treatment_plan(plan, counselor)
    services.objective_add(goal=goal, by=counselor, statement="Walk daily", target_date=objective.target_date)
    client = client_as(user=counselor)
    sign = reverse("api:plan-sign", args=[plan.public_id])
    response = client.post(sign, {"patient_signed_name": "Testperson Example"}, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()
    assert {"strengths", "needs", "abilities", "preferences", "discharge_criteria"} <= set(errors), errors
    assert any("“Walk daily” of problem 1 has no intervention" in m for m in errors["__all__"]), errors
    services.plan_part_remove(part=plan.objectives.get(statement="Walk daily"), by=counselor)
    fill_plan_text(plan, counselor)
    response = client.post(sign, {"patient_signed_name": "Testperson Example"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "signed"
    detail = client.get(reverse("api:plan-detail", args=[plan.public_id])).json()
    (intervention,) = detail["problems"][0]["goals"][0]["objectives"][0]["interventions"]
    assert intervention["responsible"] == str(counselor.public_id)
    assert intervention["responsible_name"] == counselor.signature_name
