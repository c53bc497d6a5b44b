"""The discharge summary's figures against a constructed episode, and the discharge page."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from patients.models import site_today
from plans import services
from plans.models import FollowUpCheckIn, ObjectiveStatus
from plans.tests.helpers import make_episode, make_patient, signed_treatment_plan
from reports.discharge import discharge_summary_draft
from users.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def counselor(make_staff):
    return make_staff(Role.CLINICIAN, credentials="LADC")


@pytest.fixture
def episode(site, counselor):
    patient = make_patient(site, primary_counselor=counselor)
    return make_episode(patient, admitted=site_today(site) - timedelta(days=45), by=counselor)


def test_length_of_stay_levels_and_plan_goals(episode, counselor, settings):
    settings.PLAN_SUPERVISOR_SIGNATURE_REQUIRED = False
    plan = signed_treatment_plan(episode, counselor)
    v2 = services.treatment_plan_start(episode=episode, by=counselor)
    services.objective_update(objective=v2.objectives.get(), by=counselor, status=ObjectiveStatus.ACHIEVED)
    services.treatment_plan_sign(plan=v2, by=counselor, patient_signed_name="Testperson Example")
    services.relapse_record(episode=episode, occurred_on=episode.admission_date + timedelta(days=3), by=counselor)
    discharge_on = episode.admission_date + timedelta(days=42)
    draft = discharge_summary_draft(episode, discharge_date=discharge_on)
    assert draft["length_of_stay_days"] == 42
    assert draft["admission_date"] == episode.admission_date and draft["discharge_date"] == discharge_on
    assert draft["levels_of_care"] == ["2.1 Intensive outpatient (IOP) (ASAM 3rd edition (2013))"]
    assert draft["plan"]["version"] == 2 and plan.version == 1
    assert draft["plan"]["problems"][0]["goals"][0]["objectives"][0]["status"] == "Achieved"
    assert draft["relapses"] == 1
    assert "length of stay 42 days" in draft["text"]
    assert "Achieved" in draft["text"]


def test_attendance_is_read_defensively(episode):
    draft = discharge_summary_draft(episode)
    try:
        apps.get_model("clinical_sessions", "Attendance")
    except LookupError:
        assert draft["attendance"] is None
        assert "Attendance: not recorded" in draft["text"]


def test_first_and_last_phq9(episode, counselor):
    try:
        response_model = apps.get_model("assessments", "AssessmentResponse")
    except LookupError:
        pytest.skip("the assessments app has no AssessmentResponse model yet")
    start = timezone.now() - timedelta(days=40)
    for n, total in enumerate([18, 12, 7]):
        response_model.objects.create(
            patient=episode.patient,
            episode=episode,
            site=episode.site,
            instrument="PHQ-9",
            answers=[0] * 9,
            total=total,
            band_set="phq9",
            administered_by=counselor,
            administered_at=start + timedelta(days=14 * n),
        )
    (phq9,) = discharge_summary_draft(episode)["scores"]
    assert (phq9["instrument"], phq9["first"], phq9["last"], phq9["change"], phq9["count"]) == ("PHQ-9", 18, 7, -11, 3)


def test_readiness_rulers_are_compared_within_their_type_on_the_sites_calendar(episode, counselor):
    """An importance rating is never compared with a confidence rating; an evening rating in a
    US zone is dated on the site's day, not the next day in UTC."""
    from datetime import datetime, time

    from assessments.models import AssessmentResponse

    zone = episode.site.zone
    first_day = episode.admission_date + timedelta(days=1)
    for n, (ruler_type, total) in enumerate(
        [("importance", 5), ("confidence", 3), ("importance", 9), ("confidence", 4)]
    ):
        AssessmentResponse.objects.create(
            patient=episode.patient,
            episode=episode,
            site=episode.site,
            instrument="READINESS-RULER",
            ruler_type=ruler_type,
            answers=[total],
            total=total,
            band_set="",
            administered_by=counselor,
            administered_at=datetime.combine(first_day + timedelta(days=7 * n), time(21, 30), tzinfo=zone),
        )
    scores = {s["instrument"]: s for s in discharge_summary_draft(episode)["scores"]}
    importance, confidence = scores["READINESS-RULER (importance)"], scores["READINESS-RULER (confidence)"]
    assert (importance["first"], importance["last"], importance["change"], importance["count"]) == (5, 9, 4, 2)
    assert (confidence["first"], confidence["last"], confidence["change"], confidence["count"]) == (3, 4, 1, 2)
    assert importance["first_on"] == first_day and confidence["last_on"] == first_day + timedelta(days=21)


def test_the_discharge_page_drafts_signs_and_schedules_follow_ups(client_as, episode, counselor):
    client = client_as(user=counselor)
    url = reverse("reports:discharge", args=[episode.patient.public_id, episode.public_id])
    page = client.get(url)
    assert page.status_code == 200
    summary = page.context["form"].initial["summary"]
    assert "length of stay 45 days" in summary
    bad = client.post(
        url,
        {
            "discharge_date": (episode.admission_date - timedelta(days=1)).isoformat(),
            "discharge_type": "completed",
            "summary": summary,
        },
    )
    assert bad.status_code == 200 and "before the admission date" in bad.content.decode()
    bad = client.post(
        url, {"discharge_date": site_today(episode.site).isoformat(), "discharge_type": "", "summary": summary}
    )
    assert "Choose the type of discharge" in bad.content.decode()
    episode.refresh_from_db()
    assert episode.is_open
    edited = summary + "Stepped down to weekly outpatient counselling."
    response = client.post(
        url, {"discharge_date": site_today(episode.site).isoformat(), "discharge_type": "step_down", "summary": edited}
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.discharge_type == "step_down" and episode.discharge_summary.endswith(
        "weekly outpatient counselling."
    )
    assert FollowUpCheckIn.objects.filter(episode=episode).count() == 3
    # Closed: the page shows the signed summary and a re-admission path, no form.
    aftercare = client.get(reverse("plans:aftercare", args=[episode.patient.public_id])).content.decode()
    assert reverse("patients:referral_create", args=[episode.patient.public_id]) in aftercare


def test_the_discharge_page_role_matrix(client_as, episode, other_site):
    url = reverse("reports:discharge", args=[episode.patient.public_id, episode.public_id])
    assert client_as(Role.INTAKE).get(url).status_code == 403
    assert client_as(Role.SUPERVISOR, at=other_site).get(url).status_code == 404
    director = client_as(Role.DIRECTOR)
    assert director.get(url).status_code == 200 and director.get(url).context["form"] is None
    assert director.post(url, {"discharge_type": "completed"}).status_code == 403
