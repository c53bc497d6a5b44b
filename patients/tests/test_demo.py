"""patients.demo.seed: fake patients across both demo sites, safe to run twice."""

import io

import pytest

from patients import demo
from patients.models import Consent, Disclosure, Episode, Patient, Referral, Stage, SupportContact
from users import demo as users_demo

pytestmark = pytest.mark.django_db


def counts():
    return [m.objects.count() for m in (Patient, Referral, Episode, Consent, SupportContact, Disclosure)]


def test_it_builds_demo_patients_and_can_run_twice():
    context = users_demo.seed(io.StringIO(), {})
    demo.seed(io.StringIO(), context)
    first = counts()
    demo.seed(io.StringIO(), context)
    assert counts() == first
    assert first[0] == 12
    assert set(Patient.objects.values_list("site__name", flat=True)) == {"Riverside", "Lakeside"}
    stages = set(Referral.objects.values_list("stage", flat=True))
    assert {Stage.ADMITTED, Stage.WAITLISTED, Stage.RECEIVED, Stage.ASSESSED} <= stages
    assert Episode.objects.open().count() == 3
    assert set(Consent.objects.values_list("kind", flat=True)) == {"tpo", "standard"}
