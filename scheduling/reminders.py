"""Patient reminders for scheduled sessions: planned here, sent by ``notifications``.

For every session a patient is expected at (the roster: enrollment on the session's local date,
or a one-off addition), one reminder per offset in ``REMINDER_OFFSETS`` on the patient's
preferred channel when that channel has consent (SMS: opt-in with the exact number; email:
opt-in). Safe hours defer a reminder to the window's next opening; if that would be after the
session starts, to the last safe moment before it was due. Each reminder's cause is
``session:<uuid>:<UTC start>``, so a moved session gets new reminders and its old ones are
cancelled; a cancelled session cancels them all.

Reminders reach the outbox only through its public services (``enqueue``, ``messages_for``,
``cancel_pending``). The services here that move or cancel a session re-plan its reminders in
the same transaction; the planning sweep catches changes made any other way (roster and
enrollment changes included). At send time the outbox calls ``_reminder_context``, registered
below as the ``session_reminder`` context builder, which checks the session again (still
scheduled, same time, not started, patient still expected): the outbox re-checks consent and
safe hours itself and never reads sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import Channel, MessageStatus
from notifications.outbox import Skip, cancel_pending, context_builder, enqueue, messages_for
from notifications.timing import Offset, parse_offset, safe_hours_next, safe_hours_previous

from .models import SessionStatus, TherapySession
from .selectors import rosters_for

TEMPLATE_KEY = "session_reminder"
# Preferred channels reminders go out on; phone calls and post are not automated.
AUTOMATED = {Channel.SMS: Channel.SMS, Channel.EMAIL: Channel.EMAIL}
# A reminder whose time has passed by more than this when it is planned is not sent late.
LATE_GRACE = timedelta(minutes=10)


def offsets() -> list[Offset]:
    return [parse_offset(text) for text in settings.REMINDER_OFFSETS]


def planning_horizon() -> timedelta:
    """How far ahead the sweep must look so no offset's send time is missed."""
    leads = [o.longest_lead for o in offsets()] or [timedelta(0)]
    return max(max(leads) + timedelta(hours=1), timedelta(hours=settings.REMINDER_PLAN_HOURS))


def session_cause(session) -> str:
    return f"session:{session.public_id}:{session.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def session_prefix(session) -> str:
    return f"session:{session.public_id}:"


def _reminders_of(session):
    return messages_for(template_key=TEMPLATE_KEY, cause_prefix=session_prefix(session))


def _consented_channel(patient) -> str | None:
    """The preferred channel, when it is automated and has consent today."""
    channel = AUTOMATED.get(patient.preferred_channel)
    if channel == Channel.SMS and patient.sms_opt_in and patient.sms_number:
        return channel
    if channel == Channel.EMAIL and patient.email_opt_in and patient.email:
        return channel
    return None


def reminder_due(offset: Offset, session, patient, now: datetime) -> datetime | None:
    """When this reminder goes out (safe hours applied), or None when it is too late to send."""
    zone = session.site.zone
    due = offset.due_for(session.starts_at, zone)
    start, end = patient.safe_hours_start, patient.safe_hours_end
    later = safe_hours_next(due, start, end, zone)
    if later is not None:
        if later < session.starts_at:
            due = later
        else:
            # Deferring would land after the session: send at the last safe moment before.
            earlier = safe_hours_previous(due, start, end, zone)
            due = earlier if earlier is not None else later
    if due < now - LATE_GRACE or due >= session.starts_at:
        return None
    return max(due, now)


def _expected(session) -> list:
    return [entry.patient for entry in rosters_for([session])[session.pk]]


