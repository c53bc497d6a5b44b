"""Fixtures for the patients tests (the shared ones live in tests/fixtures.py)."""

import pytest

from users.models import Role

from .factories import ConsentFactory, PatientFactory


@pytest.fixture
def intake(make_staff):
    return make_staff(Role.INTAKE)


@pytest.fixture
def patient(site):
    return PatientFactory(site=site)


@pytest.fixture
def other_patient(other_site):
    return PatientFactory(site=other_site)


@pytest.fixture
def consent(patient):
    return ConsentFactory(patient=patient)
