import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from scheduling import services
from scheduling.models import Enrollment, RosterAddition, TherapySession
from scheduling.selectors import patient_sessions, rosters_for

from .factories import make_episode, make_track, upcoming_monday

pytestmark = pytest.mark.django_db

START = upcoming_monday()


def _enroll(track, episode, by=None, **kwargs):
    return services.enrollment_create(
        track=track, episode=episode, start_date=kwargs.pop("start_date", START), by=by, **kwargs
    )


def test_an_enrolled_patient_is_on_the_roster_of_each_occurrence(site, clinician):
    track = make_track(site)
    episode = make_episode(site)
    _enroll(track, episode, clinician, end_date=START + timedelta(days=9))
    sessions = list(TherapySession.objects.filter(track=track).select_related("site"))
    rosters = rosters_for(sessions)
    on = {s.occurrence_date for s in sessions if any(e.episode.pk == episode.pk for e in rosters[s.pk])}
    assert min(on) == START and max(on) <= START + timedelta(days=9)
    assert all(d <= START + timedelta(days=9) for d in on)


def test_enrollment_without_an_open_episode_is_refused(site, clinician):
    track = make_track(site)
    episode = make_episode(site, discharged=date(2026, 10, 1))
    with pytest.raises(ValidationError) as exc:
        _enroll(track, episode, clinician)
    assert "no open episode" in exc.value.message_dict["episode"][0]
    assert not Enrollment.objects.exists()


def test_enrollment_at_another_site_is_refused(site, other_site, clinician):
    track = make_track(site)
    with pytest.raises(ValidationError, match="another site"):
        _enroll(track, make_episode(other_site), clinician)


def test_over_capacity_is_refused(site, clinician):
    track = make_track(site, capacity=2)
    _enroll(track, make_episode(site))
    _enroll(track, make_episode(site))
    with pytest.raises(ValidationError) as exc:
        _enroll(track, make_episode(site))
    assert "full" in exc.value.message_dict["track"][0]
    assert Enrollment.objects.count() == 2


def test_a_seat_freed_before_the_start_counts(site):
    track = make_track(site, capacity=1)
    _enroll(track, make_episode(site), end_date=START + timedelta(days=6))
    _enroll(track, make_episode(site), start_date=START + timedelta(days=7))
    assert Enrollment.objects.count() == 2


def test_a_patient_is_in_one_track_at_a_time(site):
    first, second = make_track(site), make_track(site, start_date=date(2026, 1, 5), room=None)
    episode = make_episode(site)
    _enroll(first, episode)
    with pytest.raises(ValidationError, match="already enrolled"):
        _enroll(second, episode)


def test_moving_between_tracks_keeps_history(site, clinician):
    first, second = make_track(site), make_track(site)
    episode = make_episode(site)
    old = _enroll(first, episode, clinician, is_taper=True)
    new = services.enrollment_move(enrollment=old, to_track=second, on=START + timedelta(days=14), by=clinician)
    old.refresh_from_db()
    assert old.end_date == START + timedelta(days=13) and "Moved to" in old.end_reason
    assert new.track == second and new.start_date == START + timedelta(days=14) and new.is_taper
    assert Enrollment.objects.filter(episode=episode).count() == 2


def test_a_move_into_a_full_track_changes_nothing(site, clinician):
    first, full = make_track(site), make_track(site, capacity=1)
    _enroll(full, make_episode(site))
    old = _enroll(first, make_episode(site))
    with pytest.raises(ValidationError, match="full"):
        services.enrollment_move(enrollment=old, to_track=full, on=START + timedelta(days=7), by=clinician)
    old.refresh_from_db()
    assert old.end_date is None


def test_the_taper_flag_can_be_set(site, clinician):
    enrollment = _enroll(make_track(site), make_episode(site))
    services.enrollment_set_taper(enrollment=enrollment, is_taper=True, by=clinician)
    enrollment.refresh_from_db()
    assert enrollment.is_taper


def test_a_one_off_addition_joins_a_single_session(site, clinician):
    track = make_track(site)
    session, other = TherapySession.objects.filter(track=track).select_related("site")[:2]
    episode = make_episode(site)
    services.roster_add(session=session, episode=episode, by=clinician, reason="Make-up")
    rosters = rosters_for([session, other])
    assert [e.source for e in rosters[session.pk]] == ["added"]
    assert rosters[other.pk] == []
    with pytest.raises(ValidationError, match="already on"):
        services.roster_add(session=session, episode=episode, by=clinician)


def test_an_addition_over_capacity_is_refused(site, clinician):
    track = make_track(site, capacity=1)
    _enroll(track, make_episode(site))
    session = TherapySession.objects.filter(track=track, occurrence_date__gte=START).first()
    with pytest.raises(ValidationError, match="full"):
        services.roster_add(session=session, episode=make_episode(site), by=clinician)
    assert not RosterAddition.objects.exists()


def test_a_patient_schedule_lists_only_their_sessions(site, clinician):
    track = make_track(site)
    mine = make_episode(site)
    _enroll(track, mine, start_date=START + timedelta(days=2))
    from scheduling.views import _week_bounds

    start, end = _week_bounds(site, START)
    sessions = patient_sessions(mine.patient, start, end)
    assert sessions and all(s.occurrence_date >= START + timedelta(days=2) for s in sessions)
    assert patient_sessions(make_episode(site).patient, start, end) == []


