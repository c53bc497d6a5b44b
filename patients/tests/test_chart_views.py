"""Each chart page records exactly one audit event naming the patient."""

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.services import disclosure_make
from users.models import Role

from .factories import ConsentFactory, EpisodeFactory, ReferralFactory, SupportContactFactory

pytestmark = pytest.mark.django_db


def test_every_chart_page_records_one_audit_event(client_as, patient):
    client = client_as(Role.SUPERVISOR)
    consent = ConsentFactory(patient=patient)
    episode = EpisodeFactory(patient=patient)
    referral = ReferralFactory(patient=patient)
    contact = SupportContactFactory(patient=patient)
    disclosure = disclosure_make(
        patient=patient,
        recipient="Dr. Quinn Example",
        purpose="treatment",
        categories=["attendance"],
        channel="print",
        by=client.user,
        consent=consent,
    )
    p = patient.public_id
    pages = [
        (reverse("patients:detail", args=[p]), Action.VIEW),
        (reverse("patients:edit", args=[p]), Action.VIEW),
        (reverse("patients:consent_list", args=[p]), Action.VIEW),
        (reverse("patients:consent_detail", args=[p, consent.public_id]), Action.VIEW),
        (reverse("patients:consent_create", args=[p]), Action.VIEW),
        (reverse("patients:disclosure_list", args=[p]), Action.VIEW),
        (reverse("patients:disclosure_create", args=[p]), Action.VIEW),
        (reverse("patients:disclosure_accounting", args=[p]), Action.VIEW),
        (reverse("patients:disclosure_packet", args=[p, disclosure.public_id]), Action.PRINT),
        (reverse("patients:support_list", args=[p]), Action.VIEW),
        (reverse("patients:support_edit", args=[p, contact.public_id]), Action.VIEW),
        (reverse("patients:episode_discharge", args=[p, episode.public_id]), Action.VIEW),
        (reverse("patients:referral_create", args=[p]), Action.VIEW),
        (reverse("intake:referral", args=[referral.public_id]), Action.VIEW),
    ]
    for url, action in pages:
        before = AuditEvent.objects.count()
        assert client.get(url).status_code == 200, url
        events = list(AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before])
        assert len(events) == 1, url
        assert events[0].action == action and events[0].patient_ref == str(p), url
        assert events[0].actor == client.user and events[0].site_id == patient.site_id


def test_the_chart_shows_the_header_with_alerts(client_as, patient):
    response = client_as(Role.CLINICIAN).get(reverse("patients:detail", args=[patient.public_id]))
    content = response.content.decode()
    assert patient.mrn in content
    assert "No active Part 2 consent" in content
    assert "No voicemail" in content
    assert 'class="chart-header"' in content


def test_the_chart_header_is_reusable_from_other_apps(patient, rf):
    from django.template.loader import render_to_string

    from patients.selectors import chart_header

    html = render_to_string("patients/_chart_header.html", {"chart": chart_header(patient)})
    assert patient.display_name in html and "No open episode" in html


def test_intake_roles_cannot_read_clinical_notes():
    # Progress notes arrive with the sessions app; until then the guarantee is the role table:
    # notes views will require "clinical.view", which intake coordinators do not hold.
    from users.roles import roles_with

    assert Role.INTAKE not in roles_with("clinical.view")
    assert Role.INTAKE in roles_with("patient.view")
