"""Support contacts: contact is allowed only under an active consent that names the person."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import Action, AuditEvent
from patients.models import SupportContact, site_today
from patients.services import (
    consent_revoke,
    support_contact_contact_allowed,
    support_contact_create,
    support_contact_remove,
    support_contact_update,
)

from .factories import ConsentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def family_consent(patient):
    return ConsentFactory(patient=patient, recipients="Morgan Example", purposes=["care_coordination"])


def test_it_refuses_may_contact_without_a_consent(patient, intake):
    with pytest.raises(ValidationError) as exc:
        support_contact_create(
            patient=patient, by=intake, name="Morgan Example", relationship="family", may_contact=True
        )
    assert "No consent is linked" in exc.value.message_dict["may_contact"][0]
    assert not SupportContact.objects.exists()


def test_it_refuses_a_consent_that_does_not_name_the_person(patient, intake, consent):
    with pytest.raises(ValidationError, match="does not name Morgan Example"):
        support_contact_create(
            patient=patient, by=intake, name="Morgan Example", relationship="family", may_contact=True, consent=consent
        )


def test_it_refuses_another_patients_consent(patient, intake, site):
    other = ConsentFactory(recipients="Morgan Example")
    with pytest.raises(ValidationError) as exc:
        support_contact_create(patient=patient, by=intake, name="Morgan Example", relationship="family", consent=other)
    assert "consent" in exc.value.message_dict


def test_it_allows_contact_under_a_covering_consent_until_it_is_revoked(patient, intake, family_consent):
    contact = support_contact_create(
        patient=patient,
        by=intake,
        name="morgan  example",
        relationship="family",
        phone="212 555 0170",
        may_contact=True,
        joins_family_sessions=True,
        consent=family_consent,
    )
    assert contact.phone == "+12125550170"
    assert support_contact_contact_allowed(contact)
    consent_revoke(consent=family_consent, revoked_on=site_today(patient.site), method="letter", by=intake)
    contact.refresh_from_db()
    assert not support_contact_contact_allowed(contact)


def test_a_person_without_may_contact_is_not_contacted(patient, intake, family_consent):
    contact = support_contact_create(
        patient=patient, by=intake, name="Morgan Example", relationship="sponsor", consent=family_consent
    )
    assert not support_contact_contact_allowed(contact)


def test_it_refuses_an_invalid_phone(patient, intake):
    with pytest.raises(ValidationError) as exc:
        support_contact_create(patient=patient, by=intake, name="Morgan Example", relationship="family", phone="123")
    assert "phone" in exc.value.message_dict


def test_updates_and_removal_are_audited_and_soft(patient, intake, family_consent):
    contact = support_contact_create(patient=patient, by=intake, name="Morgan Example", relationship="family")
    support_contact_update(
        contact=contact,
        by=intake,
        name="Morgan Example",
        relationship="partner",
        may_contact=True,
        consent=family_consent,
    )
    event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(contact.public_id)).get()
    assert event.changes["before"] == {"relationship": "family", "may_contact": False, "consent": None}
    assert event.changes["after"]["consent"] == family_consent.pk
    support_contact_remove(contact=contact, by=intake)
    assert SupportContact.objects.filter(pk=contact.pk).exists()
    assert not patient.support_contacts.active().exists()
    assert AuditEvent.objects.filter(action=Action.DELETE, object_id=str(contact.public_id)).exists()
