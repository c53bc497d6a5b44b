import threading
from datetime import date, time, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from scheduling import services
from scheduling.models import Booking, CancelReason, Closure, RosterAddition, TherapySession, TimeOff, local_datetime
from scheduling.services import BookingConflict

from .factories import make_episode, make_room

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 7)  # a Monday


def _book(site, user, *, start=time(13), end=time(14), room=None, **kwargs):
    return services.session_book(
        site=site,
        by=user,
        kind=kwargs.pop("kind", "individual"),
        day=kwargs.pop("day", DAY),
        start_time=start,
        end_time=end,
        facilitators=kwargs.pop("facilitators", [user]),
        room=room,
        **kwargs,
    )


def test_it_books_an_individual_session_with_the_patient_on_the_roster(site, clinician):
    episode = make_episode(site)
    [session] = _book(site, clinician, episode=episode)
    assert session.kind == "individual" and session.local_start().time() == time(13)
    assert RosterAddition.objects.filter(session=session, episode=episode).exists()
    assert Booking.objects.filter(session=session, user=clinician, is_active=True).exists()


def test_it_books_weekly_for_n_weeks(site, clinician):
    sessions = _book(site, clinician, kind="family", repeat_weeks=4)
    assert [s.occurrence_date for s in sessions] == [DAY + timedelta(weeks=w) for w in range(4)]
    assert len({s.series_key for s in sessions}) == 1


def test_a_double_booked_facilitator_is_refused_with_a_clear_message(site, clinician):
    _book(site, clinician)
    with pytest.raises(BookingConflict) as exc:
        _book(site, clinician, start=time(13, 30), end=time(14, 30))
    message = exc.value.messages[0]
    assert str(clinician) in message and "13:00–14:00" in message
    assert isinstance(exc.value, ValidationError)
    assert TherapySession.objects.count() == 1


def test_a_double_booked_room_is_refused(site, clinician, supervisor):
    room = make_room(site, name="Blue room")
    _book(site, clinician, room=room)
    with pytest.raises(BookingConflict, match="Blue room"):
        _book(site, supervisor, room=room, start=time(12, 30), end=time(13, 30))


def test_back_to_back_sessions_do_not_conflict(site, clinician):
    _book(site, clinician)
    _book(site, clinician, start=time(14), end=time(15))
    assert TherapySession.objects.count() == 2


def test_a_recurring_booking_is_all_or_nothing(site, clinician):
    _book(site, clinician, day=DAY + timedelta(weeks=2))
    with pytest.raises(BookingConflict):
        _book(site, clinician, repeat_weeks=4)
    assert TherapySession.objects.count() == 1


def test_a_recurring_booking_skips_a_closure_visibly(site, clinician):
    Closure.objects.create(site=site, date=DAY + timedelta(weeks=1), reason="Holiday")
    sessions = _book(site, clinician, repeat_weeks=3)
    assert [s.cancel_reason for s in sessions] == ["", CancelReason.CLOSURE, ""]
    with pytest.raises(ValidationError, match="closed"):
        _book(site, clinician, day=DAY + timedelta(weeks=1), start=time(16), end=time(17))


def test_end_before_start_is_refused(site, clinician):
    with pytest.raises(ValidationError) as exc:
        _book(site, clinician, start=time(14), end=time(13))
    assert "end_time" in exc.value.message_dict
    assert not TherapySession.objects.exists()


def test_time_off_is_respected(site, clinician):
    TimeOff.objects.create(
        user=clinician,
        starts_at=local_datetime(DAY, time(8), site.zone),
        ends_at=local_datetime(DAY, time(17), site.zone),
        reason="Vacation",
    )
    with pytest.raises(BookingConflict, match="away"):
        _book(site, clinician)


def test_a_discharged_patient_cannot_be_booked(site, clinician):
    episode = make_episode(site, discharged=date(2026, 6, 1))
    with pytest.raises(ValidationError) as exc:
        _book(site, clinician, episode=episode)
    assert "open episode" in exc.value.message_dict["patient"][0]


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="SQLite: see the next test")
def test_postgres_refuses_overlapping_bookings_in_the_database_itself(site, clinician):
    [session] = _book(site, clinician)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            session=TherapySession.objects.create(
                site=site, kind="individual", starts_at=session.starts_at, ends_at=session.ends_at
            ),
            resource_type="staff",
            user=clinician,
            resource_key=Booking.key_for_user(clinician.pk),
            starts_at=session.starts_at + timedelta(minutes=30),
            ends_at=session.ends_at + timedelta(minutes=30),
        )


def test_the_transactional_check_catches_an_overlap_without_the_database_constraint(site, clinician):
    """On SQLite there is no exclusion constraint: the service's own check inside its
    transaction is what refuses. (On PostgreSQL it runs first too, for the message.)"""
    _book(site, clinician)
    with pytest.raises(BookingConflict, match="already booked"):
        _book(site, clinician, start=time(12), end=time(13, 1))
    assert Booking.objects.filter(is_active=True).count() == 1


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------


def _race(n, work):
    """Run ``work(i)`` in n threads, each on its own connection, released together."""
    barrier = threading.Barrier(n)
    outcomes = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = ("ok", work(i))
        except BookingConflict as exc:
            outcomes[i] = ("conflict", exc)
        except ValidationError as exc:
            outcomes[i] = ("invalid", exc)
        except Exception as exc:  # noqa: BLE001 - the test asserts there is none
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_concurrent_bookings_of_one_facilitator_exactly_one_wins(site, clinician):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    rooms = [make_room(site, name=f"Room {i}") for i in range(6)]
    outcomes = _race(6, lambda i: _book(site, clinician, room=rooms[i], start=time(13), end=time(14, i * 5)))
    kinds = [k for k, _ in outcomes]
    assert kinds.count("ok") == 1, outcomes
    assert kinds.count("conflict") == 5, outcomes
    assert all(str(clinician) in exc.messages[0] for k, exc in outcomes if k == "conflict")
    assert Booking.objects.filter(user=clinician, is_active=True).count() == 1
    assert TherapySession.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ("peer_support", "Peer recovery support"),
        ("med_management", "Psychiatric or medication management (MOUD/MAUD)"),
    ],
)
def test_peer_recovery_support_and_medication_management_are_booked_for_a_patient(site, clinician, kind, label):
    """DOMAIN.md §5 session types: "Peer recovery support. Psychiatric or medication management
    (MOUD/MAUD) by referral or on site." Both are one-to-one appointments with the patient on
    the roster, like individual sessions."""
    from scheduling.forms import BookSessionForm
    from scheduling.models import ONE_OFF_KINDS, SessionKind

    episode = make_episode(site)
    [session] = _book(site, clinician, kind=kind, episode=episode)
    assert session.get_kind_display() == label and session.title == label
    assert RosterAddition.objects.filter(session=session, episode=episode).exists()
    assert SessionKind(kind) in ONE_OFF_KINDS
    assert kind in dict(BookSessionForm.base_fields["kind"].choices)


def test_group_kinds_are_still_refused_for_a_one_off(site, clinician):
    with pytest.raises(ValidationError) as exc:
        _book(site, clinician, kind="group")
    assert "peer recovery support" in exc.value.message_dict["kind"][0]
