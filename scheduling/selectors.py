"""Reads that span many sessions: rosters in a fixed number of queries, a patient's schedule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet

from .models import Enrollment, RosterAddition, TherapySession


@dataclass(frozen=True)
class RosterEntry:
    episode: object
    source: str  # "enrolled" or "added"
    is_taper: bool = False
    addition_id: int | None = None  # the RosterAddition row of an "added" entry

    @property
    def patient(self):
        return self.episode.patient


def rosters_for(sessions: Sequence[TherapySession]) -> dict[int, list[RosterEntry]]:
    """Each session's roster: enrollments of its track active on its (local) occurrence date,
    plus one-off additions. Two queries, however many sessions."""
    sessions = list(sessions)
    rosters: dict[int, list[RosterEntry]] = {s.pk: [] for s in sessions}
    if not sessions:
        return rosters
    day_of = {s.pk: s.occurrence_date or s.local_start().date() for s in sessions}
    track_ids = {s.track_id for s in sessions if s.track_id}
    if track_ids:
        first, last = min(day_of.values()), max(day_of.values())
        enrollments = list(
            Enrollment.objects.filter(track_id__in=track_ids)
            .overlapping(first, last)
            .select_related("episode__patient")
            .order_by("episode__patient__legal_last_name", "episode__patient__legal_first_name", "pk")
        )
        by_track: dict[int, list[Enrollment]] = {}
        for e in enrollments:
            by_track.setdefault(e.track_id, []).append(e)
        for s in sessions:
            if s.track_id:
                day = day_of[s.pk]
                rosters[s.pk].extend(
                    RosterEntry(e.episode, "enrolled", e.is_taper)
                    for e in by_track.get(s.track_id, [])
                    if e.is_active_on(day)
                )
    for addition in RosterAddition.objects.filter(session_id__in=rosters).select_related("episode__patient"):
        entry = RosterEntry(addition.episode, "added", addition_id=addition.pk)
        if all(x.episode.pk != addition.episode_id for x in rosters[addition.session_id]):
            rosters[addition.session_id].append(entry)
    return rosters


def sessions_for_patient(patient, start: datetime, end: datetime) -> QuerySet[TherapySession]:
    """Sessions between ``start`` and ``end`` the patient is on the roster of (by enrollment on
    that day, or by addition). Filtered precisely by ``patient_sessions`` below."""
    enrollments = Enrollment.objects.filter(episode__patient=patient)
    return (
        TherapySession.objects.between(start, end)
        .filter(Q(track__enrollments__in=enrollments) | Q(roster_additions__episode__patient=patient))
        .distinct()
        .for_calendar()
    )


def patient_sessions(patient, start: datetime, end: datetime) -> list[TherapySession]:
    """The patient's own sessions in the window, in order (no other patient's data loaded)."""
    candidates = list(sessions_for_patient(patient, start, end))
    enrollments = list(Enrollment.objects.filter(episode__patient=patient).select_related("episode", "track"))
    added = set(
        RosterAddition.objects.filter(episode__patient=patient, session__in=candidates).values_list(
            "session_id", flat=True
        )
    )
    mine = []
    for s in candidates:
        day: date = s.occurrence_date or s.local_start().date()
        if s.pk in added or any(e.track_id == s.track_id and e.is_active_on(day) for e in enrollments):
            mine.append(s)
    return mine