def test_rosters_take_a_fixed_number_of_queries(site, django_assert_num_queries):
    track = make_track(site, capacity=30)
    for _ in range(3):
        _enroll(track, make_episode(site))
    sessions = list(TherapySession.objects.filter(track=track).select_related("site"))
    with django_assert_num_queries(2):
        rosters = rosters_for(sessions)
    assert len(rosters) == len(sessions) > 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_concurrent_enrollments_exactly_capacity_win(site, make_staff):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    track = make_track(site, capacity=3)
    episodes = [make_episode(site) for _ in range(8)]
    barrier = threading.Barrier(len(episodes))
    outcomes = []

    def run(episode):
        try:
            barrier.wait(timeout=10)
            _enroll(track, episode)
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append("full" if "full" in " ".join(exc.messages) else f"invalid: {exc.messages}")
        except Exception as exc:  # noqa: BLE001 - the test asserts there is none
            outcomes.append(f"error: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(e,)) for e in episodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["full"] * 5 + ["ok"] * 3, outcomes
    assert Enrollment.objects.filter(track=track).count() == 3


def test_an_adolescent_is_not_enrolled_in_an_adult_track(site):
    teen = make_episode(site, dob=date(2011, 3, 1))
    with pytest.raises(ValidationError) as exc:
        _enroll(make_track(site), teen)
    assert "track for adults" in exc.value.message_dict["episode"][0]


# --- transition taper: a clinician's decision (DOMAIN.md §1.1, §6) ------------------------------


def test_only_a_clinician_enrolls_on_a_transition_taper(site, make_staff, clinician):
    from users.models import Role

    track = make_track(site)
    for by in (make_staff(Role.INTAKE), make_staff(Role.DIRECTOR), None):
        with pytest.raises(ValidationError) as exc:
            _enroll(track, make_episode(site), by, is_taper=True)
        assert "counselor or clinical supervisor" in exc.value.message_dict["is_taper"][0]
    assert not Enrollment.objects.exists()
    # Intake still enrolls, without the flag; a clinician may set it.
    assert not _enroll(track, make_episode(site), make_staff(Role.INTAKE)).is_taper
    assert _enroll(track, make_episode(site), clinician, is_taper=True).is_taper


def test_only_a_clinician_marks_or_clears_the_taper(site, make_staff, clinician, other_site):
    from users.models import Role

    enrollment = _enroll(make_track(site), make_episode(site))
    for by in (make_staff(Role.INTAKE), make_staff(Role.CLINICIAN, at=other_site), None):
        with pytest.raises(ValidationError, match="counselor or clinical supervisor"):
            services.enrollment_set_taper(enrollment=enrollment, is_taper=True, by=by)
    enrollment.refresh_from_db()
    assert not enrollment.is_taper
    services.enrollment_set_taper(enrollment=enrollment, is_taper=True, by=clinician)
    with pytest.raises(ValidationError):
        services.enrollment_set_taper(enrollment=enrollment, is_taper=False, by=make_staff(Role.INTAKE))
    enrollment.refresh_from_db()
    assert enrollment.is_taper


def test_a_move_by_intake_keeps_the_taper_but_cannot_change_it(site, make_staff, clinician):
    from users.models import Role

    intake = make_staff(Role.INTAKE)
    first, second, third = make_track(site), make_track(site), make_track(site)
    old = _enroll(first, make_episode(site), clinician, is_taper=True)
    moved = services.enrollment_move(enrollment=old, to_track=second, on=START + timedelta(days=7), by=intake)
    assert moved.is_taper
    with pytest.raises(ValidationError) as exc:
        services.enrollment_move(
            enrollment=moved, to_track=third, on=START + timedelta(days=14), by=intake, is_taper=False
        )
    assert "is_taper" in exc.value.message_dict
    moved.refresh_from_db()
    assert moved.end_date is None and moved.is_taper


# --- a level-of-care change makes the plans due (DOMAIN.md §7) ------------------------------------


def _step_down_track(site):
    from datetime import time

    from scheduling.models import LevelOfCare
    from scheduling.services import BlockSpec

    return make_track(
        site,
        level_of_care=LevelOfCare.STEP_DOWN,
        meeting_days=[1],
        blocks=[BlockSpec(start_time=time(18), end_time=time(20))],
    )


def test_moving_to_another_level_of_care_requests_a_plan_review_once(site, clinician):
    from plans.models import PlanReviewTrigger, TriggerReason

    iop, other_iop, step_down = make_track(site), make_track(site), _step_down_track(site)
    episode = make_episode(site)
    first = _enroll(iop, episode, clinician)
    second = services.enrollment_move(enrollment=first, to_track=other_iop, on=START + timedelta(days=7), by=clinician)
    assert not PlanReviewTrigger.objects.exists()  # same level: no review
    services.enrollment_move(enrollment=second, to_track=step_down, on=START + timedelta(days=14), by=clinician)
    trigger = PlanReviewTrigger.objects.get()
    assert trigger.episode_id == episode.pk and trigger.reason == TriggerReason.LEVEL_OF_CARE_CHANGE
    assert trigger.requested_by == clinician and "2.1 → 1" in trigger.note


def test_a_new_enrollment_at_another_level_after_the_last_one_requests_a_review(site, clinician):
    from plans.models import PlanReviewTrigger, TriggerReason

    episode = make_episode(site)
    first = _enroll(make_track(site), episode, clinician)
    services.enrollment_end(enrollment=first, end_date=START + timedelta(days=6), by=clinician)
    _enroll(_step_down_track(site), episode, clinician, start_date=START + timedelta(days=8))
    assert list(PlanReviewTrigger.objects.values_list("reason", flat=True)) == [TriggerReason.LEVEL_OF_CARE_CHANGE]
    # A first enrollment is not a change.
    _enroll(make_track(site), make_episode(site), clinician)
    assert PlanReviewTrigger.objects.count() == 1
