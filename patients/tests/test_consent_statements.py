"""The statements a consent carries (42 CFR §2.31(a)(4) and (10)): the HIPAA redisclosure statement
on any consent for treatment, payment or operations, and the fundraising opt-out where the program
fundraises (``PROGRAM_FUNDRAISES``)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from patients.models import FUNDRAISING_STATEMENT, TPO_REDISCLOSURE_STATEMENT, Consent
from patients.services import consent_record
from users.models import Role

from .factories import ConsentFactory

pytestmark = pytest.mark.django_db

STANDARD = {
    "kind": "standard",
    "disclosing_party": "Riverside Test program",
    "categories": ["attendance"],
    "recipients": "Springfield Family Practice",
    "purposes": ["treatment", "payment"],
    "expiry_event": "end_of_treatment",
    "revocation_acknowledged": True,
    "redisclosure_acknowledged": True,
    "refusal_acknowledged": True,
    "signer_name": "Testperson Example",
}


def record(patient, by, **changes):
    return consent_record(patient=patient, by=by, **{**STANDARD, **changes})


def test_a_consent_for_treatment_or_payment_says_hipaa_may_redisclose_except_in_proceedings(patient, intake):
    consent = record(patient, intake)
    assert TPO_REDISCLOSURE_STATEMENT in consent.redisclosure_statement
    assert "proceedings against me" in consent.redisclosure_statement


def test_a_consent_for_no_tpo_purpose_does_not(patient, intake):
    consent = record(patient, intake, recipients="Springfield Probation Office", purposes=["legal"])
    assert TPO_REDISCLOSURE_STATEMENT not in consent.redisclosure_statement


def test_a_program_that_does_not_fundraise_asks_nothing(patient, intake, settings):
    settings.PROGRAM_FUNDRAISES = False
    consent = record(patient, intake, kind="tpo", recipients="", purposes=[], fundraising_opt_out=True)
    assert (consent.fundraising_statement, consent.fundraising_opt_out) == ("", None)


def test_a_fundraising_program_tells_of_the_opt_out_and_records_the_answer(patient, intake, settings):
    settings.PROGRAM_FUNDRAISES = True
    consent = record(patient, intake, kind="tpo", recipients="", purposes=[])
    assert consent.fundraising_statement == FUNDRAISING_STATEMENT
    assert consent.fundraising_opt_out is False  # told, and did not opt out
    consent = record(patient, intake, kind="tpo", recipients="", purposes=[], fundraising_opt_out=True)
    assert consent.fundraising_opt_out is True
    # A consent for no TPO purpose is not about fundraising.
    other = record(patient, intake, recipients="Springfield Probation Office", purposes=["legal"])
    assert (other.fundraising_statement, other.fundraising_opt_out) == ("", None)


def test_a_consent_that_was_told_of_fundraising_records_the_answer(patient):
    consent = ConsentFactory.build(
        patient=patient, fundraising_statement=FUNDRAISING_STATEMENT, fundraising_opt_out=None
    )
    with pytest.raises(ValidationError) as exc:
        consent.clean()
    assert "fundraising_opt_out" in exc.value.message_dict


def test_the_database_refuses_a_fundraising_statement_without_the_answer(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(patient=patient, fundraising_statement=FUNDRAISING_STATEMENT, fundraising_opt_out=None)


def test_the_form_asks_for_the_opt_out_only_where_the_program_fundraises(client_as, patient, settings):
    client = client_as(Role.INTAKE)
    url = reverse("patients:consent_create", args=[patient.public_id])
    settings.PROGRAM_FUNDRAISES = False
    assert "fundraising_opt_out" not in client.get(url).context["form"].fields
    settings.PROGRAM_FUNDRAISES = True
    data = {
        "kind": "tpo",
        "disclosing_party": "Riverside Test program",
        "categories": ["all_sud_records"],
        "expiry_event": "end_of_treatment",
        "signed_by": "patient",
        "revocation_acknowledged": "on",
        "redisclosure_acknowledged": "on",
        "refusal_acknowledged": "on",
        "signer_name": "Testperson Example",
    }
    form = client.get(url).content.decode()
    assert "opts out of fundraising communications" in form and FUNDRAISING_STATEMENT in form
    response = client.post(url, {**data, "fundraising_opt_out": "on"})
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.fundraising_opt_out is True and consent.fundraising_statement == FUNDRAISING_STATEMENT
    page = client.get(reverse("patients:consent_detail", args=[patient.public_id, consent.public_id]))
    assert "The patient opted out of fundraising communications." in page.content.decode()
