"""Writing a plan through the pages: bad input is shown on the field and nothing is saved."""

from datetime import timedelta

import pytest
from django.urls import reverse

from patients.models import site_today
from plans.models import Objective, PlanStatus, Problem, RecoveryActivity, TreatmentPlan
from users.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client_as, counselor):
    return client_as(user=counselor)


def start(client, patient):
    response = client.post(reverse("plans:treatment_plan_start", args=[patient.public_id]))
    assert response.status_code == 302
    return TreatmentPlan.objects.get()


def test_it_writes_and_signs_a_plan_through_the_pages(client, patient, episode, counselor, client_as, site):
    plan = start(client, patient)
    base = reverse("plans:treatment_plan", args=[patient.public_id, plan.public_id])
    response = client.post(
        base + "problems/",
        {"problem-statement": "Drinking daily", "problem-dimensions": ["1", "5"], "problem-diagnosis": "AUD"},
    )
    assert response.status_code == 302
    problem = Problem.objects.get()
    client.post(base + f"problems/{problem.public_id}/goals/", {f"g{problem.pk}-statement": "Keep my job"})
    goal = problem.goals.get()
    bad = client.post(
        base + f"goals/{goal.public_id}/objectives/",
        {f"o{goal.pk}-statement": "3 groups a week", f"o{goal.pk}-status": "not_started"},
    )
    assert bad.status_code == 200 and "needs a target date" in bad.content.decode()
    assert not Objective.objects.exists()
    target = (site_today(site) + timedelta(days=30)).isoformat()
    client.post(
        base + f"goals/{goal.public_id}/objectives/",
        {
            f"o{goal.pk}-statement": "3 groups a week",
            f"o{goal.pk}-target_date": target,
            f"o{goal.pk}-status": "in_progress",
        },
    )
    assert Objective.objects.count() == 1
    objective = Objective.objects.get()
    # DOMAIN.md §7: no intervention and no strengths, needs, … yet: the page says so, nothing signed.
    bad = client.post(base + "sign/", {"sign-patient_signed_name": "Testperson Example"})
    text = bad.content.decode()
    assert bad.status_code == 200 and "has no intervention" in text and "the patient&#x27;s strengths" in text
    assert TreatmentPlan.objects.get().status == PlanStatus.DRAFT
    client.post(
        base + f"objectives/{objective.public_id}/interventions/",
        {
            f"i{objective.pk}-modality": "CBT group",
            f"i{objective.pk}-frequency": "3 times a week",
            f"i{objective.pk}-responsible": counselor.pk,
        },
    )
    assert objective.interventions.count() == 1
    client.post(
        base + "edit/",
        {
            "strengths": "Employed",
            "needs": "Evening structure",
            "abilities": "Reads well",
            "preferences": "Evening groups",
            "discharge_criteria": "Four weeks without use",
        },
    )
    bad = client.post(base + "sign/", {"sign-patient_signed_name": ""})
    assert bad.status_code == 200 and "If they declined to sign" in bad.content.decode()
    response = client.post(base + "sign/", {"sign-patient_signed_name": "Testperson Example"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.AWAITING_COSIGN
    supervisor = client_as(Role.SUPERVISOR)
    assert supervisor.post(base + "cosign/").status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SIGNED
    # Signed: the page offers no edit forms, and a direct post is refused with a message.
    page = client.get(base).content.decode()
    assert "Add a problem" not in page and "cannot be changed" in page
    response = client.post(
        base + "problems/", {"problem-statement": "x", "problem-dimensions": ["1"], "problem-diagnosis": "x"}
    )
    assert response.status_code == 200 and Problem.objects.filter(plan=plan).count() == 1


def test_signing_an_incomplete_plan_is_refused_on_the_page(client, patient, episode):
    plan = start(client, patient)
    base = reverse("plans:treatment_plan", args=[patient.public_id, plan.public_id])
    response = client.post(base + "sign/", {"sign-patient_signed_name": "Testperson Example"})
    assert response.status_code == 200 and "The plan is not complete" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_problem_without_dimensions_is_refused_on_the_field(client, patient, episode):
    plan = start(client, patient)
    base = reverse("plans:treatment_plan", args=[patient.public_id, plan.public_id])
    response = client.post(base + "problems/", {"problem-statement": "Use", "problem-diagnosis": "OUD"})
    assert response.status_code == 200
    assert "at least one ASAM dimension" in response.content.decode()
    assert not Problem.objects.exists()


def test_a_relapse_is_recorded_from_the_overview(client, patient, episode):
    url = reverse("plans:relapse", args=[patient.public_id])
    bad = client.post(url, {"occurred_on": ""})
    assert bad.status_code == 200 and "Give the date of the relapse" in bad.content.decode()
    day = site_today(patient.site).isoformat()
    assert client.post(url, {"occurred_on": day, "substance": "Alcohol"}).status_code == 302
    assert episode.relapses.count() == 1 and episode.plan_review_triggers.count() == 1


def test_recovery_activity_page_logs_a_meeting(client, patient, episode):
    url = reverse("plans:recovery", args=[patient.public_id])
    day = site_today(patient.site).isoformat()
    assert client.post(url, {"date": day, "activity_type": "na", "duration_minutes": "60"}).status_code == 302
    assert RecoveryActivity.objects.get().clinical_minutes == 0
    assert "never count toward IOP hours" in client.get(url).content.decode()
