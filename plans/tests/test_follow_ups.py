"""Discharge signing closes the episode and schedules check-ins at 30, 60 and 90 days."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from patients.models import site_today
from plans import services
from plans.models import FollowUpCheckIn, FollowUpStatus
from plans.selectors import follow_ups_due

pytestmark = pytest.mark.django_db


def test_signing_the_discharge_creates_30_60_90_day_follow_ups(episode, counselor):
    day = site_today(episode.site) - timedelta(days=1)
    services.discharge_sign(
        episode=episode, by=counselor, discharge_date=day, discharge_type="completed", summary="Done."
    )
    episode.refresh_from_db()
    assert episode.discharge_date == day and episode.discharge_summary == "Done." and episode.discharged_by == counselor
    rows = list(FollowUpCheckIn.objects.filter(episode=episode).order_by("due_on"))
    assert [(r.days_after_discharge, r.due_on) for r in rows] == [(n, day + timedelta(days=n)) for n in (30, 60, 90)]
    # Idempotent.
    services.follow_ups_schedule(episode=episode, by=counselor)
    assert FollowUpCheckIn.objects.filter(episode=episode).count() == 3


def test_discharge_bad_input_saves_nothing(episode, counselor):
    cases = [
        (
            {
                "discharge_date": episode.admission_date - timedelta(days=1),
                "discharge_type": "completed",
                "summary": "x",
            },
            "discharge_date",
        ),
        ({"discharge_date": site_today(episode.site), "discharge_type": "", "summary": "x"}, "discharge_type"),
        ({"discharge_date": site_today(episode.site), "discharge_type": "completed", "summary": "  "}, "summary"),
        (
            {
                "discharge_date": site_today(episode.site) + timedelta(days=2),
                "discharge_type": "completed",
                "summary": "x",
            },
            "discharge_date",
        ),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.discharge_sign(episode=episode, by=counselor, **fields)
        assert field in exc.value.message_dict, fields
    episode.refresh_from_db()
    assert episode.is_open and not FollowUpCheckIn.objects.exists()


def test_a_follow_up_is_recorded_once_and_leaves_the_due_list(episode, counselor):
    day = site_today(episode.site) - timedelta(days=1)
    services.discharge_sign(
        episode=episode, by=counselor, discharge_date=day, discharge_type="completed", summary="Done."
    )
    later = day + timedelta(days=31)
    due = list(follow_ups_due([episode.site_id], later, horizon_days=0))
    assert [r.days_after_discharge for r in due] == [30]
    with pytest.raises(ValidationError) as exc:
        services.follow_up_record(checkin=due[0], by=counselor, status=FollowUpStatus.DONE, outcome_note="")
    assert "outcome_note" in exc.value.message_dict
    services.follow_up_record(
        checkin=due[0], by=counselor, status=FollowUpStatus.UNABLE_TO_REACH, outcome_note="Two calls, no answer"
    )
    with pytest.raises(ValidationError, match="already recorded"):
        services.follow_up_record(checkin=due[0], by=counselor, status=FollowUpStatus.DONE, outcome_note="x")
    assert list(follow_ups_due([episode.site_id], later, horizon_days=0)) == []
