from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling import services
from scheduling.models import Booking, CancelReason, SessionStatus, TherapySession, local_datetime
from scheduling.services import BlockSpec

from .factories import make_room, make_track

pytestmark = pytest.mark.django_db


def _next(track, weekday):
    today = services._site_today(track.site)
    day = today + timedelta(days=(weekday - today.weekday()) % 7 + 7)
    return TherapySession.objects.filter(track=track, occurrence_date=day).order_by("starts_at")


def test_moving_one_occurrence_keeps_the_series(site, supervisor):
    room = make_room(site)
    track = make_track(site, room=room, facilitators=[supervisor])
    session = _next(track, 0).first()
    day = session.occurrence_date
    new_start = local_datetime(day + timedelta(days=1), time(14), site.zone)
    services.session_move(session=session, by=supervisor, starts_at=new_start, ends_at=new_start + timedelta(hours=1))
    session.refresh_from_db()
    assert session.is_exception and session.occurrence_date == day
    assert session.original_starts_at == local_datetime(day, time(9), site.zone)
    assert "Moved from" in session.note
    assert set(Booking.objects.filter(session=session).values_list("starts_at", flat=True)) == {new_start}
    # Generation does not recreate the moved slot.
    before = TherapySession.objects.filter(track=track).count()
    assert services.track_generate_sessions(track=track).created == 0
    assert TherapySession.objects.filter(track=track).count() == before


def test_moving_onto_a_taken_room_is_a_conflict_and_changes_nothing(site, supervisor):
    room = make_room(site)
    track = make_track(site, room=room)
    first, second = _next(track, 0)
    with pytest.raises(services.BookingConflict) as exc:
        services.session_move(
            session=second, by=supervisor, starts_at=first.starts_at, ends_at=first.ends_at, room=room
        )
    assert room.name in exc.value.messages[0]
    second.refresh_from_db()
    assert not second.is_exception and second.starts_at.astimezone(site.zone).time() == time(10, 45)


def test_moving_with_end_before_start_is_refused(site, supervisor):
    track = make_track(site)
    session = _next(track, 0).first()
    with pytest.raises(ValidationError):
        services.session_move(session=session, by=supervisor, starts_at=session.ends_at, ends_at=session.starts_at)


def test_cancelling_one_occurrence_frees_its_room_and_keeps_the_rest(site, supervisor):
    room = make_room(site)
    track = make_track(site, room=room)
    session = _next(track, 2).first()
    services.session_cancel(session=session, by=supervisor, note="Facilitator ill")
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED and session.cancel_reason == CancelReason.STAFF
    assert session.note == "Facilitator ill" and session.is_exception
    assert not session.bookings.exists()
    assert _next(track, 2).last().status == SessionStatus.SCHEDULED
    assert services.track_generate_sessions(track=track).created == 0


def test_a_series_change_applies_to_future_non_exception_occurrences_only(site, supervisor):
    room = make_room(site)
    track = make_track(site, room=room, start_date=date(2026, 10, 5))
    services.track_generate_sessions(track=track, since=date(2026, 10, 5), until=date(2026, 10, 31))
    past = TherapySession.objects.filter(track=track, starts_at__lt=timezone.now()).first()
    moved = _next(track, 0).first()
    moved_to = moved.starts_at + timedelta(hours=5)
    services.session_move(session=moved, by=supervisor, starts_at=moved_to, ends_at=moved_to + timedelta(hours=1))
    cancelled = _next(track, 2).first()
    services.session_cancel(session=cancelled, by=supervisor)

    group, skills = track.blocks.order_by("start_time")
    services.track_update(
        track=track,
        by=supervisor,
        blocks=[
            BlockSpec(id=group.pk, start_time=time(8, 30), end_time=time(10), kind="group", room=room),
            # Clear of the old 09:00 group block: today's occurrence may be in progress (left as it
            # was), and a moved block must not overlap it whatever the time of day the test runs.
            BlockSpec(id=skills.pk, start_time=time(12, 15), end_time=time(13, 45), kind="skills", room=room),
        ],
    )
    future = TherapySession.objects.filter(track=track, block=group, starts_at__gte=timezone.now(), is_exception=False)
    assert future.exists()
    assert {s.local_start().time() for s in future} == {time(8, 30)}
    past.refresh_from_db()
    assert past.local_start().time() == time(9)
    moved.refresh_from_db()
    assert moved.starts_at == moved_to
    cancelled.refresh_from_db()
    assert cancelled.status == SessionStatus.CANCELLED and cancelled.local_start().time() == time(9)
    # Bookings followed the new times.
    booked = Booking.objects.filter(session__in=future, resource_type="room").values_list("starts_at", flat=True)
    assert {b.astimezone(site.zone).time() for b in booked} == {time(8, 30)}


def test_dropping_a_meeting_day_cancels_future_occurrences_on_it(site, supervisor):
    track = make_track(site)
    services.track_update(track=track, by=supervisor, meeting_days=[0, 2, 4])
    thursdays = TherapySession.objects.filter(track=track, occurrence_date__week_day=5, starts_at__gte=timezone.now())
    assert thursdays.exists()
    assert {s.cancel_reason for s in thursdays} == {CancelReason.SERIES_CHANGED}
    assert TherapySession.objects.filter(track=track, occurrence_date__week_day=6, status="scheduled").exists()


def test_it_stores_utc(site):
    track = make_track(site)
    session = _next(track, 0).first()
    assert session.starts_at.utcoffset() == timedelta(0) or session.starts_at.tzinfo is not None
    assert session.starts_at.astimezone(UTC) == datetime.combine(
        session.occurrence_date, time(9), tzinfo=site.zone
    ).astimezone(UTC)
