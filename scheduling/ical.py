"""A clinician's sessions as an iCalendar feed: times, rooms and session types only.

The link works without signing in (calendar apps cannot sign in), so the feed carries no
patient names and nothing clinical; individual and family sessions show the patient's
initials at most.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from icalendar import Calendar, Event

from .models import SessionKind, SessionStatus, TherapySession
from .selectors import rosters_for
from .services import horizon_weeks

PAST_DAYS = 14


def _initials(patient) -> str:
    return "".join(f"{part[0].upper()}." for part in (patient.legal_first_name, patient.legal_last_name) if part)


def feed_for(user) -> bytes:
    now = timezone.now()
    sessions = list(
        TherapySession.objects.filter(facilitators=user)
        .between(now - timedelta(days=PAST_DAYS), now + timedelta(weeks=horizon_weeks() + 1))
        .for_calendar()
    )
    # Initials on individual and family sessions only: next to "peer recovery support" or
    # "medication management (MOUD/MAUD)" they would say what the person is treated for.
    personal = [s for s in sessions if s.kind in {SessionKind.INDIVIDUAL, SessionKind.FAMILY}]
    rosters = rosters_for(personal)
    cal = Calendar()
    cal.add("prodid", "-//IOP Clinic//Sessions//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "My sessions")
    for s in sessions:
        event = Event()
        event.add("uid", f"{s.public_id}@iop-clinic")
        event.add("dtstamp", s.updated_at)
        event.add("dtstart", s.starts_at)
        event.add("dtend", s.ends_at)
        if s.track_id:
            summary = f"{s.track.name}: {s.title}"
        else:
            initials = ", ".join(_initials(e.patient) for e in rosters.get(s.pk, []))
            summary = f"{s.get_kind_display()}{f' ({initials})' if initials else ''}"
        event.add("summary", summary)
        if s.room_id:
            event.add("location", f"{s.site.name}, {s.room.name}")
        if s.status == SessionStatus.CANCELLED:
            event.add("status", "CANCELLED")
        cal.add_component(event)
    return cal.to_ical()
