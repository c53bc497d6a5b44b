"""A small, explicit data set for the report tests, with every expected number worked out by
hand in the docstring of ``build``. Fake people only.

All dates hang off ``M``: the Monday about 17 weeks before today, so every session has started,
every week is complete and every admission is old enough for 12-week retention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from assessments.models import (
    AnalyteResult,
    AssessmentResponse,
    Expectation,
    Method,
    Placement,
    PlacementStatus,
    PlacementType,
    Result,
    Specimen,
)
from notifications.models import Alert, AlertKind, Severity
from patients.models import Episode, Referral, ReferralEvent, Stage
from scheduling.models import Enrollment, RosterAddition, TherapySession
from scheduling.tests.factories import make_episode, make_patient
from sessions.models import Attendance, GroupNote, ProgressNote
from sessions.tests.factories import make_session, make_track
from users.tests.factories import UserFactory


def monday_weeks_ago(weeks: int) -> date:
    today = timezone.localdate()
    return today - timedelta(days=today.weekday()) - timedelta(days=7 * weeks)


@dataclass
class World:
    site: object
    other_site: object
    M: date
    start: date
    end: date
    track: object
    episodes: dict[str, Episode] = field(default_factory=dict)
    sessions: list[TherapySession] = field(default_factory=list)
    staff: object = None


def attend(session, episode, status: str, minutes: int = 0, by=None) -> Attendance:
    return Attendance.objects.create(
        session=session,
        patient=episode.patient,
        episode=episode,
        status=status,
        minutes_attended=minutes,
        recorded_by=by or UserFactory(),
        recorded_at=session.ends_at,
    )


def discharge(episode: Episode, on: date, kind: str) -> None:
    Episode.objects.filter(pk=episode.pk).update(discharge_date=on, discharge_type=kind)
    episode.refresh_from_db()


def referral(site, patient, received: date, stages: list[str], by, episode=None, waitlisted_days=None) -> Referral:
    r = Referral.objects.create(
        patient=patient,
        site=site,
        source="self",
        received_on=received,
        reason="Test",
        created_by=by,
        stage=stages[-1],
        episode=episode,
        waitlisted_at=timezone.now() - timedelta(days=waitlisted_days) if waitlisted_days is not None else None,
    )
    previous = ""
    for step, stage in enumerate(stages):
        at = datetime.combine(received + timedelta(days=step), time(10), tzinfo=site.zone)
        ReferralEvent.objects.create(referral=r, from_stage=previous, to_stage=stage, at=at, by=by)
        previous = stage
    return r


def response(episode, code: str, day: date, *, total=None, subscales=None) -> AssessmentResponse:
    by = episode.admitted_by
    return AssessmentResponse.objects.create(
        patient=episode.patient,
        episode=episode,
        site=episode.site,
        instrument=code,
        answers=[],
        total=total,
        subscales=subscales or {},
        band_set="test",
        administered_by=by,
        administered_at=datetime.combine(day, time(11), tzinfo=episode.site.zone),
        status="closed",
        closed_at=timezone.now(),
        closed_by=by,
    )


def build(site, other_site, tag: str = "") -> World:
    """The data set. Site A = ``site`` (America/New_York), B = ``other_site``.

    Episodes at A: E1 admitted M, discharged M+50 completed; E2 admitted M, discharged M+20
    against advice; E3 admitted M+7, open; E4 admitted M+14, open, never enrolled. Track T (IOP,
    adult) enrolls E1, E2 from M and E3 from M+7. B has E5 (open, attended, waitlisted referral):
    it must never show at A.

    Sessions of T (09:00, 180 min) on M, M+2, M+3, M+7, M+9, M+10, and one individual session
    for E4 (roster addition) on Sunday M+6 at 21:00 New York (Monday in UTC).

    Attendance (minutes):  M    M+2   M+3      | M+7  M+9  M+10
      E1                  180   180   180      | 180  180  150 (left early)
      E2                  180   no-show 179 (late) | no-show ×3
      E3                  —     —     —        | 180  180  180
      E4 (Sunday M+6)     180

    Expected: rostered 6 + 9 + 1 addition = 16, attended 5 + 6 + 1 = 12 → 75.0 %.
    Patient-weeks (IOP track sessions): E1w1 540, E2w1 359, E1w2 510, E2w2 0, E3w2 540 →
    n 5, mean 1949/5 = 389.8 min = 6.5 h, meeting (≥ 540) 2 → 40.0 %.
    Per-diem days (≥ 180): E1 M, M+2, M+3, M+7, M+9; E2 M; E3 M+7, M+9, M+10; E4 M+6 → 10 rows.
    """
    M = monday_weeks_ago(17)
    staff = UserFactory()
    track = make_track(site, name=f"Morning IOP{tag}", start_date=M - timedelta(days=30))
    e1 = make_episode(site, admitted=M, first="Ann")
    e2 = make_episode(site, admitted=M, first="Bea")
    e3 = make_episode(site, admitted=M + timedelta(days=7), first="Cal")
    e4 = make_episode(site, admitted=M + timedelta(days=14), first="Dee")
    for e in (e1, e2, e3):
        Enrollment.objects.create(track=track, episode=e, start_date=e.admission_date)
    discharge(e1, M + timedelta(days=50), "completed")
    discharge(e2, M + timedelta(days=20), "against_advice")

    days = [0, 2, 3, 7, 9, 10]
    sessions = [make_session(site, track=track, day=M + timedelta(days=d)) for d in days]
    s = dict(zip(days, sessions, strict=True))
    for d in (0, 2, 3):
        attend(s[d], e1, "present", 180)
    attend(s[7], e1, "present", 180)
    attend(s[9], e1, "present", 180)
    attend(s[10], e1, "left_early", 150)
    attend(s[0], e2, "present", 180)
    attend(s[2], e2, "no_show")
    attend(s[3], e2, "late", 179)
    for d in (7, 9, 10):
        attend(s[d], e2, "no_show")
        attend(s[d], e3, "present", 180)
    sunday = make_session(site, day=M + timedelta(days=6), at=time(21), kind="individual")
    RosterAddition.objects.create(session=sunday, episode=e4, reason="Individual")
    attend(sunday, e4, "present", 180)

    # Site B: an open episode with attendance, a waitlisted referral, a tox specimen.
    e5 = make_episode(other_site, admitted=M, first="Eve")
    other_track = make_track(other_site, name=f"Other IOP{tag}", start_date=M - timedelta(days=30))
    Enrollment.objects.create(track=other_track, episode=e5, start_date=M)
    other_session = make_session(other_site, track=other_track, day=M)
    attend(other_session, e5, "present", 180)
    referral(
        other_site,
        make_patient(other_site),
        M - timedelta(days=2),
        [Stage.RECEIVED, Stage.WAITLISTED],
        staff,
        waitlisted_days=40,
    )

    # Intake (site A): received → … → admitted for E1 (10 days), E2 (4), E3 (14); one waitlisted
    # after screening was scheduled (6 days on the list), one declined at once.
    full = [
        Stage.RECEIVED,
        Stage.SCREENING_SCHEDULED,
        Stage.SCREENED,
        Stage.ASSESSED,
        Stage.PLACEMENT_DECIDED,
        Stage.ADMITTED,
    ]
    referral(site, e1.patient, M - timedelta(days=10), full, staff, episode=e1)
    referral(site, e2.patient, M - timedelta(days=4), full, staff, episode=e2)
    referral(site, e3.patient, M - timedelta(days=7), full, staff, episode=e3)
    referral(
        site,
        make_patient(site),
        M - timedelta(days=5),
        [Stage.RECEIVED, Stage.SCREENING_SCHEDULED, Stage.WAITLISTED],
        staff,
        waitlisted_days=6,
    )
    referral(site, make_patient(site), M - timedelta(days=3), [Stage.RECEIVED, Stage.DECLINED], staff)

    # Outcomes: PHQ-9 E1 15 → 9 (−6), E3 20 → 12 → 10 (−10), E2 once (not paired); GAD-7 E1 10 → 4;
    # BAM E3 use 6 → 2, risk 12 → 8, protective 10 → 16.
    response(e1, "PHQ-9", M + timedelta(days=1), total=15)
    response(e1, "PHQ-9", M + timedelta(days=40), total=9)
    response(e3, "PHQ-9", M + timedelta(days=8), total=20)
    response(e3, "PHQ-9", M + timedelta(days=30), total=12)
    response(e3, "PHQ-9", M + timedelta(days=60), total=10)
    response(e2, "PHQ-9", M + timedelta(days=2), total=18)
    response(e1, "GAD-7", M + timedelta(days=1), total=10)
    response(e1, "GAD-7", M + timedelta(days=40), total=4)
    response(e3, "BAM", M + timedelta(days=8), subscales={"use": 6, "risk": 12, "protective": 10})
    response(e3, "BAM", M + timedelta(days=50), subscales={"use": 2, "risk": 8, "protective": 16})

    # Toxicology: week M+7: two specimens, one with an unexpected positive; week M+14: one with
    # an expected positive only. Site B: one unexpected positive (never counted at A).
    def specimen(episode, day, result, expectation):
        sp = Specimen.objects.create(
            patient=episode.patient,
            episode=episode,
            site=episode.site,
            specimen_type="urine",
            collected_at=datetime.combine(day, time(10), tzinfo=episode.site.zone),
            collected_by=staff,
        )
        AnalyteResult.objects.create(
            specimen=sp,
            analyte="cocaine",
            method=Method.POC_IMMUNOASSAY,
            result=result,
            expectation=expectation,
            recorded_by=staff,
        )

    specimen(e1, M + timedelta(days=8), Result.PRESUMPTIVE_POSITIVE, Expectation.UNEXPECTED)
    specimen(e3, M + timedelta(days=9), Result.NEGATIVE, Expectation.EXPECTED)
    specimen(e3, M + timedelta(days=15), Result.PRESUMPTIVE_POSITIVE, Expectation.EXPECTED)
    specimen(e5, M + timedelta(days=8), Result.PRESUMPTIVE_POSITIVE, Expectation.UNEXPECTED)

    # Placements signed in the range: 2 concordant, 1 discrepant (2.5 recommended, 2.1 actual).
    def placement(episode, recommended, actual):
        Placement.objects.create(
            patient=episode.patient,
            episode=episode,
            site=episode.site,
            placement_type=PlacementType.INITIAL,
            recommended_level=recommended,
            actual_level=actual,
            status=PlacementStatus.SIGNED,
            override_reason="" if recommended == actual else "PATIENT_PREFERENCE",
            override_note="" if recommended == actual else "Prefers IOP",
            created_by=staff,
            signed_by=staff,
            signed_at=datetime.combine(episode.admission_date, time(9), tzinfo=episode.site.zone),
        )

    placement(e1, "2.1", "2.1")
    placement(e2, "2.1", "2.1")
    placement(e3, "2.5", "2.1")
    placement(e5, "2.5", "2.1")

    # Overdue documentation: a draft progress note (E3) and a draft group note, both long past.
    ProgressNote.objects.create(session=s[10], patient=e3.patient, episode=e3, site=site, author=staff)
    GroupNote.objects.create(
        session=s[9], site=site, author=staff, topic="Coping", starts_at=s[9].starts_at, ends_at=s[9].ends_at
    )
    Alert.objects.create(
        site=site, patient=e4.patient, kind=AlertKind.SAFETY, severity=Severity.HIGH, title_code="OTHER"
    )

    world = World(
        site=site,
        other_site=other_site,
        M=M,
        start=M - timedelta(days=14),
        end=M + timedelta(days=69),
        track=track,
        sessions=sessions,
        staff=staff,
    )
    world.episodes = {"E1": e1, "E2": e2, "E3": e3, "E4": e4, "E5": e5}
    return world
