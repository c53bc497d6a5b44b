"""Plans due and Follow-ups due: scope by role, constant query count."""

from datetime import timedelta

import pytest
from django.urls import reverse

from patients.models import site_today
from plans import services
from plans.models import TriggerReason
from users.models import Role

from .helpers import count_queries, make_episode, make_patient

pytestmark = pytest.mark.django_db


def add_due(site, counselor, n):
    for _ in range(n):
        patient = make_patient(site, primary_counselor=counselor)
        episode = make_episode(patient, admitted=site_today(site) - timedelta(days=20), by=counselor)
        services.plan_review_request(episode=episode, reason=TriggerReason.HOSPITALISATION, by=counselor)


def test_plans_due_costs_the_same_for_1_or_20_patients(client_as, site, counselor):
    client = client_as(user=counselor)
    url = reverse("plans:due")
    add_due(site, counselor, 1)
    client.get(url)  # warm the session and role caches
    one = count_queries(lambda: client.get(url))
    add_due(site, counselor, 19)
    twenty = count_queries(lambda: client.get(url))
    assert one == twenty
    # Both plans of each of the 20 patients (the initial plans are overdue: the earliest reason wins).
    assert client.get(url).content.decode().count("Overdue since") == 40


def test_a_clinician_sees_their_patients_and_a_supervisor_the_site(client_as, site, counselor, make_staff):
    colleague = make_staff(Role.CLINICIAN)
    add_due(site, counselor, 1)
    add_due(site, colleague, 1)
    url = reverse("plans:due")
    mine = client_as(user=counselor).get(url).context["rows"]
    assert {r.episode.primary_counselor for r in mine} == {counselor}
    everyone = client_as(Role.SUPERVISOR).get(url).context["rows"]
    assert {r.episode.primary_counselor for r in everyone} == {counselor, colleague}


def test_follow_ups_page_lists_due_check_ins_and_records_one(client_as, site, counselor):
    patient = make_patient(site, primary_counselor=counselor)
    episode = make_episode(patient, admitted=site_today(site) - timedelta(days=120), by=counselor)
    services.discharge_sign(
        episode=episode,
        by=counselor,
        discharge_date=site_today(site) - timedelta(days=65),
        discharge_type="completed",
        summary="x",
    )
    client = client_as(user=counselor)
    rows = client.get(reverse("plans:follow_ups")).context["rows"]
    assert [r.days_after_discharge for r in rows] == [30, 60]
    url = reverse("plans:follow_up_record", args=[patient.public_id, rows[0].public_id])
    bad = client.post(url, {"status": "done", "outcome_note": ""})
    assert bad.status_code == 200 and "Say what happened" in bad.content.decode()
    assert client.post(url, {"status": "done", "outcome_note": "Doing well, attends SMART"}).status_code == 302
    assert [r.days_after_discharge for r in client.get(reverse("plans:follow_ups")).context["rows"]] == [60]
