"""Fixtures for the plans tests (shared ones live in tests/fixtures.py)."""

from datetime import timedelta

import pytest

from patients.models import site_today
from users.models import Role

from .helpers import make_episode, make_patient


@pytest.fixture
def counselor(make_staff):
    return make_staff(Role.CLINICIAN, full_name="Carla Counselor", credentials="LADC")


@pytest.fixture
def patient(site, counselor):
    return make_patient(site, primary_counselor=counselor)


@pytest.fixture
def episode(patient, counselor):
    """Admitted 10 days ago (site time), counseled by ``counselor``."""
    return make_episode(patient, admitted=site_today(patient.site) - timedelta(days=10), by=counselor)


@pytest.fixture
def other_patient(other_site):
    return make_patient(other_site)
