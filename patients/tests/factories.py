"""Factories for patient records. Fake people only."""

from datetime import date, timedelta

import factory
from django.utils import timezone

from patients.models import (
    REDISCLOSURE_STATEMENT,
    REFUSAL_STATEMENT,
    REVOCATION_STATEMENT,
    Consent,
    ConsentKind,
    Episode,
    InfoCategory,
    Patient,
    Purpose,
    Referral,
    ReferralSource,
    SupportContact,
)
from patients.services import new_mrn
from users.tests.factories import SiteFactory, UserFactory


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    mrn = factory.LazyFunction(new_mrn)
    legal_first_name = factory.Sequence(lambda n: f"Testperson{n}")
    legal_last_name = "Example"
    date_of_birth = date(1990, 5, 17)


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    patient = factory.SubFactory(PatientFactory)
    site = factory.SelfAttribute("patient.site")
    admission_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))
    admitted_by = factory.SubFactory(UserFactory)


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    patient = factory.SubFactory(PatientFactory)
    site = factory.SelfAttribute("patient.site")
    source = ReferralSource.SELF
    received_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=5))
    reason = "Test referral"
    created_by = factory.SubFactory(UserFactory)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    kind = ConsentKind.STANDARD
    disclosing_party = "Riverside Test program"
    categories = factory.LazyFunction(lambda: [InfoCategory.ATTENDANCE, InfoCategory.TREATMENT_PLAN])
    recipients = "Dr. Quinn Example\nSpringfield Probation Office"
    purposes = factory.LazyFunction(lambda: [Purpose.TREATMENT, Purpose.LEGAL])
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    revocation_acknowledged = True
    revocation_statement = REVOCATION_STATEMENT
    redisclosure_acknowledged = True
    redisclosure_statement = REDISCLOSURE_STATEMENT
    refusal_acknowledged = True
    refusal_statement = REFUSAL_STATEMENT
    signer_name = "Testperson Example"
    signed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    recorded_by = factory.SubFactory(UserFactory)


class SupportContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportContact

    patient = factory.SubFactory(PatientFactory)
    name = "Morgan Example"
    relationship = "family"
