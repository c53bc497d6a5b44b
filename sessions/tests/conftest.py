from datetime import date

import pytest

from users.models import Role

from .factories import enroll, make_session, make_track

# A Monday well in the past, so roll can be taken (ISO week 2026-W41).
MONDAY = date(2026, 10, 5)


@pytest.fixture
def facilitator(make_staff):
    return make_staff(Role.CLINICIAN, full_name="Fran Facilitator", credentials="LADC")


@pytest.fixture
def track(site):
    return make_track(site)


@pytest.fixture
def group(site, track, facilitator):
    """A 3-hour group on MONDAY with three enrolled patients."""
    session = make_session(site, track=track, day=MONDAY, facilitators=[facilitator])
    session.episodes = [
        enroll(site, track, first=name, last=last, counselor=facilitator)
        for name, last in [("Avery", "Alpha"), ("Blake", "Bravo"), ("Casey", "Charlie")]
    ]
    return session
