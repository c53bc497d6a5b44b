from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from scheduling import services
from scheduling.services import BlockSpec
from users.models import Role

from .factories import make_episode, make_room, make_track, upcoming_monday

pytestmark = pytest.mark.django_db

WEEK = upcoming_monday()


def _populate(site, staff, n_tracks: int, patients_per_track: int):
    """n_tracks tracks, each with one block on Mon/Wed/Thu (3 sessions a week), enrolled patients."""
    for i in range(n_tracks):
        room = make_room(site)
        blocks = [
            BlockSpec(
                start_time=time(8 + i % 10),
                end_time=time(9 + i % 10),
                kind="group",
                room=room,
                facilitators=[staff[i % len(staff)]],
            )
        ]
        track = make_track(site, blocks=blocks, level_of_care="1", meeting_days=[0, 2, 3], capacity=30)
        services.track_generate_sessions(track=track, since=WEEK, until=WEEK + timedelta(days=6))
        for _ in range(patients_per_track):
            services.enrollment_create(track=track, episode=make_episode(site), start_date=WEEK, by=None)


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("by", ["room", "facilitator", "track"])
def test_the_week_calendar_takes_the_same_queries_for_a_small_and_a_large_site(
    by, site, other_site, client_as, make_staff
):
    small_staff = [make_staff(Role.CLINICIAN)]
    _populate(site, small_staff, n_tracks=1, patients_per_track=1)  # 3 sessions
    big_staff = [make_staff(Role.CLINICIAN, at=other_site) for _ in range(4)]
    _populate(other_site, big_staff, n_tracks=7, patients_per_track=4)  # 21 sessions
    url = reverse("scheduling:calendar") + f"?week={WEEK}&by={by}&site="
    small, response = _count(client_as(Role.SUPERVISOR), url + str(site.public_id))
    assert response.context["session_count"] == 3
    big_client = client_as(Role.SUPERVISOR, at=other_site)
    big, response = _count(big_client, url + str(other_site.public_id))
    assert response.context["session_count"] == 21
    assert small == big
    assert b"4 on roster" in response.content


def test_my_day_takes_the_same_queries_for_few_and_many_sessions(site, other_site, client_as, make_staff):
    few = make_staff(Role.CLINICIAN)
    many = make_staff(Role.CLINICIAN, at=other_site)
    _populate(site, [few], n_tracks=1, patients_per_track=1)
    _populate(other_site, [many], n_tracks=8, patients_per_track=3)
    url = reverse("scheduling:my_day") + f"?date={WEEK}&site="
    small, r1 = _count(client_as(user=few), url + str(site.public_id))
    big, r2 = _count(client_as(user=many), url + str(other_site.public_id))
    assert len(r1.context["sessions"]) == 1 and len(r2.context["sessions"]) == 8
    assert small == big


def test_the_calendar_shows_local_times_and_week_navigation(site, client_as):
    track = make_track(site, start_date=date(2026, 10, 26))
    services.track_generate_sessions(track=track, since=date(2026, 10, 26), until=date(2026, 11, 8))
    client = client_as(Role.CLINICIAN)
    response = client.get(reverse("scheduling:calendar") + "?week=2026-11-02&by=track")
    assert b"09:00\xe2\x80\x9310:30" in response.content  # 09:00 local after the DST change
    assert b"2026-10-26" in response.content and b"2026-11-09" in response.content


def test_the_calendar_marks_closed_days_and_cancelled_sessions(site, client_as, supervisor):
    make_track(site, start_date=WEEK)
    services.closure_create(site=site, date=WEEK, reason="Snow day", by=supervisor)
    response = client_as(Role.CLINICIAN).get(reverse("scheduling:calendar") + f"?week={WEEK}&by=track")
    assert b"Closed: Snow day" in response.content
    assert b"Site closed" in response.content


def test_the_calendar_shows_no_patient_names_and_records_no_view(site, client_as, enrolled):
    client = client_as(Role.CLINICIAN)
    before = AuditEvent.objects.count()
    response = client.get(reverse("scheduling:calendar") + "?week=2026-11-23")
    assert b"Quillfeather" not in response.content
    assert AuditEvent.objects.count() == before


def test_my_day_shows_the_roster_and_records_one_audit_event(site, client_as, supervisor, enrolled, track):
    make_episode(site, last="Notenrolled")
    session = track.sessions.order_by("starts_at").filter(occurrence_date__gte=date(2026, 11, 23)).first()
    client = client_as(user=supervisor)
    before = AuditEvent.objects.count()
    response = client.get(reverse("scheduling:my_day") + f"?date={session.occurrence_date}")
    assert b"Quillfeather" in response.content and b"Notenrolled" not in response.content
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "view" and event.object_type == "scheduling.my_day"
    assert event.changes["patients"] == [str(enrolled.episode.patient.public_id)]
