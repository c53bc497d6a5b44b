"""Demo rooms, tracks, a closure, sessions and enrollments for ``manage.py seed_demo``.

Built through the services, relative to today, and safe to run again: existing rooms and
tracks are kept, generation is idempotent and an enrolled episode is not enrolled twice.
"""

from __future__ import annotations

from datetime import time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from users.models import User

from . import services
from .models import Closure, Enrollment, LevelOfCare, Room, RosterAddition, Track, week_start
from .services import BlockSpec

ROOMS = [("Group Room A", 14), ("Group Room B", 12), ("Counseling 1", 2), ("Family Room", 6)]
TOPICS = [
    "Relapse prevention: triggers and cravings",
    "Coping and stress management",
    "Emotion regulation (DBT skills)",
    "Communication and refusal skills",
    "Life skills: budgeting and work",
    "Family education",
    "Brain and addiction",
    "Overdose prevention and naloxone",
]
CLINICIAN_OF = {"Riverside": "clinician@demo.test", "Lakeside": "clinician2@demo.test"}


def _user(email: str) -> User | None:
    return User.objects.filter(email=email).first()


def _room(site, name: str, capacity: int, by) -> Room:
    room = Room.objects.filter(site=site, name=name).first()
    return room or services.room_create(site=site, name=name, capacity=capacity, by=by)


def _track(site, name: str, by, **fields) -> Track:
    track = Track.objects.filter(site=site, name=name).first()
    return track or services.track_create(site=site, name=name, by=by, **fields)


def seed(stdout, context: dict) -> dict:
    from patients.models import Episode

    supervisor = _user("supervisor@demo.test")
    made = {"tracks": 0, "sessions": 0, "enrollments": 0}
    for site_name, site in context.get("sites", {}).items():
        clinician = _user(CLINICIAN_OF.get(site_name, "")) or supervisor
        # The supervisor works at both sites, in different zones: they facilitate at the first
        # site only, so no demo session double-books them across sites.
        lead = supervisor if site_name == "Riverside" else clinician
        staff = [u for u in dict.fromkeys((clinician, lead)) if u is not None]
        rooms = {name: _room(site, name, capacity, supervisor) for name, capacity in ROOMS}
        today = timezone.localdate(timezone=site.zone)
        start = week_start(today) - timedelta(weeks=8)
        morning = _track(
            site,
            "Morning IOP",
            supervisor,
            level_of_care=LevelOfCare.IOP,
            age_group="adult",
            meeting_days=[0, 2, 3],
            capacity=12,
            start_date=start,
            topics=TOPICS,
            blocks=[
                BlockSpec(
                    start_time=time(9),
                    end_time=time(10, 30),
                    kind="group",
                    room=rooms["Group Room A"],
                    facilitators=staff,
                ),
                BlockSpec(
                    start_time=time(10, 45),
                    end_time=time(12, 15),
                    kind="skills",
                    room=rooms["Group Room A"],
                    facilitators=staff[:1],
                ),
            ],
        )
        evening = _track(
            site,
            "Evening IOP",
            supervisor,
            level_of_care=LevelOfCare.IOP,
            age_group="adult",
            meeting_days=[0, 1, 3],
            capacity=10,
            start_date=start,
            topics=TOPICS[::-1],
            blocks=[
                BlockSpec(
                    start_time=time(17, 30),
                    end_time=time(19),
                    kind="group",
                    room=rooms["Group Room B"],
                    facilitators=[lead] if lead else [],
                ),
                BlockSpec(
                    start_time=time(19, 15),
                    end_time=time(20, 45),
                    kind="psychoeducation",
                    room=rooms["Group Room B"],
                    facilitators=[lead] if lead else [],
                ),
            ],
        )
        if not Closure.objects.filter(site=site, reason="Staff training day").exists():
            services.closure_create(
                site=site,
                date=week_start(today) + timedelta(weeks=1, days=2),
                reason="Staff training day",
                by=supervisor,
            )
        for track in (morning, evening):
            made["tracks"] += 1
            result = services.track_generate_sessions(
                track=track, since=today - timedelta(weeks=2), until=today + timedelta(weeks=4), by=supervisor
            )
            made["sessions"] += result.created
        # Admitted demo patients join the morning track (from admission, or the track's start).
        episodes = Episode.objects.open().filter(site=site, patient__deleted_at__isnull=True).select_related("patient")
        for episode in episodes:
            if Enrollment.objects.filter(episode=episode).exists():
                continue
            try:
                services.enrollment_create(
                    track=morning,
                    episode=episode,
                    start_date=max(episode.admission_date, morning.start_date),
                    by=supervisor,
                )
                made["enrollments"] += 1
            except ValidationError as exc:
                stdout.write(f"  scheduling: not enrolled ({'; '.join(exc.messages)})")
                continue
            if (
                clinician is not None
                and not RosterAddition.objects.filter(episode=episode, session__kind="individual").exists()
            ):
                try:
                    services.session_book(
                        site=site,
                        by=supervisor,
                        kind="individual",
                        day=week_start(today) + timedelta(weeks=1, days=1),
                        start_time=time(13 + made["enrollments"] % 4),
                        end_time=time(13 + made["enrollments"] % 4, 50),
                        facilitators=[clinician],
                        room=rooms["Counseling 1"],
                        episode=episode,
                        repeat_weeks=3,
                    )
                except ValidationError as exc:
                    stdout.write(f"  scheduling: individual session not booked ({'; '.join(exc.messages)})")
    stdout.write(
        f"  scheduling: {made['tracks']} tracks, {made['sessions']} new sessions, {made['enrollments']} new enrollments"
    )
    return {}
