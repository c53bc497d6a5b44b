"""DOMAIN.md §11 "Defective consents": no disclosure on a consent that has expired (also at the end
of treatment) or that on its face fails the required elements; the refusal says why. And the
accounting of disclosures (§2.25) over the 3 years before the request, 29 February included."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from patients.models import Disclosure, ExpiryEvent, accounting_period_start, site_today
from patients.services import disclosure_make
from users.models import Role

from .factories import ConsentFactory, EpisodeFactory

pytestmark = pytest.mark.django_db

REQUEST = {"recipient": "Dr. Quinn Example", "purpose": "treatment", "categories": ["attendance"], "channel": "print"}


def refused(patient, by, **changes) -> str:
    logged = (Disclosure.objects.count(), AuditEvent.objects.filter(action=Action.DISCLOSE).count())
    with pytest.raises(ValidationError) as exc:
        disclosure_make(patient=patient, by=by, **{**REQUEST, **changes})
    assert (Disclosure.objects.count(), AuditEvent.objects.filter(action=Action.DISCLOSE).count()) == logged
    return exc.value.message_dict["consent"][0]


def ends_with_treatment(patient, **fields):
    return ConsentFactory(
        patient=patient,
        expires_on=None,
        expiry_event=ExpiryEvent.END_OF_TREATMENT,
        signed_at=timezone.now() - timedelta(days=20),
        **fields,
    )


def test_it_refuses_under_a_consent_that_ended_with_treatment_and_says_so(patient, intake):
    today = site_today(patient.site)
    episode = EpisodeFactory(patient=patient, admission_date=today - timedelta(days=30))
    consent = ends_with_treatment(patient)
    assert disclosure_make(patient=patient, by=intake, consent=consent, **REQUEST).consent == consent
    episode.discharge_date, episode.discharge_type = today, "completed"
    episode.save(update_fields=["discharge_date", "discharge_type"])
    message = refused(patient, intake, consent=consent)
    assert f"expired at the end of treatment (the patient was discharged on {today:%Y-%m-%d})" in message
    # Looking for a covering consent on file finds none either.
    assert "end of treatment" in refused(patient, intake)


def test_it_refuses_under_a_consent_that_fails_the_required_elements_on_its_face(patient, intake):
    defective = ConsentFactory(patient=patient, disclosing_party="", signer_name="", signed_at=None)
    message = refused(patient, intake, consent=defective)
    assert "required elements of 42 CFR §2.31" in message
    assert "Say who may make the disclosure" in message
    assert "type the signer's full name" in message and "date of signing is missing" in message


def test_a_standard_consent_that_never_expires_is_defective(patient, intake):
    # Recorded before "none" was limited to TPO consents (kept by the data migration).
    consent = ConsentFactory(patient=patient, expires_on=None, expiry_event=ExpiryEvent.NONE)
    assert "TPO" in refused(patient, intake, consent=consent)


def test_the_consent_page_shows_why_nothing_may_be_released(client_as, patient):
    consent = ConsentFactory(patient=patient, disclosing_party="")
    page = client_as(Role.INTAKE).get(reverse("patients:consent_detail", args=[patient.public_id, consent.public_id]))
    assert "does not meet the required elements" in page.content.decode()


def test_the_consent_list_shows_a_consent_that_ended_with_treatment_as_expired(client_as, patient):
    today = site_today(patient.site)
    EpisodeFactory(
        patient=patient, admission_date=today - timedelta(days=30), discharge_date=today, discharge_type="completed"
    )
    ends_with_treatment(patient)
    client = client_as(Role.INTAKE)
    consents = client.get(reverse("patients:consent_list", args=[patient.public_id])).context["consents"]
    assert [c.current_status for c in consents] == ["expired"]
    chart = client.get(reverse("patients:detail", args=[patient.public_id]))
    assert [c.current_status for c in chart.context["consents"]] == ["expired"]
    assert "No active Part 2 consent: release nothing" in [a.text for a in chart.context["chart"].alerts]


def test_the_api_shows_a_consent_that_ended_with_treatment_as_expired(client_as, patient):
    today = site_today(patient.site)
    EpisodeFactory(
        patient=patient, admission_date=today - timedelta(days=30), discharge_date=today, discharge_type="completed"
    )
    ends_with_treatment(patient)
    response = client_as(Role.INTAKE).get(reverse("api:consent-list", args=[patient.public_id]))
    assert [c["status"] for c in response.json()["results"]] == ["expired"]


@pytest.mark.parametrize(
    ("now", "first_day"),
    [
        (datetime(2028, 2, 29, 15, 0, tzinfo=UTC), date(2025, 2, 28)),  # inclusive: 28 Feb, not 1 Mar
        (datetime(2027, 3, 1, 15, 0, tzinfo=UTC), date(2024, 3, 1)),
        (datetime(2026, 7, 4, 2, 0, tzinfo=UTC), date(2023, 7, 3)),  # still 3 July in New York
    ],
)
def test_the_accounting_period_starts_the_same_day_three_years_back(now, first_day):
    zone = ZoneInfo("America/New_York")
    start = accounting_period_start(now, zone)
    assert (start.date(), start.time(), start.tzinfo) == (first_day, datetime.min.time(), zone)


def test_the_accounting_page_answers_on_29_february(client_as, patient, intake):
    consent = ConsentFactory(
        patient=patient,
        signed_at=datetime(2024, 1, 2, tzinfo=UTC),
        expires_on=None,
        expiry_event=ExpiryEvent.OTHER,
        expiry_event_detail="End of probation",
    )
    kept = disclosure_make(patient=patient, by=intake, consent=consent, **REQUEST)
    dropped = disclosure_make(patient=patient, by=intake, consent=consent, **REQUEST)
    Disclosure.objects.filter(pk=kept.pk).update(disclosed_at=datetime(2025, 2, 28, 12, 0, tzinfo=UTC))
    Disclosure.objects.filter(pk=dropped.pk).update(disclosed_at=datetime(2025, 2, 27, 12, 0, tzinfo=UTC))

    class LeapDay:  # the views' clock only: the rest of the request keeps the real one
        def __getattr__(self, name):
            return getattr(timezone, name)

        @staticmethod
        def now():
            return datetime(2028, 2, 29, 15, 0, tzinfo=UTC)

    with mock.patch("patients.views.timezone", LeapDay()):
        response = client_as(Role.CLINICIAN).get(reverse("patients:disclosure_accounting", args=[patient.public_id]))
    assert response.status_code == 200
    assert [d.pk for d in response.context["disclosures"]] == [kept.pk]
    assert "from 2025-02-28 to 2028-02-29" in response.content.decode()
