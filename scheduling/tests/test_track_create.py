from datetime import date, time

import pytest
from django.core.exceptions import ValidationError

from scheduling.models import AgeGroup, LevelOfCare, TherapySession, Track, TrackBlock
from scheduling.services import BlockSpec

from .factories import iop_blocks, make_room, make_track

pytestmark = pytest.mark.django_db


def _refused(site, field, **kwargs):
    with pytest.raises(ValidationError) as exc:
        make_track(site, **kwargs)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not Track.objects.exists()
    assert not TrackBlock.objects.exists()
    assert not TherapySession.objects.exists()
    return " ".join(exc.value.message_dict[field])


def test_it_creates_a_track_with_blocks_and_sessions(site, clinician):
    room = make_room(site)
    track = make_track(site, room=room, facilitators=[clinician])
    assert track.blocks.count() == 2
    assert TherapySession.objects.filter(track=track).exists()
    session = TherapySession.objects.filter(track=track).first()
    assert list(session.facilitators.all()) == [clinician]
    assert session.bookings.count() == 2  # the room and the facilitator


def test_it_refuses_a_block_that_ends_before_it_starts(site):
    message = _refused(site, "blocks", blocks=[BlockSpec(start_time=time(12), end_time=time(9))])
    assert "ends before it starts" in message


def test_it_refuses_overlapping_blocks(site):
    blocks = [
        BlockSpec(start_time=time(9), end_time=time(11)),
        BlockSpec(start_time=time(10, 30), end_time=time(12, 30), kind="skills"),
    ]
    assert "overlap" in _refused(site, "blocks", blocks=blocks)


@pytest.mark.parametrize("days", [[0, 2], [0, 1, 2, 3, 4, 5]])
def test_it_refuses_an_iop_track_outside_three_to_five_days(site, days):
    assert "3–5 days" in _refused(site, "meeting_days", meeting_days=days)


def test_it_refuses_a_track_below_its_level_minimum(site):
    blocks = [BlockSpec(start_time=time(9), end_time=time(11))]  # 2 h × 3 days = 6 h
    message = _refused(site, "blocks", blocks=blocks)
    assert "6 h a week" in message and "at least 9 h" in message


def test_an_adolescent_iop_track_needs_six_hours(site):
    blocks = [BlockSpec(start_time=time(15), end_time=time(17))]
    track = make_track(site, blocks=blocks, age_group=AgeGroup.ADOLESCENT)
    assert track.pk


def test_it_refuses_an_iop_track_over_nineteen_hours(site):
    blocks = [BlockSpec(start_time=time(9), end_time=time(13)), BlockSpec(start_time=time(13), end_time=time(17))]
    assert "at most 19 h" in _refused(site, "blocks", blocks=blocks, meeting_days=[0, 1, 2])


def test_php_needs_twenty_hours(site):
    assert "at least 20 h" in _refused(site, "blocks", level_of_care=LevelOfCare.PHP, meeting_days=[0, 1, 2, 3, 4])
    blocks = [BlockSpec(start_time=time(9), end_time=time(13))]
    assert make_track(site, blocks=blocks, level_of_care=LevelOfCare.PHP, meeting_days=[0, 1, 2, 3, 4]).pk


def test_step_down_may_meet_fewer_days(site):
    blocks = [BlockSpec(start_time=time(18), end_time=time(20))]
    assert make_track(site, blocks=blocks, level_of_care=LevelOfCare.STEP_DOWN, meeting_days=[1]).pk


def test_it_refuses_a_block_on_a_day_the_track_does_not_meet(site):
    blocks = [*iop_blocks(), BlockSpec(weekday=4, start_time=time(13), end_time=time(14), kind="individual")]
    assert "does not meet" in _refused(site, "blocks", blocks=blocks)


def test_it_refuses_a_facilitator_from_another_site(site, other_site, make_staff):
    stranger = make_staff(at=other_site)
    assert "staff member of this site" in _refused(site, "blocks", facilitators=[stranger])


def test_it_refuses_a_room_already_taken_and_saves_nothing(site):
    room = make_room(site)
    make_track(site, room=room, name="First")
    with pytest.raises(ValidationError) as exc:
        make_track(site, room=room, name="Second")
    assert "already booked" in " ".join(exc.value.message_dict["blocks"])
    assert not Track.objects.filter(name="Second").exists()


def test_end_date_before_start_is_refused(site):
    assert "before the start" in _refused(site, "end_date", start_date=date(2026, 5, 1), end_date=date(2026, 4, 1))


def test_a_step_down_track_stays_under_nine_hours_for_adults(site):
    """DOMAIN.md §1.1: level 1 outpatient is "< 9 h/week adults, < 6 h/week adolescents"."""
    three_hours = [BlockSpec(start_time=time(9), end_time=time(12))]
    message = _refused(site, "blocks", blocks=three_hours, level_of_care=LevelOfCare.STEP_DOWN, meeting_days=[0, 2, 3])
    assert "9 h a week" in message and "under 9 h" in message and "2.1" in message
    almost = [BlockSpec(start_time=time(9), end_time=time(11, 45))]
    assert make_track(site, blocks=almost, level_of_care=LevelOfCare.STEP_DOWN, meeting_days=[0, 2, 3]).pk


def test_an_adolescent_step_down_track_stays_under_six_hours(site):
    two_hours = [BlockSpec(start_time=time(16), end_time=time(18))]
    message = _refused(
        site,
        "blocks",
        blocks=two_hours,
        level_of_care=LevelOfCare.STEP_DOWN,
        age_group=AgeGroup.ADOLESCENT,
        meeting_days=[0, 2, 3],
    )
    assert "under 6 h" in message
    five = [BlockSpec(start_time=time(16), end_time=time(18, 30))]
    track = make_track(
        site, blocks=five, level_of_care=LevelOfCare.STEP_DOWN, age_group=AgeGroup.ADOLESCENT, meeting_days=[0, 2]
    )
    assert track.pk


def test_iop_and_php_limits_are_unchanged():
    from scheduling.models import hours_rule

    assert (hours_rule("2.1", "adult").minimum, hours_rule("2.1", "adult").maximum) == (9, 19)
    assert (hours_rule("2.1", "adolescent").minimum, hours_rule("2.5", "adult").minimum) == (6, 20)
    assert hours_rule("2.1", "adult").below is None and hours_rule("2.5", "adult").below is None
    assert (hours_rule("1", "adult").below, hours_rule("1", "adolescent").below) == (9, 6)
