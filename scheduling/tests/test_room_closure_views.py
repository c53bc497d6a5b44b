from datetime import timedelta

import pytest
from django.urls import reverse

from scheduling.models import Closure, Room, SessionStatus
from users.models import Role

from .factories import upcoming_monday

pytestmark = pytest.mark.django_db


def test_adding_a_room(site, client_as):
    client = client_as(Role.SITE_ADMIN)
    url = reverse("scheduling:room_list") + f"?site={site.public_id}"
    assert client.post(url, {"name": "Sunroom", "capacity": "14", "is_active": "on"}).status_code == 302
    assert Room.objects.get(name="Sunroom").capacity == 14
    response = client.post(url, {"name": "Sunroom", "capacity": "4", "is_active": "on"})
    assert response.status_code == 200 and Room.objects.filter(name="Sunroom").count() == 1


def test_a_clinician_cannot_add_a_room(site, client_as):
    url = reverse("scheduling:room_list") + f"?site={site.public_id}"
    assert client_as(Role.CLINICIAN).post(url, {"name": "X", "capacity": "3"}).status_code == 403


def test_a_closure_cancels_that_days_sessions(site, client_as, track):
    client = client_as(Role.SUPERVISOR)
    url = reverse("scheduling:closure_list") + f"?site={site.public_id}"
    wednesday = upcoming_monday() + timedelta(days=2)
    assert client.post(url, {"date": str(wednesday), "reason": "Staff training"}).status_code == 302
    assert Closure.objects.get().reason == "Staff training"
    day = track.sessions.filter(occurrence_date=wednesday)
    assert day.exists() and {s.status for s in day} == {SessionStatus.CANCELLED}
    response = client.post(url, {"date": str(wednesday), "reason": "Again"})
    assert response.status_code == 200 and "already closed" in response.content.decode()
