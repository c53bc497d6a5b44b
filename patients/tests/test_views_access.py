"""The role matrix for every patient URL: other site → 404, read-only → 403, anonymous → sign-in.

Permission design: a site admin holds no ``patient.view``, so patients are invisible to them
(404 on every patient URL, like a stranger) and the search page and intake board answer 403.
A program director may read charts (``patient.view``) but changes nothing: writes answer 403.
"""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from users.models import Role

from .factories import ConsentFactory, EpisodeFactory, ReferralFactory, SupportContactFactory

pytestmark = pytest.mark.django_db


def patient_urls(patient):
    """(name, url, is_write) for every URL that carries this patient."""
    consent = ConsentFactory(patient=patient)
    episode = EpisodeFactory(patient=patient)
    referral = ReferralFactory(patient=patient)
    contact = SupportContactFactory(patient=patient)
    from patients import services
    from users.tests.factories import UserFactory

    disclosure = services.disclosure_make(
        patient=patient,
        recipient="Dr. Quinn Example",
        purpose="treatment",
        categories=["attendance"],
        channel="print",
        by=UserFactory(),
        consent=consent,
    )
    p = patient.public_id
    return [
        ("detail", reverse("patients:detail", args=[p]), False),
        ("edit", reverse("patients:edit", args=[p]), True),
        ("archive", reverse("patients:archive", args=[p]), True),
        ("referral_create", reverse("patients:referral_create", args=[p]), True),
        ("episode_admit", reverse("patients:episode_admit", args=[p]), True),
        ("episode_discharge", reverse("patients:episode_discharge", args=[p, episode.public_id]), True),
        ("consent_list", reverse("patients:consent_list", args=[p]), False),
        ("consent_create", reverse("patients:consent_create", args=[p]), True),
        ("consent_detail", reverse("patients:consent_detail", args=[p, consent.public_id]), False),
        ("consent_revoke", reverse("patients:consent_revoke", args=[p, consent.public_id]), True),
        ("disclosure_list", reverse("patients:disclosure_list", args=[p]), False),
        ("disclosure_create", reverse("patients:disclosure_create", args=[p]), True),
        ("disclosure_accounting", reverse("patients:disclosure_accounting", args=[p]), False),
        ("disclosure_packet", reverse("patients:disclosure_packet", args=[p, disclosure.public_id]), True),
        ("support_list", reverse("patients:support_list", args=[p]), False),
        ("support_create", reverse("patients:support_create", args=[p]), True),
        ("support_edit", reverse("patients:support_edit", args=[p, contact.public_id]), True),
        ("support_remove", reverse("patients:support_remove", args=[p, contact.public_id]), True),
        ("referral", reverse("intake:referral", args=[referral.public_id]), False),
        ("referral_advance", reverse("intake:referral_advance", args=[referral.public_id]), True),
    ]


POST_ONLY = {"consent_revoke", "support_remove", "referral_advance"}


def fetch(client, name, url):
    return client.post(url, {}) if name in POST_ONLY else client.get(url)


def test_it_shows_every_patient_page_to_a_supervisor(client_as, patient):
    client = client_as(Role.SUPERVISOR)
    for name, url, _ in patient_urls(patient):
        if name in POST_ONLY:
            continue
        response = client.get(url)
        assert response.status_code == 200, name
        assert response["Cache-Control"].find("no-store") >= 0


def test_it_answers_404_for_another_sites_patient_on_every_url(client_as, other_patient):
    client = client_as(Role.SUPERVISOR)
    for name, url, _ in patient_urls(other_patient):
        assert fetch(client, name, url).status_code == 404, name
    assert not AuditEvent.objects.filter(action=Action.VIEW, patient_ref=str(other_patient.public_id)).exists()


def test_it_hides_patients_from_a_site_admin(client_as, patient):
    client = client_as(Role.SITE_ADMIN)
    for name, url, _ in patient_urls(patient):
        assert fetch(client, name, url).status_code == 404, name
    assert client.get(reverse("patients:search")).status_code == 403
    assert client.get(reverse("intake:board")).status_code == 403
    assert client.get(reverse("patients:register")).status_code == 403


def test_it_refuses_writes_to_a_director(client_as, patient):
    client = client_as(Role.DIRECTOR)
    for name, url, is_write in patient_urls(patient):
        status = fetch(client, name, url).status_code
        assert status == (403 if is_write else 200), name
    assert client.get(reverse("patients:register")).status_code == 403
    assert client.get(reverse("intake:board")).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(patient):
    client = Client()
    for name, url, _ in patient_urls(patient):
        response = fetch(client, name, url)
        assert response.status_code == 302, name
        assert reverse("account_login") in response.url


def test_it_answers_404_for_an_unknown_or_archived_patient(client_as, patient):
    client = client_as(Role.SUPERVISOR)
    assert client.get("/patients/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/patients/12/").status_code == 404
    patient.deleted_at = patient.created_at
    patient.save(update_fields=["deleted_at"])
    assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 404


def test_it_limits_discharge_to_clinical_roles(client_as, patient):
    episode = EpisodeFactory(patient=patient)
    url = reverse("patients:episode_discharge", args=[patient.public_id, episode.public_id])
    assert client_as(Role.INTAKE).get(url).status_code == 403
    assert client_as(Role.CLINICIAN).get(url).status_code == 200
