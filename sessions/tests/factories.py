"""Hand-written helpers for session-delivery tests. Fake people only."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from patients.models import Episode
from scheduling.models import Enrollment, LevelOfCare, TherapySession, Track
from scheduling.tests.factories import make_episode
from sessions import services
from sessions.services import RowInput

_seq = itertools.count(1)


def make_track(site, *, level=LevelOfCare.IOP, age_group="adult", start_date=date(2026, 1, 5), **fields) -> Track:
    return Track.objects.create(
        site=site,
        name=fields.pop("name", f"Evening IOP {next(_seq)}"),
        level_of_care=level,
        age_group=age_group,
        meeting_days=[0, 2, 3],
        capacity=fields.pop("capacity", 40),
        start_date=start_date,
        **fields,
    )


def local(site, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=site.zone)


def make_session(
    site, *, track=None, day: date, at: time = time(9), minutes: int = 180, kind="group", facilitators=(), topic=""
) -> TherapySession:
    starts = local(site, day, at)
    session = TherapySession.objects.create(
        site=site,
        track=track,
        kind=kind,
        topic=topic or f"Relapse prevention {next(_seq)}",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
        occurrence_date=day,
    )
    if facilitators:
        session.facilitators.set(facilitators)
    return session


def enroll(site, track, *, start=date(2026, 1, 5), is_taper=False, counselor=None, **patient_fields) -> Episode:
    episode = make_episode(site, admitted=start, **patient_fields)
    if counselor is not None:
        Episode.objects.filter(pk=episode.pk).update(primary_counselor=counselor)
        episode.refresh_from_db()
    Enrollment.objects.create(track=track, episode=episode, start_date=start, is_taper=is_taper)
    return episode


def roll(session, by, marks: dict) -> list:
    """``marks``: episode → status, (status, minutes) or (status, minutes, late_cancel)."""
    rows = []
    for episode, mark in marks.items():
        status, minutes, late_cancel = (mark, None, False) if isinstance(mark, str) else (*mark, False)[:3]
        rows.append(RowInput(patient=episode.patient, status=status, minutes=minutes, late_cancel=late_cancel))
    return services.attendance_record_roster(session=session, rows=rows, by=by)
