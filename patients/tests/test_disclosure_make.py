"""disclosure_make: refused for each defect with the reason; logged with the notice when covered."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import Action, AuditEvent
from patients.models import Disclosure, Part2NoticeTemplate, site_today
from patients.services import disclosure_make

from .factories import ConsentFactory, PatientFactory

pytestmark = pytest.mark.django_db

REQUEST = {
    "recipient": "Springfield Probation Office",
    "purpose": "legal",
    "categories": ["attendance"],
    "channel": "fax",
}


def disclose(patient, by, **changes):
    return disclosure_make(patient=patient, by=by, **{**REQUEST, **changes})


def refused(patient, by, field, **changes):
    with pytest.raises(ValidationError) as exc:
        disclose(patient, by, **changes)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.DISCLOSE).exists()
    return exc.value.message_dict[field][0]


def test_it_discloses_when_the_consent_covers_it_and_logs_everything(patient, consent, intake):
    disclosure = disclose(patient, intake, consent=consent, recipient="springfield  probation office")
    notice = Part2NoticeTemplate.objects.get(version=1)
    assert disclosure.notice == notice
    assert notice.short_statement == "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
    assert disclosure.consent == consent and disclosure.legal_basis == "consent"
    assert (disclosure.disclosed_by, disclosure.channel, disclosure.categories) == (intake, "fax", ["attendance"])
    event = AuditEvent.objects.get(action=Action.DISCLOSE)
    assert event.patient_ref == str(patient.public_id)
    assert event.changes["after"]["consent"] == str(consent.public_id)
    assert event.changes["after"]["notice_version"] == 1


def test_it_uses_the_newest_notice_version(patient, consent, intake):
    Part2NoticeTemplate.objects.create(
        version=2, short_statement="Short v2", long_statement="Long v2", effective_on=site_today(patient.site)
    )
    assert disclose(patient, intake, consent=consent).notice.version == 2


def test_it_refuses_without_any_consent(patient, intake):
    assert "no consent on file" in refused(patient, intake, "consent")


def test_it_refuses_under_an_expired_consent(patient, intake):
    consent = ConsentFactory(
        patient=patient,
        expires_on=site_today(patient.site) - timedelta(days=1),
        signed_at=timezone.now() - timedelta(days=60),
    )
    assert "expired" in refused(patient, intake, "consent", consent=consent)


def test_it_refuses_under_a_revoked_consent(patient, consent, intake):
    from patients.services import consent_revoke

    consent_revoke(consent=consent, revoked_on=site_today(patient.site), method="form", by=intake)
    assert "revoked" in refused(patient, intake, "consent", consent=consent)


def test_it_refuses_a_category_the_consent_does_not_cover_and_names_it(patient, consent, intake):
    message = refused(patient, intake, "categories", consent=consent, categories=["attendance", "toxicology"])
    assert "Toxicology results" in message and "Attendance" not in message


def test_it_refuses_a_recipient_the_consent_does_not_name(patient, consent, intake):
    message = refused(patient, intake, "recipient", consent=consent, recipient="Acme Employer Inc")
    assert "Acme Employer Inc" in message and "Springfield Probation Office" in message


def test_it_refuses_a_purpose_the_consent_does_not_cover(patient, consent, intake):
    assert "Employment" in refused(patient, intake, "purpose", consent=consent, purpose="employment")


def test_it_refuses_another_patients_consent(patient, consent, intake, site):
    stranger = PatientFactory(site=site)
    refused(stranger, intake, "consent", consent=consent)


def test_it_refuses_counselling_notes_under_an_all_records_consent(patient, intake):
    consent = ConsentFactory(patient=patient, categories=["all_sud_records"])
    assert "counselling notes" in refused(
        patient, intake, "categories", consent=consent, categories=["sud_counselling_notes"]
    )


def test_a_tpo_consent_covers_any_recipient_for_tpo_purposes(patient, intake):
    tpo = ConsentFactory(
        patient=patient,
        kind="tpo",
        recipients="My treating providers and health plans",
        purposes=["treatment", "payment", "operations"],
        categories=["all_sud_records"],
    )
    disclosure = disclose(patient, intake, recipient="Demo Health Plan", purpose="payment", categories=["diagnosis"])
    assert disclosure.consent == tpo
    with pytest.raises(ValidationError) as exc:
        disclose(patient, intake, consent=tpo, recipient="Demo Health Plan", purpose="legal")
    assert "Court, probation or parole" in exc.value.message_dict["purpose"][0]


def test_it_finds_a_covering_consent_on_file(patient, intake):
    ConsentFactory(patient=patient, recipients="Someone Else", signed_at=timezone.now() - timedelta(days=1))
    covering = ConsentFactory(patient=patient, signed_at=timezone.now() - timedelta(days=5))
    assert disclose(patient, intake).consent == covering


def test_it_explains_when_no_consent_on_file_covers_it(patient, consent, intake):
    message = refused(patient, intake, "recipient", recipient="Acme Employer Inc")
    assert "Acme Employer Inc" in message


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"recipient": " "}, "recipient"),
        ({"purpose": ""}, "purpose"),
        ({"categories": []}, "categories"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_it_refuses_incomplete_requests(patient, consent, intake, bad, field):
    refused(patient, intake, field, consent=consent, **bad)


def test_the_accounting_covers_three_years(patient, consent, intake):
    recent = disclose(patient, intake, consent=consent)
    old = disclose(patient, intake, consent=consent)
    Disclosure.objects.filter(pk=old.pk).update(disclosed_at=timezone.now() - timedelta(days=3 * 366))
    assert list(patient.disclosures.for_accounting()) == [recent]
