"""Fixtures for the notifications tests: a fake patient with a primary counselor."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest

from patients import services as patient_services
from patients.models import site_today
from users.models import Role

_names = count(1)


@pytest.fixture
def counselor(make_staff):
    return make_staff(Role.CLINICIAN, full_name="Casey Counselor")


@pytest.fixture
def make_patient(site, make_staff, counselor):
    def make(*, at=None, by=None):
        at = at or site
        by = by or (counselor if at == site else make_staff(Role.CLINICIAN, at=at))
        patient = patient_services.patient_register(
            site=at,
            by=by,
            allow_duplicate=True,
            legal_first_name="Sam",
            legal_last_name=f"Placeholder{next(_names)}",
            date_of_birth=date(1985, 3, 2),
            primary_counselor=by,
        )
        patient_services.episode_admit(patient=patient, admission_date=site_today(at) - timedelta(days=5), by=by)
        return patient

    return make


@pytest.fixture
def patient(make_patient):
    return make_patient()


# --- Outbox and reminders -------------------------------------------------------------------------


@pytest.fixture
def sms_patient(make_patient):
    """A patient who prefers texts and agreed to them at an exact number."""
    from patients.models import Patient

    patient = make_patient()
    Patient.objects.filter(pk=patient.pk).update(
        preferred_channel="sms",
        sms_opt_in=True,
        sms_opt_in_on=date(2026, 1, 5),
        sms_opt_in_source="intake_form",
        sms_number="+12125550143",
    )
    patient.refresh_from_db()
    return patient


@pytest.fixture
def make_session(site, counselor):
    """``make_session(starts_at, patients=[...])`` → a scheduled individual session with those
    patients on its roster (one-off additions)."""
    from scheduling.models import RosterAddition, TherapySession

    def make(starts_at, *, patients=(), minutes: int = 60):
        session = TherapySession.objects.create(
            site=site, kind="individual", starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes)
        )
        for p in patients:
            RosterAddition.objects.create(session=session, episode=p.episodes.open().first(), added_by=counselor)
        return session

    return make
