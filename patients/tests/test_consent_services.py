"""consent_record / consent_revoke: every §2.31 element, TPO and counselling-note rules, status."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action, AuditEvent
from patients.models import (
    REVOCATION_STATEMENT,
    TPO_RECIPIENTS,
    Consent,
    ConsentStatus,
    NeverDeleted,
    site_today,
)
from patients.services import consent_record, consent_revoke

from .factories import ConsentFactory

pytestmark = pytest.mark.django_db

COMPLETE = {
    "kind": "standard",
    "disclosing_party": "Riverside Test program",
    "categories": ["attendance", "toxicology"],
    "recipients": "Springfield Probation Office",
    "purposes": ["legal"],
    "expires_on": None,
    "expiry_event": "End of probation",
    "revocation_acknowledged": True,
    "redisclosure_acknowledged": True,
    "refusal_acknowledged": True,
    "signer_name": "Testperson Example",
}


def record(patient, by, **changes):
    return consent_record(patient=patient, by=by, **{**COMPLETE, **changes})


def test_it_records_a_complete_consent_with_the_statements(patient, intake):
    consent = record(patient, intake)
    assert consent.status == ConsentStatus.ACTIVE
    assert consent.revocation_statement == REVOCATION_STATEMENT
    assert consent.signed_at is not None
    event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(consent.public_id))
    assert event.changes["after"]["categories"] == ["attendance", "toxicology"]


@pytest.mark.parametrize(
    "missing, field",
    [
        ({"disclosing_party": ""}, "disclosing_party"),
        ({"categories": []}, "categories"),
        ({"categories": ["everything"]}, "categories"),
        ({"recipients": "  "}, "recipients"),
        ({"purposes": []}, "purposes"),
        ({"purposes": ["other"]}, "purpose_detail"),
        ({"expiry_event": ""}, "expires_on"),
        ({"revocation_acknowledged": False}, "revocation_acknowledged"),
        ({"redisclosure_acknowledged": False}, "redisclosure_acknowledged"),
        ({"refusal_acknowledged": False}, "refusal_acknowledged"),
        ({"signer_name": ""}, "signer_name"),
        ({"signed_by": "representative"}, "representative_relationship"),
    ],
)
def test_it_refuses_a_consent_missing_an_element(patient, intake, missing, field):
    with pytest.raises(ValidationError) as exc:
        record(patient, intake, **missing)
    assert field in exc.value.message_dict
    assert not Consent.objects.exists()


def test_a_representative_signs_with_their_authority(patient, intake):
    consent = record(patient, intake, signed_by="representative", representative_relationship="Parent of a minor")
    assert consent.representative_relationship == "Parent of a minor"


def test_it_refuses_an_expiry_before_signing_and_a_future_signature(patient, intake):
    with pytest.raises(ValidationError) as exc:
        record(patient, intake, expires_on=site_today(patient.site) - timedelta(days=1))
    assert "expires_on" in exc.value.message_dict
    with pytest.raises(ValidationError):
        record(patient, intake, signed_at=timezone.now() + timedelta(days=1))


def test_a_tpo_consent_gets_the_general_description_and_tpo_purposes(patient, intake):
    consent = record(patient, intake, kind="tpo", recipients="", purposes=[], categories=["all_sud_records"])
    assert consent.recipients == TPO_RECIPIENTS
    assert set(consent.purposes) == {"treatment", "payment", "operations"}
    assert consent.purpose_detail == "treatment, payment, and health care operations"
    assert "proceedings against me" in consent.redisclosure_statement


def test_a_tpo_consent_covers_only_tpo_purposes(patient, intake):
    with pytest.raises(ValidationError) as exc:
        record(patient, intake, kind="tpo", purposes=["legal"])
    assert "purposes" in exc.value.message_dict


def test_counselling_notes_need_a_consent_of_their_own(patient, intake):
    with pytest.raises(ValidationError, match="their own consent"):
        record(patient, intake, categories=["attendance", "sud_counselling_notes"])
    with pytest.raises(ValidationError, match="counselling notes only"):
        record(patient, intake, kind="counselling_notes", categories=["sud_counselling_notes", "diagnosis"])
    consent = record(patient, intake, kind="counselling_notes", categories=["sud_counselling_notes"])
    assert not consent.covers_category("diagnosis")


def test_all_sud_records_never_includes_counselling_notes(patient):
    consent = ConsentFactory(patient=patient, categories=["all_sud_records"])
    assert consent.covers_category("toxicology")
    assert not consent.covers_category("sud_counselling_notes")


def test_status_is_computed_on_the_sites_date(patient):
    today = site_today(patient.site)
    assert ConsentFactory(patient=patient, expires_on=today).status == ConsentStatus.ACTIVE
    expired = ConsentFactory(
        patient=patient, expires_on=today - timedelta(days=1), signed_at=timezone.now() - timedelta(days=30)
    )
    assert expired.status == ConsentStatus.EXPIRED
    assert expired.status_on(today - timedelta(days=1)) == ConsentStatus.ACTIVE


def test_revocation_takes_effect_at_once_and_is_audited(consent, intake):
    today = site_today(consent.patient.site)
    consent_revoke(consent=consent, revoked_on=today, method="letter", by=intake)
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REVOKED and consent.revoked_by == intake
    event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(consent.public_id))
    assert event.changes["after"]["revocation_method"] == "letter"
    with pytest.raises(ValidationError, match="already revoked"):
        consent_revoke(consent=consent, revoked_on=today, method="letter", by=intake)


def test_it_refuses_a_revocation_dated_in_the_future_or_before_signing(consent, intake):
    today = site_today(consent.patient.site)
    with pytest.raises(ValidationError) as exc:
        consent_revoke(consent=consent, revoked_on=today + timedelta(days=1), method="letter", by=intake)
    assert "revoked_on" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        consent_revoke(consent=consent, revoked_on=today - timedelta(days=400), method="letter", by=intake)
    assert "revoked_on" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        consent_revoke(consent=consent, revoked_on=today, method="telepathy", by=intake)
    assert "method" in exc.value.message_dict
    consent.refresh_from_db()
    assert consent.revoked_on is None


def test_consents_are_never_deleted(consent):
    with pytest.raises(NeverDeleted):
        consent.delete()
    with pytest.raises(NeverDeleted):
        Consent.objects.all().delete()


def test_the_database_refuses_a_consent_without_expiry_or_acknowledgements(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(patient=patient, expires_on=None, expiry_event="")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(patient=patient, revocation_acknowledged=False)
