"""Hand-written helpers for scheduling tests. Fake people only."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta

from patients.models import Episode, Patient
from scheduling import services
from scheduling.models import LevelOfCare, Room
from scheduling.services import BlockSpec

_seq = itertools.count(1)


def upcoming_monday() -> date:
    """The Monday of next week: inside the horizon a new track generates (it starts today), so
    tests about generated occurrences do not depend on the day they run."""
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def make_room(site, name: str | None = None, capacity: int = 12) -> Room:
    return Room.objects.create(site=site, name=name or f"Room {next(_seq)}", capacity=capacity)


def iop_blocks(room=None, facilitators=(), weekday=None) -> list[BlockSpec]:
    """09:00–10:30 group and 10:45–12:15 skills: 3 h a day, 9 h on three days."""
    return [
        BlockSpec(
            weekday=weekday,
            start_time=time(9),
            end_time=time(10, 30),
            kind="group",
            room=room,
            facilitators=list(facilitators),
        ),
        BlockSpec(
            weekday=weekday,
            start_time=time(10, 45),
            end_time=time(12, 15),
            kind="skills",
            room=room,
            facilitators=list(facilitators),
        ),
    ]


def make_track(site, *, by=None, room=None, facilitators=(), start_date=date(2026, 1, 5), blocks=None, **fields):
    """A Mon/Wed/Thu adult IOP track (9 h a week). Generates its horizon like the real service."""
    data = {
        "name": f"Morning IOP {next(_seq)}",
        "level_of_care": LevelOfCare.IOP,
        "age_group": "adult",
        "meeting_days": [0, 2, 3],
        "capacity": 10,
        "start_date": start_date,
        "topics": ["Relapse prevention", "Coping and stress", "Life skills"],
    }
    data.update(fields)
    return services.track_create(site=site, by=by, blocks=blocks or iop_blocks(room, facilitators), **data)


def make_patient(site, *, first="Alex", last=None, dob=date(1990, 5, 1)) -> Patient:
    n = next(_seq)
    return Patient.objects.create(
        site=site,
        mrn=f"PT{n:07d}",
        legal_first_name=first,
        legal_last_name=last or f"Testperson{n}",
        date_of_birth=dob,
    )


def make_episode(
    site, *, admitted=date(2026, 1, 1), discharged=None, by=None, patient=None, **patient_fields
) -> Episode:
    from users.tests.factories import UserFactory

    patient = patient or make_patient(site, **patient_fields)
    return Episode.objects.create(
        patient=patient,
        site=site,
        admission_date=admitted,
        admitted_by=by or UserFactory(),
        discharge_date=discharged,
        discharge_type="completed" if discharged else "",
    )
