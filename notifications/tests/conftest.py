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
