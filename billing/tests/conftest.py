"""Fixtures for the billing tests (shared ones live in tests/fixtures.py)."""

from datetime import timedelta

import pytest

from patients.models import site_today
from scheduling.tests.factories import make_episode
from users.models import Role

from .helpers import make_code, make_payer


@pytest.fixture
def intake(make_staff):
    return make_staff(Role.INTAKE)


@pytest.fixture
def episode(site):
    """An open episode at 2.1, admitted 40 days ago (site time)."""
    return make_episode(site, admitted=site_today(site) - timedelta(days=40))


@pytest.fixture
def patient(episode):
    return episode.patient


@pytest.fixture
def payer(db):
    return make_payer("Test State Medicaid")


@pytest.fixture
def h0015(db):
    return make_code("H0015", minimum_minutes=180)
