"""Deactivating a track: future sessions cancelled and kept, the past untouched, refused while
patients are enrolled; the confirmation page and who may use it."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from scheduling import services
from scheduling.models import CancelReason, SessionStatus, TherapySession

from .factories import make_episode, make_track

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(site, room, supervisor):
    """A track with sessions from two weeks ago to the horizon."""
    track = make_track(site, room=room, facilitators=[supervisor], name="Afternoon IOP")
    services.track_generate_sessions(track=track, since=timezone.localdate(timezone=site.zone) - timedelta(days=14))
    return track


def test_future_sessions_are_cancelled_never_deleted(running, supervisor):
    now = timezone.now()
    total = TherapySession.objects.filter(track=running).count()
    past = set(
        TherapySession.objects.filter(track=running, starts_at__lt=now).values_list("pk", "status", "updated_at")
    )
    future = TherapySession.objects.filter(track=running, starts_at__gte=now).count()
    assert past and future
    cancelled = services.track_deactivate(track=running, by=supervisor, reason="Merged with Morning IOP")
    assert cancelled == future
    running.refresh_from_db()
    assert not running.is_active
    assert TherapySession.objects.filter(track=running).count() == total
    later = TherapySession.objects.filter(track=running, starts_at__gte=now)
    assert set(later.values_list("status", "cancel_reason")) == {(SessionStatus.CANCELLED, CancelReason.SERIES_CHANGED)}
    assert later.first().note == "Track deactivated: Merged with Morning IOP"
    assert not later.filter(bookings__is_active=True).exists()  # the room and facilitators are free again
    assert (
        set(TherapySession.objects.filter(track=running, starts_at__lt=now).values_list("pk", "status", "updated_at"))
        == past
    )
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.object_id) == ("update", str(running.public_id))
    assert event.changes["sessions_cancelled"] == future
    # The periodic task and the generate action leave an inactive track alone.
    assert services.track_generate_sessions(track=running).created == 0
    assert services.tracks_keep_ahead()["tracks"] == 0
    with pytest.raises(ValidationError, match="already inactive"):
        services.track_deactivate(track=running, by=supervisor)


def test_a_track_with_enrolled_patients_is_not_deactivated(running, site, supervisor):
    today = timezone.localdate(timezone=site.zone)
    services.enrollment_create(track=running, episode=make_episode(site), start_date=today, by=supervisor)
    with pytest.raises(ValidationError, match="1 patient is enrolled"):
        services.track_deactivate(track=running, by=supervisor)
    running.refresh_from_db()
    assert running.is_active
    assert not TherapySession.objects.filter(track=running, cancel_reason=CancelReason.SERIES_CHANGED).exists()


def test_an_ended_enrollment_does_not_hold_it_back(running, site, supervisor):
    today = timezone.localdate(timezone=site.zone)
    enrollment = services.enrollment_create(
        track=running, episode=make_episode(site), start_date=today - timedelta(days=10), by=supervisor
    )
    services.enrollment_end(enrollment=enrollment, end_date=today - timedelta(days=1), by=supervisor)
    services.track_deactivate(track=running, by=supervisor)


def test_the_confirmation_page_and_who_may_use_it(running, client_as, other_site):
    from users.models import Role

    url = reverse("scheduling:track_deactivate", args=[running.public_id])
    supervisor = client_as(Role.SUPERVISOR)
    page = supervisor.get(url)
    assert page.status_code == 200 and "upcoming session" in page.content.decode()
    assert client_as(Role.CLINICIAN).get(url).status_code == 403
    assert client_as(Role.CLINICIAN).post(url).status_code == 403
    assert client_as(Role.SUPERVISOR, at=other_site).get(url).status_code == 404
    assert "/accounts/login/" in Client().post(url)["Location"]
    running.refresh_from_db()
    assert running.is_active
    response = supervisor.post(url, {"reason": "Low census"}, follow=True)
    assert "is inactive" in response.content.decode()
    running.refresh_from_db()
    assert not running.is_active
    # The track page no longer offers it, and the page itself says so.
    detail = supervisor.get(reverse("scheduling:track_detail", args=[running.public_id])).content.decode()
    assert url not in detail
    assert supervisor.get(url).status_code == 302


def test_a_refusal_is_shown_on_the_page(running, site, client_as, supervisor):
    from users.models import Role

    services.enrollment_create(
        track=running, episode=make_episode(site), start_date=timezone.localdate(timezone=site.zone), by=supervisor
    )
    response = client_as(Role.SUPERVISOR).post(reverse("scheduling:track_deactivate", args=[running.public_id]))
    assert response.status_code == 200
    assert "end or move those enrollments first" in response.content.decode()
