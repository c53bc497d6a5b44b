"""Units used are counted from attendance: billable per-diem days (minimum minutes, IOP level,
a signed treatment plan in effect) within the authorization's dates; never typed, and counted
for any number of authorizations in one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.selectors import billable_days, units_used, with_units_used
from scheduling.tests.factories import make_episode
from sessions.models import Attendance
from sessions.tests.factories import make_session, make_track
from users.tests.factories import UserFactory

from .helpers import make_authorization, make_payer, signed_plan

pytestmark = pytest.mark.django_db


def _attend(site, track, episode, day, minutes=180, status="present"):
    session = make_session(site, track=track, day=day, minutes=max(minutes, 1))
    Attendance.objects.create(
        session=session,
        patient=episode.patient,
        episode=episode,
        status=status,
        minutes_attended=minutes if status != "no_show" else 0,
        recorded_by=UserFactory(),
        recorded_at=session.ends_at,
    )


@pytest.fixture
def days(site, episode):
    """Episode attended days 0..9 after admission: 180 min, except day 3 (179), day 5 (no-show)."""
    track = make_track(site, start_date=episode.admission_date - timedelta(days=10))
    start = episode.admission_date
    for n in range(10):
        if n == 5:
            _attend(site, track, episode, start + timedelta(days=n), status="no_show")
        else:
            _attend(site, track, episode, start + timedelta(days=n), 179 if n == 3 else 180)
    return track


def test_units_used_are_the_billable_days_within_the_dates(episode, payer, intake, days):
    signed_plan(episode, episode.admission_date)
    auth = make_authorization(episode, payer, by=intake, start=episode.admission_date + timedelta(days=2), days=6)
    # Days 2..7: day 3 is one minute short and day 5 a no-show → 2, 4, 6, 7.
    assert auth.units_used == 4
    assert auth.units_remaining == auth.units_authorized - 4


def test_days_before_the_treatment_plan_took_effect_are_not_units(episode, payer, intake, days):
    signed_plan(episode, episode.admission_date + timedelta(days=6))
    auth = make_authorization(episode, payer, by=intake, days=30)
    assert auth.units_used == 4  # days 6, 7, 8, 9


def test_another_episodes_attendance_is_not_counted(site, episode, payer, intake, days):
    other = make_episode(site, admitted=episode.admission_date)
    signed_plan(episode, episode.admission_date)
    signed_plan(other, other.admission_date)
    _attend(site, days, other, other.admission_date)
    auth = make_authorization(other, payer, by=intake, days=30)
    assert auth.units_used == 1


def test_units_used_for_many_authorizations_take_one_query(site, episode, payer, intake, days):
    signed_plan(episode, episode.admission_date)
    start = episode.admission_date
    auths = [
        make_authorization(episode, payer, by=intake, start=start, days=2),
        make_authorization(episode, payer, by=intake, start=start + timedelta(days=2), days=4),
        make_authorization(episode, make_payer(), by=intake, start=start, days=10),
    ]
    with CaptureQueriesContext(connection) as ctx:
        counted = with_units_used(auths)
    assert len(ctx.captured_queries) == 1
    assert [a.units_used for a in counted] == [2, 2, 8]
    assert units_used([]) == {}


def test_billable_days_show_the_plan_in_effect(episode, days):
    signed_plan(episode, episode.admission_date, version=1, status="superseded")
    signed_plan(episode, episode.admission_date + timedelta(days=7), version=2)
    rows = list(
        billable_days(episode.admission_date, episode.admission_date + timedelta(days=9), episode_ids=[episode.pk])
    )
    assert [(r["day"] - episode.admission_date).days for r in rows] == [0, 1, 2, 4, 6, 7, 8, 9]
    assert [r["plan_version"] for r in rows] == [1, 1, 1, 1, 1, 2, 2, 2]
