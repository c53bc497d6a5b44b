"""A consent's expiry event (42 CFR §2.31(a)(7)): a choice that is evaluated, not free text.

"End of treatment" ends the consent at the discharge that follows its signing; "none" is for a
TPO consent only; any other event is described in the consent's words.
"""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from patients.models import Consent, ConsentStatus, ExpiryEvent, expiry_event_from_text, site_today
from patients.selectors import chart_header
from patients.services import consent_record, support_contact_contact_problem
from users.models import Role

from .factories import ConsentFactory, EpisodeFactory, SupportContactFactory

pytestmark = pytest.mark.django_db

TPO = {
    "kind": "tpo",
    "disclosing_party": "Riverside Test program",
    "categories": ["all_sud_records"],
    "expiry_event": ExpiryEvent.END_OF_TREATMENT,
    "revocation_acknowledged": True,
    "redisclosure_acknowledged": True,
    "refusal_acknowledged": True,
    "signer_name": "Testperson Example",
}


def record(patient, by, **changes):
    return consent_record(patient=patient, by=by, **{**TPO, **changes})


def admit(patient, days_ago=30, discharged_days_ago=None):
    today = site_today(patient.site)
    discharged = {}
    if discharged_days_ago is not None:
        discharged = {"discharge_date": today - timedelta(days=discharged_days_ago), "discharge_type": "completed"}
    return EpisodeFactory(patient=patient, admission_date=today - timedelta(days=days_ago), **discharged)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("End of treatment", (ExpiryEvent.END_OF_TREATMENT, "")),
        (" end of  treatment. ", (ExpiryEvent.END_OF_TREATMENT, "")),
        ("Upon discharge", (ExpiryEvent.END_OF_TREATMENT, "")),
        ("end_of_treatment", (ExpiryEvent.END_OF_TREATMENT, "")),
        ("None", (ExpiryEvent.NONE, "")),
        ("none", (ExpiryEvent.NONE, "")),
        ("End of probation", (ExpiryEvent.OTHER, "End of probation")),
        ("other", (ExpiryEvent.OTHER, "")),
        ("", ("", "")),
    ],
)
def test_earlier_free_text_maps_to_the_choice(text, expected):
    assert expiry_event_from_text(text) == expected


def test_free_text_is_kept_as_another_event_in_the_patients_words(patient, intake):
    consent = record(
        patient,
        intake,
        kind="standard",
        recipients="Dr. Quinn Example",
        purposes=["treatment"],
        expiry_event="End of probation",
    )
    assert (consent.expiry_event, consent.expiry_event_detail) == (ExpiryEvent.OTHER, "End of probation")
    assert consent.expiry_description == "End of probation"


def test_another_event_must_be_described(patient, intake):
    with pytest.raises(ValidationError) as exc:
        record(patient, intake, expiry_event=ExpiryEvent.OTHER)
    assert "expiry_event_detail" in exc.value.message_dict
    consent = record(patient, intake, expiry_event="", expiry_event_detail="End of the research study")
    assert consent.expiry_event == ExpiryEvent.OTHER


def test_none_is_only_for_a_tpo_consent(patient, intake):
    standard = {"kind": "standard", "recipients": "Acme Employer Inc", "purposes": ["employment"]}
    with pytest.raises(ValidationError) as exc:
        record(patient, intake, expiry_event=ExpiryEvent.NONE, **standard)
    assert "TPO" in exc.value.message_dict["expiry_event"][0]
    with pytest.raises(ValidationError) as exc:
        record(
            patient,
            intake,
            kind="counselling_notes",
            categories=["sud_counselling_notes"],
            recipients="Dr. Quinn Example",
            purposes=["treatment"],
            expiry_event="none",
        )
    assert "expiry_event" in exc.value.message_dict
    consent = record(patient, intake, expiry_event=ExpiryEvent.NONE)
    assert consent.status == ConsentStatus.ACTIVE
    assert consent.expiry_description == "No expiry (TPO consent)"


def test_none_and_an_expiry_date_contradict_each_other(patient, intake):
    with pytest.raises(ValidationError) as exc:
        record(patient, intake, expiry_event=ExpiryEvent.NONE, expires_on=site_today(patient.site))
    assert "expires_on" in exc.value.message_dict


def test_end_of_treatment_expires_at_the_discharge(patient, intake):
    episode = admit(patient)
    consent = record(patient, intake)
    assert consent.status == ConsentStatus.ACTIVE
    today = site_today(patient.site)
    episode.discharge_date, episode.discharge_type = today, "completed"
    episode.save(update_fields=["discharge_date", "discharge_type"])
    assert consent.status == ConsentStatus.EXPIRED
    assert consent.expiry_problem(today) == (
        f"expired at the end of treatment (the patient was discharged on {today:%Y-%m-%d})"
    )
    # On the days before the discharge it was in force.
    assert consent.status_on(today - timedelta(days=1)) == ConsentStatus.ACTIVE


