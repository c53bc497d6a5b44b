"""The chart header reads the same from the database as from lists a page already loaded."""

from datetime import timedelta

import pytest

from patients.models import ConsentKind, DischargeType, RevocationMethod, site_today
from patients.selectors import chart_header

from .factories import ConsentFactory, EpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _both(patient):
    episodes = list(patient.episodes.select_related("primary_counselor").order_by("-admission_date"))
    consents = list(patient.consents.order_by("-signed_at"))
    asked = chart_header(patient)
    given = chart_header(patient, episodes=episodes, consents=consents)
    return asked, given


def _same(asked, given):
    assert given.open_episode == asked.open_episode
    assert [(a.level, a.text) for a in given.alerts] == [(a.level, a.text) for a in asked.alerts]
    assert (given.age, given.age_group) == (asked.age, asked.age_group)


@pytest.mark.parametrize(
    "consent",
    ["none", "active", "expired", "expires_today", "revoked", "counselling_notes_only"],
)
def test_consent_states_give_the_same_header(consent):
    patient = PatientFactory()
    today = site_today(patient.site)
    if consent == "active":
        ConsentFactory(patient=patient)
    elif consent == "expired":
        ConsentFactory(patient=patient, expires_on=today - timedelta(days=1))
    elif consent == "expires_today":
        ConsentFactory(patient=patient, expires_on=today)
    elif consent == "revoked":
        ConsentFactory(patient=patient, revoked_on=today, revocation_method=RevocationMethod.FORM)
    elif consent == "counselling_notes_only":
        ConsentFactory(patient=patient, kind=ConsentKind.COUNSELLING_NOTES)
    asked, given = _both(patient)
    _same(asked, given)
    no_consent = any("No active Part 2 consent" in a.text for a in given.alerts)
    assert no_consent == (consent not in ("active", "expires_today"))


def _discharged(patient, admitted_days_ago, discharged_days_ago):
    today = site_today(patient.site)
    EpisodeFactory(
        patient=patient,
        admission_date=today - timedelta(days=admitted_days_ago),
        discharge_date=today - timedelta(days=discharged_days_ago),
        discharge_type=DischargeType.COMPLETED,
    )


def test_the_open_episode_is_found_among_earlier_ones():
    patient = PatientFactory()
    _discharged(patient, 300, 200)
    EpisodeFactory(patient=patient, admission_date=site_today(patient.site) - timedelta(days=20))
    asked, given = _both(patient)
    _same(asked, given)
    assert given.open_episode is not None and given.open_episode.discharge_date is None


def test_a_discharged_patient_has_no_open_episode():
    patient = PatientFactory()
    _discharged(patient, 90, 1)
    asked, given = _both(patient)
    _same(asked, given)
    assert given.open_episode is None
