from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduling import services
from scheduling.models import Booking, CancelReason, Closure, SessionStatus, TherapySession
from scheduling.services import BlockSpec

from .factories import make_room, make_track, upcoming_monday

pytestmark = pytest.mark.django_db


def _starts(track, day):
    return sorted(s.starts_at.astimezone(UTC) for s in TherapySession.objects.filter(track=track, occurrence_date=day))


def test_it_keeps_local_time_across_the_autumn_change(site, clinician):
    track = make_track(site, start_date=date(2026, 10, 26), facilitators=[clinician])
    services.track_generate_sessions(track=track, since=date(2026, 10, 26), until=date(2026, 11, 7))
    # Thursday 29 October is still daylight time (UTC-4); Monday 2 November is standard time (UTC-5).
    assert _starts(track, date(2026, 10, 29))[0] == datetime(2026, 10, 29, 13, 0, tzinfo=UTC)
    assert _starts(track, date(2026, 11, 2))[0] == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    for session in TherapySession.objects.filter(track=track):
        assert session.local_start().time() in {time(9), time(10, 45)}


def test_it_keeps_local_time_across_the_spring_change(site):
    track = make_track(site, start_date=date(2026, 3, 2))
    services.track_generate_sessions(track=track, since=date(2026, 3, 2), until=date(2026, 3, 14))
    assert _starts(track, date(2026, 3, 5))[0] == datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    assert _starts(track, date(2026, 3, 9))[0] == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert {s.local_start().hour for s in TherapySession.objects.filter(track=track)} == {9, 10}


def test_it_skips_a_closure_with_a_visible_note(site, supervisor):
    room = make_room(site)
    monday = upcoming_monday()
    Closure.objects.create(site=site, date=monday + timedelta(days=3), reason="Thanksgiving")
    track = make_track(site, room=room, start_date=monday)
    closed = TherapySession.objects.filter(track=track, occurrence_date=monday + timedelta(days=3))
    assert closed.count() == 2
    assert {s.status for s in closed} == {SessionStatus.CANCELLED}
    assert {s.cancel_reason for s in closed} == {CancelReason.CLOSURE}
    assert all("Thanksgiving" in s.note for s in closed)
    assert not Booking.objects.filter(session__in=closed).exists()


def test_closing_a_day_later_cancels_its_sessions_and_reopening_restores_them(site, supervisor):
    room = make_room(site)
    monday = upcoming_monday()
    track = make_track(site, room=room, start_date=monday)
    wednesday = monday + timedelta(days=9)
    closure = services.closure_create(site=site, date=wednesday, reason="Staff training", by=supervisor)
    day = TherapySession.objects.filter(track=track, occurrence_date=wednesday)
    assert {s.cancel_reason for s in day} == {CancelReason.CLOSURE}
    assert services.closure_delete(closure=closure, by=supervisor) == 2
    assert {s.status for s in day.all()} == {SessionStatus.SCHEDULED}
    assert Booking.objects.filter(session__in=day, is_active=True).count() == 2


def test_it_is_idempotent(site):
    track = make_track(site, start_date=date(2026, 9, 7))
    first = services.track_generate_sessions(track=track, since=date(2026, 9, 7), until=date(2026, 10, 4))
    count = TherapySession.objects.filter(track=track).count()
    again = services.track_generate_sessions(track=track, since=date(2026, 9, 7), until=date(2026, 10, 4))
    assert first.created == 24  # 4 weeks × 3 days × 2 blocks
    assert again.created == 0
    assert TherapySession.objects.filter(track=track).count() == count


def test_the_rolling_horizon_is_weeks_ahead_of_today(site, settings):
    settings.SCHEDULING_HORIZON_WEEKS = 2
    track = make_track(site, start_date=date(2026, 1, 5))
    last = TherapySession.objects.filter(track=track).order_by("-occurrence_date").first().occurrence_date
    today = services._site_today(site)
    assert 0 < (last - today).days <= 14
    assert not TherapySession.objects.filter(track=track, occurrence_date__lt=today).exists()


def test_the_periodic_task_keeps_tracks_ahead(site, settings):
    from scheduling.tasks import tracks_keep_ahead_task

    settings.SCHEDULING_HORIZON_WEEKS = 1
    track = make_track(site)
    before = TherapySession.objects.filter(track=track).count()
    totals = tracks_keep_ahead_task.delay(weeks=3).get()
    assert totals["created"] == TherapySession.objects.filter(track=track).count() - before > 0
    assert tracks_keep_ahead_task.delay(weeks=3).get()["created"] == 0


def test_group_sessions_cycle_through_the_topics(site):
    blocks = [
        BlockSpec(start_time=time(9), end_time=time(10, 30), kind="group"),
        BlockSpec(start_time=time(10, 45), end_time=time(12, 15), kind="case_management", title="Check-in"),
    ]
    track = make_track(site, start_date=date(2026, 9, 7), blocks=blocks, topics=["A", "B"])
    services.track_generate_sessions(track=track, since=date(2026, 9, 7), until=date(2026, 9, 14))
    groups = TherapySession.objects.filter(track=track, kind="group", occurrence_date__lte=date(2026, 9, 14))
    assert [s.topic for s in groups.order_by("starts_at")] == ["A", "B", "A", "B"]
    # The horizon generated at creation (from today) continues the same count: three group
    # meetings a week since 7 September.
    monday = upcoming_monday()
    meetings_before = 3 * ((monday - date(2026, 9, 7)).days // 7)
    topic = ["A", "B"][meetings_before % 2]
    assert TherapySession.objects.get(track=track, kind="group", occurrence_date=monday).topic == topic
    assert set(TherapySession.objects.filter(track=track, kind="case_management").values_list("topic", flat=True)) == {
        "Check-in"
    }


def test_a_taken_room_is_a_visible_conflict_in_the_periodic_run(site, clinician):
    room = make_room(site)
    first = make_track(site, room=room, start_date=date(2026, 9, 7))
    services.track_generate_sessions(track=first, since=date(2026, 9, 7), until=date(2026, 9, 13))
    second = make_track(site, start_date=date(2026, 9, 7), room=None)
    # Point the second track's blocks at the same room behind the validation, as a stale form could.
    second.blocks.update(room=room)
    result = services.track_generate_sessions(track=second, since=date(2026, 9, 7), until=date(2026, 9, 13))
    assert result.created == 0 and len(result.conflicts) == 6
    session = TherapySession.objects.filter(track=second, occurrence_date=date(2026, 9, 7)).first()
    assert session.cancel_reason == CancelReason.CONFLICT
    assert room.name in session.note
