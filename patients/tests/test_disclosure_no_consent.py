"""Disclosures without consent (42 CFR §2.51 medical emergency, §2.61–2.67 court order): what
each must record, who may make one, the log, the accounting, the audit trail and the alert."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from notifications.models import Alert, AlertKind
from patients import services
from patients.models import Disclosure, LegalBasis
from users.models import Role

pytestmark = pytest.mark.django_db

NATURE = "Collapsed at home, unresponsive; suspected opioid overdose, naloxone given by EMS."


@pytest.fixture
def director(make_staff):
    return make_staff(Role.DIRECTOR)


def _emergency(patient, by, **overrides) -> Disclosure:
    fields = {
        "legal_basis": LegalBasis.MEDICAL_EMERGENCY,
        "recipient": "Dr. Robin Example",
        "recipient_facility": "Mercy General Hospital, emergency department",
        "emergency_nature": NATURE,
        "consent_unobtainable": True,
        "categories": ["attendance", "treatment_plan"],
        "channel": "in_person",
        **overrides,
    }
    return services.disclosure_make_without_consent(patient=patient, by=by, **fields)


def _court_order(patient, by, **overrides) -> Disclosure:
    fields = {
        "legal_basis": LegalBasis.COURT_ORDER,
        "recipient": "Springfield Superior Court, Clerk",
        "court_order_reference": "Springfield Superior Court, No. 26-CR-0412, Judge Example",
        "court_order_date": date(2026, 11, 2),
        "court_order_confirmed": True,
        "categories": ["attendance"],
        "channel": "mail",
        **overrides,
    }
    return services.disclosure_make_without_consent(patient=patient, by=by, **fields)


# --- the service ------------------------------------------------------------------------------------------


def test_a_medical_emergency_disclosure_records_what_section_2_51_requires(patient, supervisor):
    when = timezone.now() - timedelta(minutes=20)
    disclosure = _emergency(patient, supervisor, disclosed_at=when)
    disclosure.refresh_from_db()
    assert disclosure.legal_basis == LegalBasis.MEDICAL_EMERGENCY and disclosure.consent is None
    # §2.51(c): the medical personnel and their facility, who disclosed, when, the nature of the emergency.
    assert disclosure.recipient == "Dr. Robin Example"
    assert disclosure.recipient_facility == "Mercy General Hospital, emergency department"
    assert disclosure.disclosed_by == supervisor
    assert disclosure.disclosed_at == when
    assert disclosure.emergency_nature == NATURE
    assert disclosure.purpose == "treatment" and disclosure.notice.version >= 1


def test_no_consent_is_needed_or_used_even_when_one_is_on_file(patient, consent, supervisor):
    assert _emergency(patient, supervisor).consent is None


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("recipient", "Name the medical personnel who received the records (§2.51(c))."),
        ("recipient_facility", "Name the health care facility of the medical personnel (§2.51(c))."),
        ("emergency_nature", "Describe the nature of the medical emergency (§2.51(c))."),
        (
            "consent_unobtainable",
            "Confirm that the patient's consent could not be obtained in time: otherwise ask for it (§2.51(a)).",
        ),
        ("categories", "Choose what information is released (only what the emergency or the order needs)."),
    ],
)
def test_each_required_emergency_field_is_named_with_its_rule(patient, supervisor, missing, message):
    empty = False if missing == "consent_unobtainable" else [] if missing == "categories" else "  "
    with pytest.raises(ValidationError) as caught:
        _emergency(patient, supervisor, **{missing: empty})
    assert caught.value.message_dict == {missing: [message]}
    assert not Disclosure.objects.exists()


def test_a_court_order_needs_its_reference_date_and_confirmation(patient, supervisor):
    with pytest.raises(ValidationError) as caught:
        _court_order(patient, supervisor, court_order_reference="", court_order_date=None, court_order_confirmed=False)
    assert set(caught.value.message_dict) == {"court_order_reference", "court_order_date", "court_order_confirmed"}
    assert "a subpoena alone does not authorise disclosure" in caught.value.message_dict["court_order_confirmed"][0]
    disclosure = _court_order(patient, supervisor)
    assert (disclosure.legal_basis, disclosure.purpose, disclosure.court_order_date) == (
        LegalBasis.COURT_ORDER,
        "legal",
        date(2026, 11, 2),
    )
    assert disclosure.recipient_facility == "" and disclosure.emergency_nature == ""


def test_counselling_notes_the_future_and_an_unknown_basis_are_refused(patient, supervisor):
    with pytest.raises(ValidationError) as caught:
        _emergency(patient, supervisor, categories=["sud_counselling_notes"])
    assert "only under the patient's own consent" in caught.value.message_dict["categories"][0]
    with pytest.raises(ValidationError) as caught:
        _emergency(patient, supervisor, disclosed_at=timezone.now() + timedelta(hours=1))
    assert list(caught.value.message_dict) == ["disclosed_at"]
    with pytest.raises(ValidationError) as caught:
        _emergency(patient, supervisor, legal_basis=LegalBasis.CONSENT)
    assert list(caught.value.message_dict) == ["legal_basis"]
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CLINICIAN, Role.SITE_ADMIN])
def test_only_supervisors_and_directors_may_disclose_without_consent(patient, make_staff, role):
    with pytest.raises(ValidationError, match="Only a clinical supervisor or program director"):
        _emergency(patient, make_staff(role))
    assert not Disclosure.objects.exists()


def test_a_director_may(patient, director):
    assert _emergency(patient, director).disclosed_by == director


def test_it_is_audited_with_its_legal_basis(patient, supervisor):
    disclosure = _emergency(patient, supervisor)
    event = AuditEvent.objects.get(action=Action.DISCLOSE, object_id=str(disclosure.public_id))
    assert (event.actor, event.patient_ref, event.reason) == (supervisor, str(patient.public_id), NATURE)
    after = event.changes["after"]
    assert after["legal_basis"] == "medical_emergency"
    assert after["recipient_facility"] == "Mercy General Hospital, emergency department"
    assert after["emergency_nature"] == NATURE


def test_the_sites_other_supervisors_and_directors_are_alerted_without_phi_in_email(
    patient, supervisor, director, make_staff, django_capture_on_commit_callbacks
):
    second = make_staff(Role.SUPERVISOR)
    counselor = make_staff(Role.CLINICIAN)
    with django_capture_on_commit_callbacks(execute=True):
        disclosure = _emergency(patient, supervisor)
    alert = Alert.objects.get(kind=AlertKind.NO_CONSENT_DISCLOSURE)
    assert (alert.patient, alert.object_id, alert.raised_by) == (patient, str(disclosure.public_id), supervisor)
    assert set(alert.recipients.all()) == {second, director}  # not the one who made it, not counselors
    assert counselor not in alert.recipients.all()
    page = Client()
    page.force_login(second)
    detail = page.get(reverse("notifications:alert_detail", args=[alert.public_id])).content.decode()
    assert reverse("patients:disclosure_list", args=[patient.public_id]) in detail
    assert sorted(m.to[0] for m in mail.outbox) == sorted([second.email, director.email])
    for message in mail.outbox:
        text = message.subject + message.body
        for secret in (patient.legal_first_name, patient.mrn, "Mercy", "overdose", "Robin"):
            assert secret not in text


def test_the_consent_path_is_unchanged(patient, consent, make_staff):
    disclosure = services.disclosure_make(
        patient=patient,
        recipient="Dr. Quinn Example",
        purpose="treatment",
        categories=["attendance"],
        channel="fax",
        by=make_staff(Role.INTAKE),
    )
    assert (disclosure.legal_basis, disclosure.consent) == (LegalBasis.CONSENT, consent)
    assert not Alert.objects.exists()


# --- the pages ------------------------------------------------------------------------------------------


def _url(patient) -> str:
    return reverse("patients:disclosure_without_consent", args=[patient.public_id])


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.INTAKE, 403), (Role.CLINICIAN, 403), (Role.SUPERVISOR, 200), (Role.DIRECTOR, 200), (Role.SITE_ADMIN, 404)],
)
def test_the_form_by_role(client_as, patient, role, status):
    assert client_as(role).get(_url(patient)).status_code == status


def test_another_sites_supervisor_gets_404(client_as, patient, other_site):
    assert client_as(Role.SUPERVISOR, at=other_site).get(_url(patient)).status_code == 404


def test_the_form_names_the_missing_fields(client_as, patient):
    client = client_as(Role.SUPERVISOR)
    response = client.post(_url(patient), {"legal_basis": "medical_emergency", "channel": "in_person"})
    errors = response.context["form"].errors
    assert set(errors) == {"recipient", "recipient_facility", "emergency_nature", "consent_unobtainable", "categories"}
    html = response.content.decode()
    assert 'href="#id_recipient_facility"' in html  # the error summary links to the field
    assert not Disclosure.objects.exists()


def test_the_form_logs_it_in_the_log_and_the_accounting(client_as, patient):
    client = client_as(Role.SUPERVISOR)
    local = datetime(2026, 11, 20, 22, 15)
    response = client.post(
        _url(patient),
        {
            "legal_basis": "medical_emergency",
            "recipient": "Dr. Robin Example",
            "recipient_facility": "Mercy General Hospital, emergency department",
            "emergency_nature": NATURE,
            "consent_unobtainable": "on",
            "categories": ["attendance", "treatment_plan"],
            "channel": "in_person",
            "disclosed_at": local.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:disclosure_list", args=[patient.public_id])
    disclosure = Disclosure.objects.get()
    # Entered in the site's time zone.
    assert disclosure.disclosed_at == local.replace(tzinfo=patient.site.zone)
    log = client.get(response["Location"]).content.decode()
    assert "Medical emergency (§2.51)" in log and NATURE in log
    assert "Dr. Robin Example, Mercy General Hospital, emergency department" in log
    accounting = client.get(reverse("patients:disclosure_accounting", args=[patient.public_id]))
    assert [d.pk for d in accounting.context["disclosures"]] == [disclosure.pk]
    assert "Medical emergency (§2.51)" in accounting.content.decode()
    packet = client.get(reverse("patients:disclosure_packet", args=[patient.public_id, disclosure.public_id]))
    assert packet.status_code == 200
    text = packet.content.decode()
    assert "Records released under medical emergency (§2.51)" in text
    assert "Copy of the consent's scope" not in text


def test_a_court_order_through_the_form(client_as, patient):
    client = client_as(Role.DIRECTOR)
    response = client.post(
        _url(patient),
        {
            "legal_basis": "court_order",
            "recipient": "Springfield Superior Court, Clerk",
            "court_order_reference": "No. 26-CR-0412, Judge Example",
            "court_order_date": "2026-11-02",
            "court_order_confirmed": "on",
            "categories": ["attendance"],
            "channel": "mail",
        },
    )
    assert response.status_code == 302
    log = Client()
    log.force_login(client.user)
    html = log.get(reverse("patients:disclosure_list", args=[patient.public_id])).content.decode()
    assert "Court order (§2.61–2.67): No. 26-CR-0412, Judge Example, order of 2026-11-02" in html


def test_the_log_offers_it_only_to_those_who_may(client_as, patient):
    link = _url(patient)
    assert (
        link
        in client_as(Role.SUPERVISOR)
        .get(reverse("patients:disclosure_list", args=[patient.public_id]))
        .content.decode()
    )
    assert (
        link
        not in client_as(Role.CLINICIAN)
        .get(reverse("patients:disclosure_list", args=[patient.public_id]))
        .content.decode()
    )


def test_the_api_log_shows_the_basis(patient, supervisor):
    from rest_framework.test import APIClient

    disclosure = _emergency(patient, supervisor)
    api = APIClient()
    api.force_authenticate(supervisor)
    rows = api.get(reverse("api:disclosure-list", kwargs={"patient_id": patient.public_id})).json()["results"]
    assert rows[0]["id"] == str(disclosure.public_id)
    assert (rows[0]["legal_basis"], rows[0]["consent"], rows[0]["emergency_nature"]) == (
        "medical_emergency",
        None,
        NATURE,
    )
