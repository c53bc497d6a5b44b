"""Each dashboard measure against the hand-built data set of ``world.build``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import dashboard
from reports.dashboard import Filters

from .world import build


@pytest.fixture
def world(site, other_site):
    return build(site, other_site)


def filters(world, *, sites=None, track=None) -> Filters:
    return Filters(
        site_ids=tuple(sites or [world.site.pk]),
        start=world.start,
        end=world.end,
        today=timezone.localdate(),
        now=timezone.now(),
        track_id=track,
    )


def test_census_counts_open_episodes_by_site_track_and_level(world):
    table = dashboard.census(filters(world))
    assert table.rows == [
        ["Riverside Test", "Morning IOP", "2.1", 1],
        ["Riverside Test", "Not enrolled", "2.1", 1],
    ]


def test_flow_counts_admissions_and_discharges_per_week(world):
    rows = {r[0]: r[1:] for r in dashboard.flow(filters(world)).rows}
    M = world.M
    assert len(rows) == 12
    assert rows[M.isoformat()] == [2, 0]
    assert rows[(M + timedelta(days=7)).isoformat()] == [1, 0]
    assert rows[(M + timedelta(days=14)).isoformat()] == [1, 1]
    assert rows[(M + timedelta(days=49)).isoformat()] == [0, 1]
    assert sum(r[0] for r in rows.values()) == 4 and sum(r[1] for r in rows.values()) == 2


def test_funnel_counts_each_stage_reached_and_the_median_wait(world):
    table, summary = dashboard.funnel(filters(world))
    assert [r[1] for r in table.rows] == [5, 4, 3, 3, 3, 3]
    assert summary["received"] == 5 and summary["admitted"] == 3
    assert summary["conversion"] == 60.0
    assert summary["days_n"] == 3
    assert summary["days_median"] == 10.0  # 4, 10, 14


def test_waitlist_counts_this_sites_waitlist_and_the_oldest(world):
    assert dashboard.waitlist(filters(world)) == {"count": 1, "oldest_days": 6}
    both = dashboard.waitlist(filters(world, sites=[world.site.pk, world.other_site.pk]))
    assert both == {"count": 2, "oldest_days": 40}


def test_attendance_rate_is_attended_over_rostered(world):
    assert dashboard.attendance_rate(filters(world)) == {"rostered": 16, "attended": 12, "rate": 75.0}


def test_attendance_rate_with_a_track_filter_keeps_that_track(world):
    found = dashboard.attendance_rate(filters(world, track=world.track.pk))
    assert found == {"rostered": 15, "attended": 11, "rate": 73.3}


def test_weekly_hours_mean_and_share_meeting_the_minimum(world):
    found = dashboard.weekly_hours(filters(world))
    assert found["patient_weeks"] == 5
    assert found["mean_hours"] == 6.5  # 1949 / 5 = 389.8 min
    assert found["meeting"] == 2 and found["meeting_pct"] == 40.0


def test_retention_counts_engaged_or_completed(world):
    rows = dashboard.retention(filters(world)).rows
    assert rows == [[4, 4, 3, 75.0], [8, 4, 3, 75.0], [12, 4, 3, 75.0]]


def test_discharges_by_type_completion_dropout_and_median_stay(world):
    table, summary = dashboard.discharges(filters(world))
    by_type = {r[0]: r[2] for r in table.rows}
    assert by_type["Completed treatment"] == 1 and by_type["Left against advice"] == 1
    assert summary["total"] == 2
    assert summary["completion_pct"] == 50.0 and summary["dropout_pct"] == 50.0
    assert summary["median_stay_days"] == 35.0  # 20 and 50


def test_score_change_first_to_last_per_episode(world):
    rows = {r[0]: r[1:] for r in dashboard.outcomes(filters(world)).rows}
    assert rows["PHQ-9 total"] == [2, 17.5, 9.5, -8.0]
    assert rows["GAD-7 total"] == [1, 10.0, 4.0, -6.0]
    assert rows["BAM use"] == [1, 6.0, 2.0, -4.0]
    assert rows["BAM risk"] == [1, 12.0, 8.0, -4.0]
    assert rows["BAM protective"] == [1, 10.0, 16.0, 6.0]


def test_toxicology_positivity_per_week(world):
    rows = {r[0]: r[1:] for r in dashboard.toxicology(filters(world)).rows}
    M = world.M
    assert rows[(M + timedelta(days=7)).isoformat()] == [2, 1, 50.0]
    assert rows[(M + timedelta(days=14)).isoformat()] == [1, 0, 0.0]
    assert rows[M.isoformat()] == [0, 0, None]


def test_placement_discrepancy_rate(world):
    assert dashboard.placements(filters(world)) == {"n": 3, "discrepant": 1, "pct": 33.3}


def test_plain_iop_against_a_withdrawal_step_counts_as_a_discrepancy(world):
    """IOP-RS-1 rule 2: "do not admit to plain IOP until D1 ≤ 1" — admitting to 2.1 while the
    recommendation is 2.1 with a withdrawal step is an override, and the dashboard counts it."""
    from datetime import datetime, time

    from assessments.models import Placement, PlacementStatus, PlacementType

    episode = world.episodes["E4"]
    staff = Placement.objects.decided().first().signed_by
    Placement.objects.create(
        patient=episode.patient,
        episode=episode,
        site=episode.site,
        placement_type=PlacementType.INITIAL,
        recommended_level="2.1",
        recommendation={"level": "2.1", "withdrawal_step": "2-WM"},
        actual_level="2.1",
        status=PlacementStatus.SIGNED,
        override_reason="CLINICAL_JUDGMENT",
        override_note="Withdrawal managed by the primary care physician",
        created_by=staff,
        signed_by=staff,
        signed_at=datetime.combine(world.start + timedelta(days=3), time(9), tzinfo=episode.site.zone),
    )
    assert dashboard.placements(filters(world)) == {"n": 4, "discrepant": 2, "pct": 50.0}


def test_overdue_documentation(world):
    assert [r[1] for r in dashboard.overdue(filters(world)).rows] == [1, 1, 2, 2]


def test_overdue_re_assessments_follow_each_sites_instrument_settings(world):
    from assessments.services import instrument_setting_save

    for code in ("PHQ-9", "GAD-7", "BAM"):
        instrument_setting_save(
            site=world.site, instrument_code=code, enabled=False, reassessment_interval_days=None, by=None
        )
    assert [r[1] for r in dashboard.overdue(filters(world)).rows] == [1, 1, 2, 0]
    both = filters(world, sites=[world.site.pk, world.other_site.pk])
    assert (
        dashboard.overdue(both).rows[3][1] == dashboard.overdue(filters(world, sites=[world.other_site.pk])).rows[3][1]
    )


def test_other_sites_data_never_counts(world):
    only_b = dashboard.build(filters(world, sites=[world.other_site.pk]))
    assert only_b.attendance == {"rostered": 1, "attended": 1, "rate": 100.0}
    assert only_b.placements["n"] == 1
    assert [r[1] for r in only_b.funnel.rows][0] == 1
    assert sum(r[1] for r in only_b.toxicology.rows) == 1


def test_the_query_count_does_not_grow_with_the_data(site, other_site):
    empty = filters_for(site)
    with CaptureQueriesContext(connection) as small:
        dashboard.build(empty)
    world = build(site, other_site)
    build_more = [build(site, other_site, tag=f" {n}") for n in range(2)]
    assert build_more
    with CaptureQueriesContext(connection) as large:
        dashboard.build(filters(world))
    assert len(small) == len(large)


def filters_for(site) -> Filters:
    today = timezone.localdate()
    return Filters(site_ids=(site.pk,), start=today - timedelta(days=90), end=today, today=today, now=timezone.now())