def test_a_discharge_dated_back_before_the_signing_still_ends_it(patient, intake):
    # Signed during the stay; the discharge is recorded afterwards with an earlier date.
    episode = admit(patient)
    consent = record(patient, intake)
    yesterday = site_today(patient.site) - timedelta(days=1)
    episode.discharge_date, episode.discharge_type = yesterday, "completed"
    episode.save(update_fields=["discharge_date", "discharge_type", "updated_at"])
    assert consent.status == ConsentStatus.EXPIRED
    assert not Consent.objects.active_on(site_today(patient.site), zone=patient.site.zone).exists()


def test_a_consent_signed_at_intake_lasts_until_the_coming_treatment_ends(patient, intake):
    consent = record(patient, intake)  # not admitted yet
    assert consent.status == ConsentStatus.ACTIVE
    admit(patient, days_ago=0)
    assert Consent.objects.get(pk=consent.pk).status == ConsentStatus.ACTIVE


def test_an_earlier_discharge_does_not_end_a_consent_signed_afterwards(patient, intake):
    admit(patient, days_ago=200, discharged_days_ago=100)
    consent = record(patient, intake)
    assert consent.status == ConsentStatus.ACTIVE


def test_a_readmission_does_not_revive_a_consent_that_ended_with_treatment(patient, intake):
    consent = ConsentFactory(
        patient=patient,
        kind="tpo",
        expires_on=None,
        expiry_event=ExpiryEvent.END_OF_TREATMENT,
        signed_at=timezone.now() - timedelta(days=60),
    )
    admit(patient, days_ago=59, discharged_days_ago=20)
    admit(patient, days_ago=5)
    assert consent.status == ConsentStatus.EXPIRED


def test_the_chart_header_and_the_list_agree_on_an_ended_consent(patient, intake):
    admit(patient, days_ago=40, discharged_days_ago=0)
    ConsentFactory(
        patient=patient,
        kind="tpo",
        expires_on=None,
        expiry_event=ExpiryEvent.END_OF_TREATMENT,
        signed_at=timezone.now() - timedelta(days=30),
    )
    today = site_today(patient.site)
    assert not Consent.objects.filter(patient=patient).active_on(today, zone=patient.site.zone).exists()
    assert Consent.objects.filter(patient=patient).active_on(today - timedelta(days=1)).exists()
    alerts = [a.text for a in chart_header(patient).alerts]
    assert "No active Part 2 consent: release nothing" in alerts


def test_a_support_contact_cannot_be_contacted_after_treatment_ended(patient):
    consent = ConsentFactory(
        patient=patient,
        recipients="Morgan Example",
        purposes=["care_coordination"],
        expires_on=None,
        expiry_event=ExpiryEvent.END_OF_TREATMENT,
        signed_at=timezone.now() - timedelta(days=30),
    )
    contact = SupportContactFactory(patient=patient, consent=consent, may_contact=True)
    assert support_contact_contact_problem(contact) is None
    admit(patient, days_ago=29, discharged_days_ago=1)
    assert "expired at the end of treatment" in support_contact_contact_problem(contact)


def test_the_database_refuses_another_event_without_its_description(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(patient=patient, expiry_event=ExpiryEvent.OTHER, expiry_event_detail="")


def test_the_data_migration_maps_every_earlier_answer_and_keeps_the_rows_valid(patient):
    migration = importlib.import_module("patients.migrations.0007_fill_consent_expiry_event")
    rows = {
        text: ConsentFactory(patient=patient, expires_on=None, expiry_event="other", expiry_event_detail="x")
        for text in ["End of treatment", "upon discharge.", "None", "End of probation"]
    }
    for text, consent in rows.items():  # as the old free-text column held them
        Consent.objects.filter(pk=consent.pk).update(expiry_event=text, expiry_event_detail="")
    migration.forward(apps, None)
    got = {
        text: Consent.objects.values_list("expiry_event", "expiry_event_detail").get(pk=c.pk)
        for text, c in rows.items()
    }
    assert got == {
        "End of treatment": ("end_of_treatment", ""),
        "upon discharge.": ("end_of_treatment", ""),
        "None": ("none", ""),
        "End of probation": ("other", "End of probation"),
    }


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"expiry_event": "end_of_treatment"}, ("end_of_treatment", "")),
        ({"expiry_event": "End of treatment"}, ("end_of_treatment", "")),
        ({"expiry_event": "other", "expiry_event_detail": "End of probation"}, ("other", "End of probation")),
    ],
)
def test_the_api_takes_the_choice_or_the_earlier_text(client_as, patient, sent, stored):
    body = {**TPO, "kind": "standard", "recipients": "Dr. Quinn Example", "purposes": ["treatment"], **sent}
    response = client_as(Role.INTAKE).post(
        reverse("api:consent-create", args=[patient.public_id]), body, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["expiry_event"], response.json()["expiry_event_detail"]) == stored


def test_the_api_refuses_none_on_a_standard_consent_by_field(client_as, patient):
    body = {**TPO, "kind": "standard", "recipients": "Acme Employer Inc", "purposes": ["employment"]}
    response = client_as(Role.INTAKE).post(
        reverse("api:consent-create", args=[patient.public_id]),
        {**body, "expiry_event": "none"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "expiry_event" in response.json()
