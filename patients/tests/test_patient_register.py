"""patient_register: MRN, validation of each bad input, duplicate warning, audit."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action, AuditEvent
from patients.models import Patient, site_today
from patients.services import PossibleDuplicate, patient_find_duplicates, patient_register
from users.models import Role

from .factories import PatientFactory
from .helpers import postgres_only

pytestmark = pytest.mark.django_db


def register(site, by, **fields):
    data = {"legal_first_name": "Robin", "legal_last_name": "Testcase", "date_of_birth": date(1988, 3, 4)}
    data.update(fields)
    return patient_register(site=site, by=by, **data)


def refused(site, by, field, **fields):
    with pytest.raises(ValidationError) as exc:
        register(site, by, **fields)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not Patient.objects.exists()
    return exc.value.message_dict[field]


def test_it_registers_with_a_generated_mrn_and_audits_it(site, intake):
    patient = register(site, intake, phone="(212) 555-0143", email=" Robin@Example.COM ")
    assert patient.mrn.startswith("P") and len(patient.mrn) == 9
    assert patient.phone == "+12125550143"
    assert patient.email == "robin@example.com"
    event = AuditEvent.objects.get(action=Action.CREATE, patient_ref=str(patient.public_id))
    assert event.actor == intake
    assert event.changes["before"] == {}
    assert event.changes["after"]["legal_last_name"] == "Testcase"
    assert event.changes["after"]["mrn"] == patient.mrn


def test_it_gives_every_patient_a_different_mrn(site, intake):
    mrns = {register(site, intake, legal_first_name=f"Robin{i}", allow_duplicate=True).mrn for i in range(30)}
    assert len(mrns) == 30


def test_the_database_refuses_a_repeated_mrn(site):
    first = PatientFactory(site=site)
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(site=site, mrn=first.mrn)


def test_it_derives_the_age_group(site, intake):
    today = site_today(site)
    teen = register(site, intake, date_of_birth=today.replace(year=today.year - 17))
    assert teen.age_group == "adolescent"
    assert teen.age_group_on(today.replace(year=today.year + 1)) == "adult"
    adult = register(site, intake, legal_first_name="Sky", date_of_birth=date(1970, 1, 1))
    assert adult.age_group == "adult"


@pytest.mark.parametrize("phone", ["12345", "555-0143", "(012) 555-0143", "+1 212 055 0143", "call me", "+44"])
def test_it_refuses_an_invalid_phone(site, intake, phone):
    messages = refused(site, intake, "phone", phone=phone)
    assert "valid phone number" in messages[0]


def test_it_accepts_an_international_number(site, intake):
    assert register(site, intake, phone="+44 20 7946 0958").phone == "+442079460958"


def test_it_refuses_an_invalid_email(site, intake):
    refused(site, intake, "email", email="robin@")


def test_it_refuses_a_birth_date_in_the_future(site, intake):
    messages = refused(site, intake, "date_of_birth", date_of_birth=site_today(site) + timedelta(days=1))
    assert "future" in messages[0]


def test_it_refuses_an_impossible_age(site, intake):
    assert "check the year" in refused(site, intake, "date_of_birth", date_of_birth=date(1890, 1, 1))[0]
    too_young = site_today(site) - timedelta(days=365 * 5)
    assert "aged 10 and over" in refused(site, intake, "date_of_birth", date_of_birth=too_young)[0]


def test_it_needs_date_source_and_number_for_sms_opt_in(site, intake):
    with pytest.raises(ValidationError) as exc:
        register(site, intake, sms_opt_in=True)
    assert {"sms_opt_in_on", "sms_opt_in_source", "sms_number"} <= set(exc.value.message_dict)


def test_it_refuses_a_counselor_who_is_not_a_clinician_here(site, other_site, make_staff, intake):
    elsewhere = make_staff(Role.CLINICIAN, at=other_site)
    refused(site, intake, "primary_counselor", primary_counselor=elsewhere)
    refused(site, intake, "primary_counselor", primary_counselor=intake)
    counselor = make_staff(Role.CLINICIAN)
    assert register(site, intake, primary_counselor=counselor).primary_counselor == counselor


def test_it_warns_about_a_likely_duplicate_and_continues_when_confirmed(site, intake):
    existing = register(site, intake)
    with pytest.raises(PossibleDuplicate) as exc:
        register(site, intake, legal_first_name="Robyn")
    assert exc.value.candidates == [existing]
    assert Patient.objects.count() == 1
    second = register(site, intake, legal_first_name="Robyn", allow_duplicate=True)
    assert Patient.objects.count() == 2 and second.mrn != existing.mrn


def test_it_does_not_warn_for_a_different_birth_date_or_name(site, intake):
    register(site, intake)
    register(site, intake, date_of_birth=date(1988, 3, 5))
    register(site, intake, legal_first_name="Alexis", legal_last_name="Nomatch")
    assert Patient.objects.count() == 3


def test_it_only_warns_about_patients_the_user_can_see(site, other_site, intake):
    PatientFactory(
        site=other_site, legal_first_name="Robin", legal_last_name="Testcase", date_of_birth=date(1988, 3, 4)
    )
    register(site, intake)  # no warning: that record is at a site the user does not belong to


@pytest.mark.parametrize("first, last", [("Robyn", "Testcase"), ("Testcase", "Robin"), ("robin", "testcase")])
def test_the_sqlite_fallback_finds_similar_names(site, first, last):
    existing = PatientFactory(
        site=site, legal_first_name="Robin", legal_last_name="Testcase", date_of_birth=date(1988, 3, 4)
    )
    found = patient_find_duplicates(
        first_name=first,
        last_name=last,
        date_of_birth=date(1988, 3, 4),
        within=Patient.objects.all(),
        use_trigram=False,
    )
    assert found == [existing]


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("first, last", [("Robyn", "Testcase"), ("Testcase", "Robin"), ("Robin", "Testcas")])
def test_the_trigram_search_finds_similar_names(site, first, last):
    existing = PatientFactory(
        site=site, legal_first_name="Robin", legal_last_name="Testcase", date_of_birth=date(1988, 3, 4)
    )
    PatientFactory(site=site, legal_first_name="Jordan", legal_last_name="Different", date_of_birth=date(1988, 3, 4))
    found = patient_find_duplicates(
        first_name=first, last_name=last, date_of_birth=date(1988, 3, 4), within=Patient.objects.all(), use_trigram=True
    )
    assert found == [existing]
    assert found[0].name_similarity >= 0.3


def test_it_never_hard_deletes_a_patient(patient):
    from patients.models import NeverDeleted

    with pytest.raises(NeverDeleted):
        patient.delete()
    with pytest.raises(NeverDeleted):
        Patient.objects.all().delete()
    assert Patient.objects.filter(pk=patient.pk).exists()
    assert timezone.now()