@transaction.atomic
def reminders_plan_for_session(session, *, now: datetime | None = None, patients=None) -> dict[str, int]:
    """Make the session's pending reminders match its current time and roster: create missing
    ones (idempotent), re-open ones cancelled for the same time, cancel stale ones (another
    time, a patient no longer expected, a channel without consent)."""
    now = now or timezone.now()
    counts = {"planned": 0, "cancelled": 0}
    mine = _reminders_of(session)
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
        if session.status != SessionStatus.SCHEDULED:
            counts["cancelled"] = cancel_pending(mine, code="SESSION_CANCELLED")
        return counts
    cause = session_cause(session)
    counts["cancelled"] += cancel_pending(mine.exclude(cause=cause), code="SESSION_MOVED")
    wanted: set[str] = set()
    for patient in patients if patients is not None else _expected(session):
        if patient.deleted_at is not None:
            continue
        channel = _consented_channel(patient)
        if channel is None:
            continue
        for offset in offsets():
            due = reminder_due(offset, session, patient, now)
            if due is None:
                continue
            message, created = enqueue(
                site=session.site,
                channel=channel,
                template_key=TEMPLATE_KEY,
                cause=cause,
                kind=f"reminder{offset.text}",
                due_at=due,
                patient=patient,
                context={"session": session.pk, "starts_at": utc_iso(session.starts_at)},
                revive=True,
                reschedule=True,
            )
            wanted.add(message.idempotency_key)
            counts["planned"] += int(created)
    counts["cancelled"] += cancel_pending(
        mine.filter(cause=cause).exclude(idempotency_key__in=wanted), code="NOT_EXPECTED"
    )
    return counts


def reminders_cancel_for_session(session) -> int:
    """Cancel every pending reminder of the session (it was cancelled)."""
    return cancel_pending(_reminders_of(session), code="SESSION_CANCELLED")


def reminders_cancel_for_patient(patient, *, code: str) -> int:
    return cancel_pending(messages_for(template_key=TEMPLATE_KEY, patient=patient), code=code)


def reminders_plan(*, now: datetime | None = None) -> dict[str, int]:
    """The planning sweep (beat): every session starting within the horizon is reconciled,
    cancelled ones included. Rosters are read in two queries per batch of sessions."""
    now = now or timezone.now()
    totals = {"sessions": 0, "planned": 0, "cancelled": 0}
    sessions = list(
        TherapySession.objects.filter(starts_at__gt=now, starts_at__lte=now + planning_horizon())
        .select_related("site")
        .order_by("starts_at", "id")
    )
    for start in range(0, len(sessions), 200):
        chunk = sessions[start : start + 200]
        rosters = rosters_for(chunk)
        for session in chunk:
            counts = reminders_plan_for_session(session, now=now, patients=[e.patient for e in rosters[session.pk]])
            totals["sessions"] += 1
            totals["planned"] += counts["planned"]
            totals["cancelled"] += counts["cancelled"]
    return totals


@context_builder(TEMPLATE_KEY)
def _reminder_context(message) -> dict:
    """At send time: the session must still be scheduled, at the planned time, in the future,
    with the patient expected and the channel still the preferred one."""
    session = TherapySession.objects.filter(pk=message.context.get("session")).select_related("site").first()
    if session is None or session.status != SessionStatus.SCHEDULED:
        raise Skip(MessageStatus.CANCELLED, "SESSION_CANCELLED")
    if utc_iso(session.starts_at) != message.context.get("starts_at"):
        raise Skip(MessageStatus.CANCELLED, "SESSION_MOVED")
    if session.starts_at <= timezone.now():
        raise Skip(MessageStatus.CANCELLED, "SESSION_STARTED")
    patient = message.patient
    if AUTOMATED.get(patient.preferred_channel) != message.channel:
        raise Skip(MessageStatus.SUPPRESSED, "CHANNEL_NOT_PREFERRED")
    if all(p.pk != patient.pk for p in _expected(session)):
        raise Skip(MessageStatus.CANCELLED, "NOT_EXPECTED")
    local = session.starts_at.astimezone(session.site.zone)
    hour = local.strftime("%I:%M %p").lstrip("0")
    return {"when": f"on {local:%a %b} {local.day} at {hour}", "weekday": f"{local:%A}"}
