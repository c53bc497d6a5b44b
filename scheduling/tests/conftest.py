import pytest
from django.test import Client

from users.models import Role

from .factories import make_episode, make_room, make_track


@pytest.fixture
def room(site):
    return make_room(site, name="Group room")


@pytest.fixture
def track(site, room, supervisor):
    return make_track(site, room=room, facilitators=[supervisor], name="Morning IOP")


@pytest.fixture
def episode(site):
    return make_episode(site, first="Rowan", last="Quillfeather")


@pytest.fixture
def enrolled(track, episode, supervisor):
    from datetime import date

    from scheduling import services

    return services.enrollment_create(track=track, episode=episode, start_date=date(2026, 11, 23), by=supervisor)


@pytest.fixture
def session(track):
    from django.utils import timezone

    return track.sessions.filter(starts_at__gte=timezone.now()).order_by("starts_at").first()


@pytest.fixture
def matrix(client_as, make_staff, other_site):
    """``matrix(role)`` → a signed-in client; ``matrix("other")`` a member of another site only;
    ``matrix(None)`` anonymous."""

    def make(role):
        if role is None:
            return Client()
        if role == "other":
            return client_as(Role.SUPERVISOR, at=other_site)
        return client_as(role)

    return make
