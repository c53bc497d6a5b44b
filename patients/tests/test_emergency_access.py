"""Break-glass emergency access (HIPAA §164.312(a)): exact MRN + date of birth, a reason,
time-boxed read-only access to one chart of another site, audited with the reason, the site's
supervisors and directors alerted, reviewed afterwards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from notifications.models import Alert, AlertKind, OutboundMessage
from patients import services
from patients.models import EmergencyAccess, ReviewOutcome
from patients.permissions import patients_visible_to
from users.models import Role

from .factories import ConsentFactory, EpisodeFactory, PatientFactory, ReferralFactory, SupportContactFactory
from .helpers import count_queries

pytestmark = pytest.mark.django_db

REASON = "Patient brought to our site unresponsive; need medication history and allergies."
URL = reverse("patients:emergency_access")


@pytest.fixture
def patient(site):
    return PatientFactory(site=site, date_of_birth=date(1988, 3, 14))


@pytest.fixture
def outsider(make_staff, other_site):
    """A counselor of another site: sees nothing of ``site`` without breaking the glass."""
    return make_staff(Role.CLINICIAN, at=other_site)


@pytest.fixture
def outsider_client(outsider):
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def director(make_staff):
    return make_staff(Role.DIRECTOR)


def _open(client, patient, *, reason=REASON, mrn=None, dob=None):
    return client.post(
        URL,
        {
            "mrn": patient.mrn if mrn is None else mrn,
            "date_of_birth": (dob or patient.date_of_birth).isoformat(),
            "reason": reason,
        },
    )


def _chart(patient) -> str:
    return reverse("patients:detail", args=[patient.public_id])


# --- opening it ------------------------------------------------------------------------------------------


def test_it_opens_the_chart_read_only_with_the_exact_mrn_and_birth_date(outsider_client, outsider, patient):
    assert outsider_client.get(_chart(patient)).status_code == 404  # nothing without the glass broken
    # The MRN is matched exactly, as staff type it (case and separators do not matter).
    response = _open(outsider_client, patient, mrn=f" {patient.mrn.lower()[:4]}-{patient.mrn.lower()[4:]} ")
    assert response.status_code == 302
    assert response["Location"] == _chart(patient)
    access = EmergencyAccess.objects.get()
    assert (access.user, access.patient, access.site, access.reason) == (outsider, patient, patient.site, REASON)
    assert access.expires_at - access.started_at == timedelta(minutes=60)
    page = outsider_client.get(_chart(patient))
    assert page.status_code == 200
    html = page.content.decode()
    assert patient.legal_first_name in html
    # The banner on the page: what it is, why, until when; and no edit links.
    assert "Emergency access</strong> — reason: " + REASON in html.replace("&#x27;", "'")
    expires = timezone.localtime(access.expires_at, patient.site.zone)
    assert f"expires at {expires:%Y-%m-%d %H:%M}" in html
    assert reverse("patients:edit", args=[patient.public_id]) not in html


def test_the_length_of_access_is_a_setting(outsider_client, patient, settings):
    settings.BREAK_GLASS_MINUTES = 15
    _open(outsider_client, patient)
    access = EmergencyAccess.objects.get()
    assert access.expires_at - access.started_at == timedelta(minutes=15)


def test_a_wrong_pair_gets_the_same_answer_as_an_unknown_patient(outsider_client, patient):
    wrong_birth = _open(outsider_client, patient, dob=patient.date_of_birth + timedelta(days=1))
    unknown = _open(outsider_client, patient, mrn="P00000000")
    assert wrong_birth.status_code == unknown.status_code == 200
    assert (
        wrong_birth.context["form"].errors
        == unknown.context["form"].errors
        == {"__all__": [services.EMERGENCY_NOT_FOUND]}
    )
    assert patient.legal_first_name not in wrong_birth.content.decode()
    assert not EmergencyAccess.objects.exists()
    # Each miss is audited (who, when, the reason they gave), never with the MRN or birth date tried.
    misses = AuditEvent.objects.filter(action=Action.SEARCH, object_type="patients.EmergencyAccessLookup")
    assert [e.changes for e in misses.order_by("id")] == [
        {"found": False, "failures": 1},
        {"found": False, "failures": 2},
    ]
    for event in misses:
        assert event.reason == REASON and event.patient_ref == ""
        assert patient.mrn not in str(event.changes) and "1988" not in str(event.changes)


def test_the_mrn_alone_or_a_name_does_not_open_anything(outsider_client, patient):
    response = outsider_client.post(URL, {"mrn": patient.mrn, "date_of_birth": "", "reason": REASON})
    assert response.context["form"].errors == {"date_of_birth": ["Enter the patient's date of birth."]}
    response = outsider_client.post(
        URL, {"mrn": patient.legal_last_name, "date_of_birth": patient.date_of_birth.isoformat(), "reason": REASON}
    )
    assert response.context["form"].errors == {"__all__": [services.EMERGENCY_NOT_FOUND]}
    assert not EmergencyAccess.objects.exists()


def test_failed_lookups_are_rate_limited(outsider_client, patient, settings):
    settings.BREAK_GLASS_LOOKUP_FAILURES = 3
    for _ in range(3):
        _open(outsider_client, patient, mrn="P00000000")
    # Even the right pair is refused now: a guessing run cannot finish by luck.
    response = _open(outsider_client, patient)
    assert response.status_code == 429
    assert "Too many look-ups" in response.context["form"].non_field_errors()[0]
    assert not EmergencyAccess.objects.exists()
    refused = AuditEvent.objects.filter(object_type="patients.EmergencyAccessLookup").order_by("-id").first()
    assert refused.changes == {"found": False, "refused": "too_many_failed_lookups"}


def test_a_reason_is_required_and_must_say_something(outsider_client, patient):
    blank = _open(outsider_client, patient, reason="")
    short = _open(outsider_client, patient, reason="urgent")
    for response in (blank, short):
        assert list(response.context["form"].errors) == ["reason"]
        assert "at least 20 characters" in response.context["form"].errors["reason"][0]
    assert not EmergencyAccess.objects.exists()
    # Nothing was looked up, so nothing counts towards the limit.
    assert not AuditEvent.objects.filter(object_type="patients.EmergencyAccessLookup").exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.INTAKE, 403), (Role.SITE_ADMIN, 403), (Role.CLINICIAN, 200), (Role.SUPERVISOR, 200), (Role.DIRECTOR, 200)],
)
def test_who_may_break_the_glass(client_as, other_site, role, status):
    assert client_as(role, at=other_site).get(URL).status_code == status


def test_anonymous_is_sent_to_sign_in():
    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_site_admin_of_the_patients_site_cannot_use_it_to_see_patients(make_staff, patient, other_site):
    person = make_staff(Role.SITE_ADMIN)  # at the patient's site, where they never see patients
    from users.tests.factories import MembershipFactory

    MembershipFactory(user=person, site=other_site, role=Role.CLINICIAN)
    client = Client()
    client.force_login(person)
    response = _open(client, patient)
    assert response.context["form"].errors == {"__all__": [services.EMERGENCY_NOT_FOUND]}
    assert client.get(_chart(patient)).status_code == 404


def test_someone_who_already_sees_the_patient_is_sent_to_the_chart(client_as, patient):
    client = client_as(Role.CLINICIAN)
    response = _open(client, patient)
    assert response.status_code == 302 and response["Location"] == _chart(patient)
    assert not EmergencyAccess.objects.exists()


def test_a_second_lookup_while_access_is_open_reuses_the_grant(outsider_client, patient):
    _open(outsider_client, patient)
    _open(outsider_client, patient, reason="Another reason that is long enough to count.")
    assert EmergencyAccess.objects.count() == 1


# --- what it shows, and for how long -------------------------------------------------------------------


def test_every_page_seen_is_audited_with_the_reason(outsider_client, outsider, patient):
    consent = ConsentFactory(patient=patient)
    EpisodeFactory(patient=patient)
    SupportContactFactory(patient=patient)
    _open(outsider_client, patient)
    p = patient.public_id
    urls = [
        _chart(patient),
        reverse("patients:consent_list", args=[p]),
        reverse("patients:consent_detail", args=[p, consent.public_id]),
        reverse("patients:disclosure_list", args=[p]),
        reverse("patients:disclosure_accounting", args=[p]),
        reverse("patients:support_list", args=[p]),
    ]
    for url in urls:
        page = outsider_client.get(url)
        assert page.status_code == 200, url
        assert "Emergency access</strong>" in page.content.decode(), url
    access = EmergencyAccess.objects.get()
    views = AuditEvent.objects.filter(actor=outsider, action=Action.VIEW, patient_ref=str(p))
    assert views.count() == len(urls)
    assert set(views.values_list("reason", flat=True)) == {REASON}
    assert {e.changes["emergency_access"] for e in views} == {str(access.public_id)}
    # The grant itself is audited too, with the reason.
    grant = AuditEvent.objects.get(action=Action.BREAK_GLASS)
    assert (grant.actor, grant.patient_ref, grant.reason) == (outsider, str(p), REASON)
    assert grant.object_id == str(access.public_id)


def test_access_ends_when_it_expires(outsider_client, patient):
    _open(outsider_client, patient)
    assert outsider_client.get(_chart(patient)).status_code == 200
    access = EmergencyAccess.objects.get()
    # An hour passes: the grant is now in the past.
    EmergencyAccess.objects.filter(pk=access.pk).update(
        started_at=access.started_at - timedelta(minutes=61), expires_at=access.expires_at - timedelta(minutes=61)
    )
    assert outsider_client.get(_chart(patient)).status_code == 404
    assert outsider_client.get(reverse("assessments:patient", args=[patient.public_id])).status_code == 404
    assert patient not in patients_visible_to(outsider)


def test_a_grant_opened_an_hour_ago_is_over(outsider, patient):
    access, created = services.emergency_access_open(
        by=outsider,
        mrn=patient.mrn,
        date_of_birth=patient.date_of_birth,
        reason=REASON,
        now=timezone.now() - timedelta(minutes=60, seconds=1),
    )
    assert created and not access.is_live()
    assert not patients_visible_to(outsider).filter(pk=patient.pk).exists()


def test_the_holder_can_end_it_now(outsider_client, outsider, patient, make_staff, other_site):
    _open(outsider_client, patient)
    access = EmergencyAccess.objects.get()
    someone_else = Client()
    someone_else.force_login(make_staff(Role.CLINICIAN, at=other_site))
    assert someone_else.post(reverse("patients:emergency_end", args=[access.public_id])).status_code == 404
    response = outsider_client.post(reverse("patients:emergency_end", args=[access.public_id]))
    assert response.status_code == 302
    assert outsider_client.get(_chart(patient)).status_code == 404
    access.refresh_from_db()
    assert access.ended_at is not None
    assert AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(access.public_id)).exists()


def test_writes_are_refused(outsider_client, patient):
    consent = ConsentFactory(patient=patient)
    contact = SupportContactFactory(patient=patient)
    referral = ReferralFactory(patient=patient)
    _open(outsider_client, patient)
    p = patient.public_id
    for url in [
        reverse("patients:edit", args=[p]),
        reverse("patients:archive", args=[p]),
        reverse("patients:consent_create", args=[p]),
        reverse("patients:consent_revoke", args=[p, consent.public_id]),
        reverse("patients:disclosure_create", args=[p]),
        reverse("patients:support_create", args=[p]),
        reverse("patients:support_remove", args=[p, contact.public_id]),
        reverse("patients:episode_admit", args=[p]),
        reverse("intake:referral_advance", args=[referral.public_id]),
        reverse("assessments:administer", args=[p, "phq-9"]),
        reverse("plans:treatment_plan_start", args=[p]),
        reverse("plans:relapse", args=[p]),
        reverse("sessions:patient_followup", args=[p]),
    ]:
        assert outcome_of(outsider_client.post(url, {"reason": "x", "legal_first_name": "Changed"})) == "refused", url
    patient.refresh_from_db()
    assert patient.legal_first_name != "Changed"


def outcome_of(response) -> str:
    return "refused" if response.status_code in (403, 404, 405) else f"allowed {response.status_code}"


def test_other_users_are_unaffected(outsider_client, patient, make_staff, other_site, client_as):
    _open(outsider_client, patient)
    colleague = Client()
    colleague.force_login(make_staff(Role.CLINICIAN, at=other_site))
    assert colleague.get(_chart(patient)).status_code == 404
    own = client_as(Role.CLINICIAN)  # a counselor of the patient's own site
    page = own.get(_chart(patient))
    assert page.status_code == 200
    assert "Emergency access</strong>" not in page.content.decode()
    event = AuditEvent.objects.filter(actor=own.user, action=Action.VIEW).latest("id")
    assert event.reason == "" and "emergency_access" not in event.changes


def test_the_outsiders_own_site_pages_carry_no_banner(outsider_client, patient, outsider, other_site):
    mine = PatientFactory(site=other_site)
    _open(outsider_client, patient)
    page = outsider_client.get(_chart(mine))
    assert page.status_code == 200
    assert "Emergency access</strong>" not in page.content.decode()
    assert AuditEvent.objects.filter(actor=outsider, patient_ref=str(mine.public_id)).latest("id").reason == ""


def test_the_chart_costs_the_same_queries_under_break_glass_for_more_records(outsider_client, patient):
    _open(outsider_client, patient)
    EpisodeFactory(patient=patient)
    ConsentFactory(patient=patient)
    SupportContactFactory(patient=patient)
    url = _chart(patient)
    outsider_client.get(url)
    small = count_queries(lambda: outsider_client.get(url))
    for _ in range(4):
        ConsentFactory(patient=patient)
        SupportContactFactory(patient=patient)
        ReferralFactory(patient=patient)
    large = count_queries(lambda: outsider_client.get(url))
    assert small == large
    assert small <= 25


# --- the alert and the review ---------------------------------------------------------------------------


def test_the_sites_supervisors_and_directors_are_alerted_without_phi_in_email(
    outsider_client, outsider, patient, supervisor, director, counselor_of_site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _open(outsider_client, patient)
    access = EmergencyAccess.objects.get()
    alert = Alert.objects.get(kind=AlertKind.EMERGENCY_ACCESS)
    assert (alert.site, alert.patient, alert.object_id) == (patient.site, patient, str(access.public_id))
    assert set(alert.recipients.all()) == {supervisor, director}
    assert alert.raised_by == outsider
    # The alert opens the review page.
    page = Client()
    page.force_login(supervisor)
    detail = page.get(reverse("notifications:alert_detail", args=[alert.public_id]))
    assert reverse("patients:emergency_review", args=[access.public_id]) in detail.content.decode()
    # Each reviewer gets an email that says there is something to review, and nothing more.
    assert set(OutboundMessage.objects.filter(cause=f"alert:{alert.public_id}").values_list("staff", flat=True)) == {
        supervisor.pk,
        director.pk,
    }
    assert sorted(m.to[0] for m in mail.outbox) == sorted([supervisor.email, director.email])
    for message in mail.outbox:
        text = message.subject + message.body
        assert "emergency access" in text.lower()
        for secret in (patient.legal_first_name, patient.legal_last_name, patient.mrn, REASON, outsider.email):
            assert secret not in text


def test_a_site_without_supervisors_alerts_its_counselors(outsider_client, patient, counselor_of_site):
    _open(outsider_client, patient)
    assert list(Alert.objects.get(kind=AlertKind.EMERGENCY_ACCESS).recipients.all()) == [counselor_of_site]


def test_supervisors_see_who_when_why_and_what_was_seen(outsider_client, outsider, patient, supervisor):
    _open(outsider_client, patient)
    outsider_client.get(_chart(patient))
    outsider_client.get(reverse("patients:consent_list", args=[patient.public_id]))
    outsider_client.get(_chart(patient))
    access = EmergencyAccess.objects.get()
    client = Client()
    client.force_login(supervisor)
    page = client.get(reverse("patients:emergency_reviews"))
    assert page.status_code == 200
    html = page.content.decode().replace("&#x27;", "'")
    assert outsider.email in html and REASON in html and patient.legal_first_name in html
    assert "Chart ×2" in html and "Consents" in html
    assert page.context["pending"] == [access]
    detail = client.get(reverse("patients:emergency_review", args=[access.public_id]))
    assert detail.status_code == 200
    pages = [e.page for e in detail.context["events"]]
    assert pages[0] == "Emergency access"  # the grant itself
    assert pages.count("Chart") == 2 and "Consents" in pages


def test_the_review_flow(outsider_client, outsider, patient, supervisor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _open(outsider_client, patient)
    access = EmergencyAccess.objects.get()
    url = reverse("patients:emergency_review", args=[access.public_id])
    client = Client()
    client.force_login(supervisor)
    # Inappropriate needs a note; no outcome is named as such.
    missing = client.post(url, {"outcome": ReviewOutcome.INAPPROPRIATE, "note": ""})
    assert missing.context["form"].errors == {"note": ["Say why the access was inappropriate and what follows."]}
    none = client.post(url, {"outcome": "", "note": ""})
    assert none.context["form"].errors == {"outcome": ["Choose whether the access was appropriate."]}
    response = client.post(url, {"outcome": ReviewOutcome.INAPPROPRIATE, "note": "Not an emergency; HR informed."})
    assert response.status_code == 302
    access.refresh_from_db()
    assert (access.review_outcome, access.reviewed_by, access.review_note) == (
        ReviewOutcome.INAPPROPRIATE,
        supervisor,
        "Not an emergency; HR informed.",
    )
    # Inappropriate ends a grant still open; the alert is closed by the review.
    assert access.ended_at is not None
    assert outsider_client.get(_chart(patient)).status_code == 404
    alert = Alert.objects.get(kind=AlertKind.EMERGENCY_ACCESS)
    assert alert.acknowledged_by == supervisor and not alert.is_open
    event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(access.public_id)).latest("id")
    assert event.actor == supervisor
    assert event.changes["after"]["review_outcome"] == "inappropriate"
    # Reviewed once.
    again = client.post(url, {"outcome": ReviewOutcome.APPROPRIATE})
    assert again.status_code == 200 and again.context["form"] is None
    access.refresh_from_db()
    assert access.review_outcome == ReviewOutcome.INAPPROPRIATE


def test_a_director_may_mark_it_appropriate_without_a_note(outsider_client, patient, director):
    _open(outsider_client, patient)
    access = EmergencyAccess.objects.get()
    client = Client()
    client.force_login(director)
    client.post(reverse("patients:emergency_review", args=[access.public_id]), {"outcome": "appropriate"})
    access.refresh_from_db()
    assert access.review_outcome == ReviewOutcome.APPROPRIATE and access.ended_at is None


@pytest.mark.parametrize(
    ("role", "list_status", "detail_status"),
    [(Role.CLINICIAN, 403, 404), (Role.INTAKE, 403, 404), (Role.SITE_ADMIN, 403, 404)],
)
def test_only_supervisors_and_directors_of_the_site_review(
    outsider_client, patient, client_as, role, list_status, detail_status
):
    _open(outsider_client, patient)
    access = EmergencyAccess.objects.get()
    client = client_as(role)
    assert client.get(reverse("patients:emergency_reviews")).status_code == list_status
    assert client.get(reverse("patients:emergency_review", args=[access.public_id])).status_code == detail_status
    # Nor does the holder review their own access, nor a supervisor of another site.
    assert outsider_client.get(reverse("patients:emergency_review", args=[access.public_id])).status_code == 404


@pytest.fixture
def counselor_of_site(make_staff):
    return make_staff(Role.CLINICIAN)
