"""Demo attendance and notes for ``manage.py seed_demo``: roll taken for the demo's past group
sessions (mostly present, some late, a few no-shows), a few signed group notes (each attendee's
part linked to an open objective of their treatment plan) and one draft.
Built through the services; safe to run again (a session that has a roll is left alone)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling.models import SessionStatus, TherapySession
from scheduling.selectors import rosters_for
from users.models import User

from . import services
from .models import Attendance, GroupNote, NoteStatus
from .selectors import objectives_for_episodes

AUTHOR_OF = {"Riverside": "clinician@demo.test", "Lakeside": "clinician2@demo.test"}
GROUP_KINDS = ["group", "skills", "psychoeducation"]
PARTS = [
    (
        "Shared a recent trigger at work and how they delayed acting on the craving.",
        "Engaged; asked peers for ideas.",
        "Practised urge surfing twice this week (objective 1.1).",
        "None observed; denies SI.",
    ),
    (
        "Quiet at first, then described a family conflict over the weekend.",
        "Tearful, calmer after grounding exercise.",
        "Attended two mutual-help meetings as planned.",
        "No risk indicators observed.",
    ),
    (
        "Led the check-in and offered support to a newer member.",
        "Receptive to feedback on refusal skills.",
        "Role-played refusing an offer; rated confidence 7/10.",
        "None observed.",
    ),
]


def _status_for(n: int) -> tuple[str, int | None]:
    """Mostly present; every 7th late by 20 minutes, every 11th a no-show."""
    if n % 11 == 5:
        return "no_show", None
    if n % 7 == 3:
        return "late", None
    return "present", None


def seed(stdout, context: dict) -> dict:
    made = {"rolls": 0, "signed": 0, "drafts": 0}
    now = timezone.now()
    for site_name, site in context.get("sites", {}).items():
        author = User.objects.filter(email=AUTHOR_OF.get(site_name, "")).first()
        if author is None:
            continue
        past = list(
            TherapySession.objects.filter(
                site=site, status=SessionStatus.SCHEDULED, kind__in=GROUP_KINDS, ends_at__lt=now, track__isnull=False
            )
            .select_related("site", "track")
            .order_by("starts_at")
        )
        rosters = rosters_for(past)
        for session in past:
            roster = rosters[session.pk]
            if not roster or Attendance.objects.filter(session=session).exists():
                continue
            length = services.session_minutes(session)
            rows = []
            for entry in roster:
                status, _ = _status_for(session.pk + entry.episode.patient_id)
                minutes = length - 20 if status == "late" else None
                rows.append(services.RowInput(patient=entry.patient, status=status, minutes=minutes))
            try:
                services.attendance_record_roster(session=session, rows=rows, by=author)
            except ValidationError as exc:
                stdout.write(f"  sessions: roll not taken ({'; '.join(exc.messages)})")
                continue
            made["rolls"] += 1
        # Notes for the latest few group sessions the author facilitated: three signed, one draft.
        noted = [s for s in past if s.kind == "group" and s.facilitators.filter(pk=author.pk).exists()][-4:]
        for index, session in enumerate(noted):
            existing = GroupNote.objects.filter(session=session).first()
            if existing is not None and existing.status == NoteStatus.SIGNED:
                continue
            if not Attendance.objects.filter(
                session=session, status__in=["present", "late", "left_early", "telehealth"]
            ).exists():
                continue
            note = existing or services.group_note_start(session=session, by=author)
            if index == len(noted) - 1:
                made["drafts"] += existing is None
                continue  # the most recent one stays a draft, for the demo of the editor
            parts = list(note.entries.select_related("attendance"))
            # The golden thread: each part links the open objective(s) of its attendee's plan.
            objectives = objectives_for_episodes({e.attendance.episode_id for e in parts})
            entries = {}
            for n, entry in enumerate(parts):
                p, r, g, k = PARTS[n % len(PARTS)]
                entries[str(entry.public_id)] = {
                    "participation": p,
                    "response": r,
                    "progress": g,
                    "risk_observations": k,
                    "objectives": objectives.get(entry.attendance.episode_id, [])[:1],
                }
            note = services.group_note_update(
                note=note,
                by=author,
                version=note.version,
                shared={
                    "curriculum_module": "Relapse prevention, module 3",
                    "interventions": "CBT thought records; MI; DBT distress tolerance",
                },
                entries=entries,
            )
            services.note_sign(note=note, by=author, version=note.version)
            made["signed"] += 1
    stdout.write(
        f"  sessions: {made['rolls']} rolls taken, {made['signed']} group notes signed, {made['drafts']} drafts"
    )
    return {}
