"""Role matrix for every plan page: clinician 200, intake 403, other site 404, anonymous → sign-in;
every page records exactly one audit event naming the patient."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import site_today
from plans import services
from users.models import Role

from .helpers import fill_rp_plan, fill_treatment_plan, make_episode, make_patient

pytestmark = pytest.mark.django_db


def urls_for(patient, counselor):
    episode = patient.episodes.open().first()
    tp = services.treatment_plan_start(episode=episode, by=counselor)
    _, _, objective = fill_treatment_plan(tp, counselor)
    rp = services.rp_plan_start(episode=episode, by=counselor)
    fill_rp_plan(rp, counselor)
    p = patient.public_id
    return [
        ("overview", reverse("plans:overview", args=[p]), Action.VIEW),
        ("treatment_plan", reverse("plans:treatment_plan", args=[p, tp.public_id]), Action.VIEW),
        ("objective_edit", reverse("plans:objective_edit", args=[p, tp.public_id, objective.public_id]), Action.VIEW),
        ("rp_plan", reverse("plans:rp_plan", args=[p, rp.public_id]), Action.VIEW),
        ("rp_plan_print", reverse("plans:rp_plan_print", args=[p, rp.public_id]), Action.PRINT),
        ("recovery", reverse("plans:recovery", args=[p]), Action.VIEW),
        ("aftercare", reverse("plans:aftercare", args=[p]), Action.VIEW),
        ("discharge", reverse("reports:discharge", args=[p, episode.public_id]), Action.VIEW),
    ]


@pytest.fixture
def setup(site, counselor):
    patient = make_patient(site, primary_counselor=counselor)
    make_episode(patient, admitted=site_today(site) - timedelta(days=10), by=counselor)
    return patient, urls_for(patient, counselor)


def test_a_clinician_sees_every_page_and_each_is_audited_once(setup, client_as, counselor):
    patient, urls = setup
    client = client_as(user=counselor)
    for name, url, action in urls:
        before = AuditEvent.objects.count()
        response = client.get(url)
        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"]
        events = list(AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before])
        assert [(e.action, e.patient_ref) for e in events] == [(action, str(patient.public_id))], name


def test_intake_staff_get_403_on_every_plan_page(setup, client_as):
    _, urls = setup
    client = client_as(Role.INTAKE)
    for name, url, _ in urls:
        assert client.get(url).status_code == 403, name
    assert client.get(reverse("plans:due")).status_code == 403
    assert client.get(reverse("plans:follow_ups")).status_code == 403


def test_another_sites_staff_get_404(setup, client_as, other_site):
    patient, urls = setup
    client = client_as(Role.SUPERVISOR, at=other_site)
    for name, url, _ in urls:
        assert client.get(url).status_code == 404, name
    assert not AuditEvent.objects.filter(action=Action.VIEW, patient_ref=str(patient.public_id)).exists()


def test_anonymous_visitors_are_sent_to_sign_in(setup):
    _, urls = setup
    for name, url, _ in urls:
        response = Client().get(url)
        assert response.status_code == 302 and reverse("account_login") in response.url, name


def test_a_director_reads_but_cannot_write(setup, client_as):
    patient, urls = setup
    client = client_as(Role.DIRECTOR)
    for name, url, _ in urls:
        if name != "objective_edit":
            assert client.get(url).status_code == 200, name
    assert client.post(reverse("plans:treatment_plan_start", args=[patient.public_id])).status_code == 403
    assert client.post(reverse("plans:relapse", args=[patient.public_id]), {"occurred_on": ""}).status_code == 403


def test_the_print_copy_shows_only_the_patient_copy(setup, client_as, counselor, site):
    patient, urls = setup
    plan = patient.episodes.get().relapse_prevention_plans.get()
    services.rp_plan_update(plan=plan, by=counselor, internal_note="STAFF-ONLY remark")
    other = make_patient(site, legal_first_name="Otherperson")
    html = client_as(user=counselor).get(dict((n, u) for n, u, _ in urls)["rp_plan_print"]).content.decode()
    assert site.sender_name in html and site.name not in html
    assert "STAFF-ONLY" not in html and other.legal_first_name not in html and patient.mrn not in html
    assert "988" in html and "Tired after night shifts" in html
    assert 'class="mainnav"' not in html and "<script" not in html and "style=" not in html
