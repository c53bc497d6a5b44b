"""Fixtures for the assessments tests: fake patients built through the patients services."""

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
    """``make_patient(at=other_site, admitted=False)`` → a fake patient (admitted 20 days ago by
    default) whose primary counselor is ``counselor`` (or a new counselor at another site)."""
    local_staff: dict[int, object] = {site.pk: counselor}

    def make(*, at=None, admitted: bool = True, admitted_days_ago: int = 20, with_counselor: bool = True, **fields):
        at = at or site
        if at.pk not in local_staff:
            local_staff[at.pk] = make_staff(Role.CLINICIAN, at=at)
        by = local_staff[at.pk]
        data = {
            "legal_first_name": "Pat",
            "legal_last_name": f"Example{next(_names)}",
            "date_of_birth": date(1990, 5, 17),
            "sex_at_birth": "female",
            "primary_counselor": by if with_counselor else None,
        }
        data.update(fields)
        patient = patient_services.patient_register(site=at, by=by, allow_duplicate=True, **data)
        if admitted:
            patient_services.episode_admit(
                patient=patient, admission_date=site_today(at) - timedelta(days=admitted_days_ago), by=by
            )
        return patient

    return make


@pytest.fixture
def patient(make_patient):
    return make_patient()
