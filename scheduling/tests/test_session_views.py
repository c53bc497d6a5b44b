from datetime import date, timedelta

import pytest
from django.urls import reverse

from scheduling.models import SessionStatus, TherapySession
from users.models import Role

from .factories import make_episode

pytestmark = pytest.mark.django_db


def test_moving_a_session_through_the_form(client_as, session, supervisor):
    client = client_as(Role.CLINICIAN)
    day = session.occurrence_date + timedelta(days=1)
    response = client.post(
        reverse("scheduling:session_move", args=[session.public_id]),
        {
            "date": day.isoformat(),
            "start_time": "13:00",
            "end_time": "14:30",
            "facilitators": [supervisor.pk],
            "note": "Room repairs",
        },
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.is_exception and session.note == "Room repairs"
    assert session.local_start().strftime("%Y-%m-%d %H:%M") == f"{day} 13:00"


def test_a_move_onto_a_busy_facilitator_shows_the_conflict(client_as, session, supervisor, track):
    other = track.sessions.filter(starts_at__gt=session.starts_at).order_by("starts_at").first()
    client = client_as(Role.CLINICIAN)
    local = other.local_start()
    response = client.post(
        reverse("scheduling:session_move", args=[session.public_id]),
        {
            "date": local.date().isoformat(),
            "start_time": local.strftime("%H:%M"),
            "end_time": other.local_end().strftime("%H:%M"),
            "facilitators": [supervisor.pk],
        },
    )
    assert response.status_code == 200
    assert "already booked" in response.content.decode()
    session.refresh_from_db()
    assert not session.is_exception


def test_a_move_with_end_before_start_is_refused(client_as, session):
    response = client_as(Role.CLINICIAN).post(
        reverse("scheduling:session_move", args=[session.public_id]),
        {"date": session.occurrence_date.isoformat(), "start_time": "14:00", "end_time": "13:00"},
    )
    assert response.status_code == 200 and "end after it starts" in response.content.decode()


def test_cancelling_one_session(client_as, session):
    client = client_as(Role.CLINICIAN)
    response = client.post(
        reverse("scheduling:session_cancel", args=[session.public_id]), {"note": "Snow"}, follow=True
    )
    assert "Cancelled by staff" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED and session.note == "Snow"


def test_booking_a_double_booked_facilitator_answers_a_message_not_an_error(site, client_as, clinician):
    client = client_as(user=clinician)
    data = {
        "site": str(site.public_id),
        "kind": "individual",
        "day": "2026-12-08",
        "start_time": "13:00",
        "end_time": "14:00",
        "facilitators": [clinician.pk],
        "repeat_weeks": "1",
        "episode": make_episode(site).pk,
    }
    assert client.post(reverse("scheduling:session_book"), data).status_code == 302
    data["episode"] = make_episode(site).pk
    data["start_time"] = "13:30"
    data["end_time"] = "14:30"
    response = client.post(reverse("scheduling:session_book"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "already booked" in page and str(clinician) in page
    assert TherapySession.objects.count() == 1


def test_adding_a_patient_to_one_session(client_as, session, site):
    episode = make_episode(site, last="Makeupsession")
    client = client_as(Role.CLINICIAN)
    response = client.post(
        reverse("scheduling:roster_add", args=[session.public_id]), {"episode": episode.pk}, follow=True
    )
    assert "Makeupsession" in response.content.decode()


def test_adding_a_discharged_patient_is_refused(client_as, session, site):
    episode = make_episode(site, discharged=date(2026, 11, 1))
    response = client_as(Role.CLINICIAN).post(
        reverse("scheduling:roster_add", args=[session.public_id]), {"episode": episode.pk}, follow=True
    )
    assert "open episode" in response.content.decode()
    assert not session.roster_additions.exists()
