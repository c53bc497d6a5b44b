from datetime import date

import pytest
from django.urls import reverse

from scheduling.models import Enrollment
from users.models import Role

from .factories import make_episode, make_track

pytestmark = pytest.mark.django_db


def _post(client, track, episode, **extra):
    data = {"episode": episode.pk, "start_date": "2026-11-30", "end_date": "", **extra}
    return client.post(reverse("scheduling:enroll", args=[track.public_id]), data)


def test_enrolling_a_patient(client_as, track, episode):
    response = _post(client_as(Role.CLINICIAN), track, episode, is_taper="on")
    assert response.status_code == 302
    enrollment = Enrollment.objects.get()
    assert enrollment.is_taper and enrollment.start_date == date(2026, 11, 30)


def test_enrolling_without_an_open_episode_shows_why(site, client_as, track):
    discharged = make_episode(site, discharged=date(2026, 11, 1))
    response = _post(client_as(Role.CLINICIAN), track, discharged)
    assert response.status_code == 200
    assert "no open episode" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_enrolling_over_capacity_shows_why(site, client_as, supervisor, room):
    track = make_track(site, capacity=1, room=room)
    client = client_as(Role.CLINICIAN)
    assert _post(client, track, make_episode(site)).status_code == 302
    response = _post(client, track, make_episode(site))
    assert response.status_code == 200 and "is full" in response.content.decode()
    assert Enrollment.objects.count() == 1


def test_moving_a_patient_keeps_the_history(site, client_as, enrolled, room):
    other = make_track(site, name="Afternoon IOP")
    client = client_as(Role.CLINICIAN)
    url = reverse("scheduling:enrollment_change", args=[enrolled.public_id])
    response = client.post(url, {"action": "move", "to_track": other.pk, "on": "2026-12-07"})
    assert response.status_code == 302
    assert Enrollment.objects.filter(episode=enrolled.episode).count() == 2
    enrolled.refresh_from_db()
    assert enrolled.end_date == date(2026, 12, 6)


def test_a_bad_move_date_is_refused_on_the_form(client_as, enrolled, site):
    other = make_track(site, name="Afternoon IOP")
    url = reverse("scheduling:enrollment_change", args=[enrolled.public_id])
    response = client_as(Role.CLINICIAN).post(url, {"action": "move", "to_track": other.pk, "on": "2026-11-01"})
    assert response.status_code == 200 and "must be after" in response.content.decode()


def test_intake_enrolls_without_a_taper_field(client_as, track, episode):
    """DOMAIN.md §1.1: a clinician marks a transition taper; intake enrolls without it."""
    client = client_as(Role.INTAKE)
    page = client.get(reverse("scheduling:enroll", args=[track.public_id])).content.decode()
    assert 'name="is_taper"' not in page
    assert _post(client, track, episode, is_taper="on").status_code == 302
    assert not Enrollment.objects.get().is_taper


def test_intake_cannot_mark_a_taper_on_the_change_page(client_as, enrolled):
    url = reverse("scheduling:enrollment_change", args=[enrolled.public_id])
    client = client_as(Role.INTAKE)
    page = client.get(url).content.decode()
    assert 'name="is_taper"' not in page and "A counselor or clinical supervisor marks" in page
    response = client.post(url, {"action": "taper", "is_taper": "on"})
    assert response.status_code == 200 and "counselor or clinical supervisor" in response.content.decode()
    enrolled.refresh_from_db()
    assert not enrolled.is_taper


def test_a_clinician_marks_and_clears_the_taper(client_as, enrolled):
    url = reverse("scheduling:enrollment_change", args=[enrolled.public_id])
    client = client_as(Role.CLINICIAN)
    assert 'name="is_taper"' in client.get(url).content.decode()
    assert client.post(url, {"action": "taper", "is_taper": "on"}).status_code == 302
    enrolled.refresh_from_db()
    assert enrolled.is_taper
    assert client.post(url, {"action": "taper"}).status_code == 302
    enrolled.refresh_from_db()
    assert not enrolled.is_taper


def test_the_api_refuses_a_taper_from_intake(client_as, track, episode, site):
    client = client_as(Role.INTAKE)
    data = {
        "track": str(track.public_id),
        "episode": str(episode.public_id),
        "start_date": "2026-11-30",
        "is_taper": True,
    }
    response = client.post(reverse("api:enrollment-create"), data, content_type="application/json")
    assert response.status_code == 400 and "is_taper" in response.json()
    assert not Enrollment.objects.exists()
    data["is_taper"] = False
    assert client.post(reverse("api:enrollment-create"), data, content_type="application/json").status_code == 201
