"""Writes of session delivery: roll-call, follow-up after missed sessions, contact notes,
progress and group notes, signing, addenda and co-signatures. Every write is audited with
before/after inside its transaction; signing is audited as ``Action.SIGN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst

from audit.models import Action
from audit.services import record
from patients.models import Patient, site_today
from scheduling.models import SessionStatus, TherapySession
from scheduling.selectors import rosters_for
from users.models import Site, User
from users.permissions import has_capability

from .models import (
    ABSENT,
    ATTENDED,
    ENTRY_FIELDS,
    PARTIAL,
    Attendance,
    AttendanceStatus,
    ContactAttempt,
    ContactChannel,
    ContactOutcome,
    CosignRequirement,
    FollowUpPolicy,
    GroupNote,
    GroupNoteEntry,
    NoteAddendum,
    NoteCosignature,
    NoteFormat,
    NoteStatus,
    ProgressNote,
    SignedNoteLocked,
    content_hash,
    validate_sections,
)
from .selectors import facilitator_choices, objectives_for_episodes, week_of

# --- Roll-call -------------------------------------------------------------------------------------


def session_minutes(session: TherapySession) -> int:
    return int((session.ends_at - session.starts_at).total_seconds() // 60)


class RosterErrors(ValidationError):
    """Roll-call rows that did not validate: ``row_errors[index] = {field: message}``. Nothing was saved."""

    def __init__(self, row_errors: dict[int, dict[str, str]]):
        self.row_errors = row_errors
        super().__init__(f"{len(row_errors)} row(s) need attention; nothing was saved.")


@dataclass(frozen=True)
class RowInput:
    """One roll-call row as typed: ``minutes`` None means "the default for this status"."""

    patient: Patient
    status: str
    minutes: int | None = None
    late_cancel: bool = False


def attendance_row_clean(session: TherapySession, row: RowInput) -> tuple[str, int, bool, dict[str, str]]:
    """(status, minutes, late_cancel, errors) of one row, by the rules of DOMAIN.md §6:
    present/telehealth default to the session's length; late arrival and left early need the
    partial minutes; absences and cancellations are 0, whatever was typed."""
    length = session_minutes(session)
    errors: dict[str, str] = {}
    status = row.status or ""
    if status not in AttendanceStatus.values:
        return status, 0, False, {"status": "Choose a status."}
    minutes = row.minutes
    if status in ABSENT:
        minutes = 0
    elif status in PARTIAL:
        if minutes is None:
            errors["minutes"] = f"Enter the minutes attended (1–{length - 1})."
        elif not 1 <= minutes < length:
            errors["minutes"] = f"Partial attendance is 1–{length - 1} minutes of this {length}-minute session."
    else:
        if minutes is None:
            minutes = length
        elif not 1 <= minutes <= length:
            errors["minutes"] = f"Minutes attended are 1–{length} for this session."
    late_cancel = bool(row.late_cancel) and status == AttendanceStatus.CANCELLED_PATIENT
    return status, minutes or 0, late_cancel, errors


def _attendance_snapshot(a: Attendance | None) -> dict:
    if a is None:
        return {}
    return {"status": a.status, "minutes_attended": a.minutes_attended, "late_cancel": a.late_cancel}


def _check_session_open_for_rollcall(session: TherapySession) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError("This session was cancelled; there is no roll to take.")
    if session.local_start().date() > site_today(session.site):
        raise ValidationError("Roll can be taken on the day of the session or later, not before.")


@transaction.atomic
def attendance_record_roster(*, session: TherapySession, rows: Sequence[RowInput], by: User) -> list[Attendance]:
    """Record the roll for a whole session in one go: every row validates or nothing is saved.

    Patients must be on the session's roster (scheduling's roster selector). A row whose
    values did not change is left alone. A new no-show or late cancellation starts the
    follow-up (``followup_after_absence``: outreach for a no-show, the consecutive-absence checks). Raises ``RosterErrors`` with
    per-row messages, or ``ValidationError`` for a cancelled or future session.
    """
    session = TherapySession.objects.select_for_update(of=("self",)).select_related("site", "track").get(pk=session.pk)
    _check_session_open_for_rollcall(session)
    roster = {entry.episode.patient_id: entry for entry in rosters_for([session])[session.pk]}
    errors: dict[int, dict[str, str]] = {}
    cleaned = []
    seen: set[int] = set()
    for index, row in enumerate(rows):
        entry = roster.get(row.patient.pk)
        if entry is None:
            errors[index] = {"status": "This patient is not on the session's roster."}
            continue
        if row.patient.pk in seen:
            errors[index] = {"status": "This patient appears twice."}
            continue
        seen.add(row.patient.pk)
        status, minutes, late_cancel, row_errors = attendance_row_clean(session, row)
        if row_errors:
            errors[index] = row_errors
        else:
            cleaned.append((entry, status, minutes, late_cancel))
    if errors:
        raise RosterErrors(errors)
    existing = {
        a.patient_id: a for a in Attendance.objects.select_for_update().filter(session=session, patient_id__in=seen)
    }
    now = timezone.now()
    saved, new_absences = [], []
    for entry, status, minutes, late_cancel in cleaned:
        attendance = existing.get(entry.episode.patient_id)
        before = _attendance_snapshot(attendance)
        if attendance is None:
            attendance = Attendance(
                session=session,
                patient=entry.episode.patient,
                episode=entry.episode,
                status=status,
                minutes_attended=minutes,
                late_cancel=late_cancel,
                recorded_by=by,
                recorded_at=now,
            )
            attendance.full_clean(validate_unique=False)
            attendance.save()
            action = Action.CREATE
        elif (attendance.status, attendance.minutes_attended, attendance.late_cancel) == (status, minutes, late_cancel):
            saved.append(attendance)
            continue
        else:
            attendance.status, attendance.minutes_attended, attendance.late_cancel = status, minutes, late_cancel
            attendance.recorded_by, attendance.recorded_at = by, now
            attendance.save(
                update_fields=["status", "minutes_attended", "late_cancel", "recorded_by", "recorded_at", "updated_at"]
            )
            action = Action.UPDATE
        record(
            action,
            actor=by,
            site=session.site_id,
            patient=entry.episode.patient,
            obj=attendance,
            changes={"before": before, "after": _attendance_snapshot(attendance)},
        )
        was_unexcused = before.get("status") == AttendanceStatus.NO_SHOW or (
            before.get("status") == AttendanceStatus.CANCELLED_PATIENT and before.get("late_cancel")
        )
        if (is_no_show(attendance) and before.get("status") != AttendanceStatus.NO_SHOW) or (
            is_unexcused(attendance) and not was_unexcused
        ):
            new_absences.append(attendance)
        saved.append(attendance)
    for attendance in new_absences:
        followup_after_absence(attendance=attendance, by=by)
    # A roll taken after its week ended completes that week: check it now rather than wait for the sweep.
    local_day = session.local_start().date()
    if week_of(local_day) < week_of(site_today(session.site)):
        for attendance in saved:
            followup_check_week(patient=attendance.patient, site=session.site, week=week_of(local_day), by=by)
    return saved


# --- Follow-up after missed sessions ------------------------------------------------------------------

# PHI-free alert titles, added to notifications' registry when the app is ready (see apps.py).
ALERT_TITLES = {
    "NO_SHOW": "Missed session: same-day outreach due",
    "NO_SHOWS_CONSECUTIVE": "Consecutive no-shows: clinician review",
    "ATTENDANCE_UNDER_WEEKLY": "Attended under the weekly share of scheduled hours: clinician review",
    "DISCHARGE_REVIEW_ABSENCES": "Consecutive unexcused absences: administrative-discharge review proposed",
    "NO_CONTACT_OUTREACH": "No contact for too long: outreach due before any discharge review",
    "DISCHARGE_REVIEW_NO_CONTACT": "No contact for too long after outreach: administrative-discharge review proposed",
}
# The PHI-free note of the treatment-plan review request each engagement review records (DOMAIN.md
# §6: "clinician review and a note on the treatment-plan problem list (engagement)").
ENGAGEMENT_NOTES = {
    "NO_SHOWS_CONSECUTIVE": (
        "Engagement: consecutive no-shows (missed-session follow-up). "
        "Review engagement on the treatment-plan problem list."
    ),
    "ATTENDANCE_UNDER_WEEKLY": (
        "Engagement: attended under the weekly share of scheduled hours (missed-session follow-up). "
        "Review engagement on the treatment-plan problem list."
    ),
}
WEEK_OBJECT = "clinical_sessions.PatientWeek"
CONTACT_OBJECT = "clinical_sessions.PatientContact"
ATTENDANCE_OBJECT = "clinical_sessions.Attendance"


def is_no_show(attendance: Attendance) -> bool:
    return attendance.status == AttendanceStatus.NO_SHOW


def is_unexcused(attendance: Attendance) -> bool:
    """An unexcused absence (DOMAIN.md §6): a no-show, or a cancellation by the patient flagged
    as a late cancel. A timely cancellation by the patient and an excused absence are not (they
    break a run of unexcused absences); a cancellation by the program is the program's doing and
    neither counts nor breaks a run."""
    return attendance.status == AttendanceStatus.NO_SHOW or (
        attendance.status == AttendanceStatus.CANCELLED_PATIENT and attendance.late_cancel
    )


def _raise(**kwargs):
    # Imported here: notifications is a floor below and must not be needed to import this module's models.
    from notifications.models import AlertKind
    from notifications.services import alert_raise

    return alert_raise(kind=AlertKind.NO_SHOW, **kwargs)


def _alert_exists(object_type: str, object_ids: Sequence[str], title_code: str):
    from notifications.models import Alert

    return Alert.objects.filter(object_type=object_type, object_id__in=list(object_ids), title_code=title_code).first()


def _counselor(attendance: Attendance) -> User | None:
    return attendance.episode.primary_counselor or attendance.patient.primary_counselor


def _episode_roll(attendance: Attendance) -> list[Attendance]:
    """The recorded attendance of ``attendance``'s episode, oldest session first. Program
    cancellations are left out: they neither count toward a run nor break one."""
    return list(
        Attendance.objects.filter(episode_id=attendance.episode_id)
        .exclude(status=AttendanceStatus.CANCELLED_PROGRAM)
        .select_related("session")
        .only("id", "public_id", "status", "late_cancel", "episode_id", "patient_id", "session__starts_at")
        .order_by("session__starts_at", "id")
    )


def consecutive_run(rows: Sequence[Attendance], attendance: Attendance, member) -> list[Attendance]:
    """The run of consecutive rows (``member(row)`` true for each) that holds ``attendance``,
    looked for on both sides of it: a roll entered late (an earlier session recorded after a
    later one) joins the run it belongs to. Empty when ``attendance`` itself is not a member."""
    index = next((i for i, row in enumerate(rows) if row.pk == attendance.pk), None)
    if index is None or not member(rows[index]):
        return []
    first = last = index
    while first > 0 and member(rows[first - 1]):
        first -= 1
    while last + 1 < len(rows) and member(rows[last + 1]):
        last += 1
    return list(rows[first : last + 1])


def _review_for_run(
    run: Sequence[Attendance], title_code: str, *, attendance: Attendance, by: User | None
) -> tuple[object, bool]:
    """(alert, raised now): one alert with ``title_code`` per run. A run that already has one
    (raised about another of its absences) keeps it; otherwise it is raised about ``attendance``."""
    from notifications.models import Severity

    existing = _alert_exists(ATTENDANCE_OBJECT, [str(a.public_id) for a in run], title_code)
    if existing is not None:
        return existing, False
    alert = _raise(
        site=attendance.session.site,
        patient=attendance.patient,
        title_code=title_code,
        obj=attendance,
        severity=Severity.HIGH,
        by=by,
    )
    return alert, True


def _engagement_on_plan(*, alert, episode, title_code: str, by: User | None):
    """Put engagement on the treatment plan (DOMAIN.md §6): a review request of the episode's
    plans through ``plans.services.plan_review_request``, with a PHI-free note. Once per alert:
    nothing when the episode is closed or an engagement request was already made since the alert
    was raised (a re-run of the sweep, or a concurrent roll that raised the same alert)."""
    from plans.models import PlanReviewTrigger, TriggerReason
    from plans.services import plan_review_request

    if episode is None or episode.discharge_date is not None:
        return None
    if PlanReviewTrigger.objects.filter(
        episode_id=episode.pk, reason=TriggerReason.ENGAGEMENT, requested_at__gte=alert.created_at
    ).exists():
        return None
    return plan_review_request(
        episode=episode, reason=TriggerReason.ENGAGEMENT, by=by, note=ENGAGEMENT_NOTES[title_code]
    )


def followup_after_absence(*, attendance: Attendance, by: User | None) -> list:
    """After a no-show or a late cancellation by the patient has been recorded:

    - a no-show: an outreach task (same-day outreach) for the primary counselor;
    - ``consecutive_no_shows_for_review`` no-shows in a row: a clinician review, and engagement on
      the treatment plan (a plan review request, ``plans.services.plan_review_request``);
    - ``consecutive_absences_for_discharge_review`` unexcused absences in a row (``is_unexcused``):
      an administrative-discharge *review* (a proposal for a clinician, never a discharge).

    Runs are the episode's recorded sessions in session order, looked for on both sides of the
    absence just recorded, so a roll entered out of order still completes a run. Idempotent: the
    outreach task is raised once per absence, each review once per run.
    """
    site = attendance.session.site
    policy = FollowUpPolicy.for_site(site)
    patient = attendance.patient
    raised = []
    if is_no_show(attendance):
        counselor = _counselor(attendance)
        raised.append(
            _raise(
                site=site,
                patient=patient,
                title_code="NO_SHOW",
                obj=attendance,
                recipients=[counselor] if counselor and counselor.is_active else None,
                by=by,
            )
        )
    rows = _episode_roll(attendance)
    no_shows = consecutive_run(rows, attendance, is_no_show)
    if len(no_shows) >= policy.consecutive_no_shows_for_review:
        alert, new = _review_for_run(no_shows, "NO_SHOWS_CONSECUTIVE", attendance=attendance, by=by)
        raised.append(alert)
        if new:
            _engagement_on_plan(alert=alert, episode=attendance.episode, title_code="NO_SHOWS_CONSECUTIVE", by=by)
    unexcused = consecutive_run(rows, attendance, is_unexcused)
    if len(unexcused) >= policy.consecutive_absences_for_discharge_review:
        alert, _new = _review_for_run(unexcused, "DISCHARGE_REVIEW_ABSENCES", attendance=attendance, by=by)
        raised.append(alert)
    return raised


def _week_bounds(site: Site, week: tuple[int, int]) -> tuple[datetime, datetime]:
    monday = date.fromisocalendar(week[0], week[1], 1)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=site.zone)
    return start, datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=site.zone)


def followup_check_week(*, patient: Patient, site: Site, week: tuple[int, int], by: User | None = None):
    """A clinician review when the patient attended under the policy's share of the minutes they
    were scheduled for in ``week`` (their roll-call rows; program cancellations excluded), and
    engagement on the treatment plan (a plan review request). Idempotent: one alert per patient
    and week, and one plan review request per alert (re-running the sweep adds nothing)."""
    policy = FollowUpPolicy.for_site(site)
    start, end = _week_bounds(site, week)
    rows = list(
        Attendance.objects.filter(
            patient=patient, session__site=site, session__starts_at__gte=start, session__starts_at__lt=end
        )
        .exclude(status=AttendanceStatus.CANCELLED_PROGRAM)
        .select_related("session", "episode")
        .order_by("session__starts_at", "id")
    )
    scheduled = sum(session_minutes(a.session) for a in rows)
    attended = sum(a.minutes_attended for a in rows if a.status in ATTENDED)
    if not scheduled or attended * 100 >= policy.weekly_attendance_percent * scheduled:
        return None
    from notifications.models import Severity

    object_id = f"{patient.public_id}:{week[0]}-W{week[1]:02d}"
    new = _alert_exists(WEEK_OBJECT, [object_id], "ATTENDANCE_UNDER_WEEKLY") is None
    alert = _raise(
        site=site,
        patient=patient,
        title_code="ATTENDANCE_UNDER_WEEKLY",
        object_type=WEEK_OBJECT,
        object_id=object_id,
        severity=Severity.HIGH,
        by=by,
    )
    if new:
        _engagement_on_plan(alert=alert, episode=rows[-1].episode, title_code="ATTENDANCE_UNDER_WEEKLY", by=by)
    return alert


@dataclass(frozen=True)
class LastContact:
    """When the program last had contact with the patient: the end of their last attended
    session or the last outreach that reached them, whichever is later (admission when neither)."""

    at: datetime
    day: date  # in the site's zone
    outreach_since: int  # outreach attempts documented after ``at``


def last_contact(patient: Patient, episode, site: Site) -> LastContact:
    """The patient's last contact in ``episode`` (see ``LastContact``) and the outreach attempts since."""
    zone = site.zone
    admitted = datetime.combine(episode.admission_date, datetime.min.time(), tzinfo=zone)
    moments = [admitted]
    attended = (
        Attendance.objects.filter(patient=patient, status__in=list(ATTENDED))
        .order_by("-session__ends_at")
        .values_list("session__ends_at", flat=True)
        .first()
    )
    if attended is not None:
        moments.append(attended)
    reached = (
        ContactAttempt.objects.filter(patient=patient, outcome=ContactOutcome.REACHED)
        .order_by("-attempted_at")
        .values_list("attempted_at", flat=True)
        .first()
    )
    if reached is not None:
        moments.append(reached)
    at = max(moments)
    since = ContactAttempt.objects.filter(patient=patient, attempted_at__gt=at).count()
    return LastContact(at=at, day=timezone.localtime(at, zone).date(), outreach_since=since)


def followup_check_contact(*, patient: Patient, site: Site, today: date | None = None, by: User | None = None):
    """DOMAIN.md §6, "no contact for 14 days after outreach attempts". Contact is an attended
    session or outreach that reached the patient (``last_contact``); after ``days_without_contact``
    days without it, in an open episode:

    - until ``outreach_attempts_for_discharge_review`` outreach attempts have been documented since
      the last contact, an outreach task for the primary counselor (``NO_CONTACT_OUTREACH``) and
      no proposal: returns None;
    - then an administrative-discharge review is proposed (never a discharge): returns that alert.

    Each alert is raised once per last-contact date: new contact starts the count again.
    """
    episode = patient.episodes.open().select_related("primary_counselor").first()
    if episode is None:
        return None
    policy = FollowUpPolicy.for_site(site)
    today = today or site_today(site)
    contact = last_contact(patient, episode, site)
    if (today - contact.day).days < policy.days_without_contact:
        return None
    from notifications.models import Severity

    object_id = f"{patient.public_id}:{contact.day.isoformat()}"
    if contact.outreach_since < policy.outreach_attempts_for_discharge_review:
        counselor = episode.primary_counselor or patient.primary_counselor
        _raise(
            site=site,
            patient=patient,
            title_code="NO_CONTACT_OUTREACH",
            object_type=CONTACT_OBJECT,
            object_id=object_id,
            severity=Severity.HIGH,
            recipients=[counselor] if counselor and counselor.is_active else None,
            by=by,
        )
        return None
    return _raise(
        site=site,
        patient=patient,
        title_code="DISCHARGE_REVIEW_NO_CONTACT",
        object_type=CONTACT_OBJECT,
        object_id=object_id,
        severity=Severity.HIGH,
        by=by,
    )


def followup_sweep(*, today_by_site: Mapping[int, date] | None = None) -> dict[str, int]:
    """The daily sweep (Celery beat): for every patient with an open episode and a current
    enrollment, check last week's attended share and the days without contact. Safe to run
    twice: alerts are raised once per record and title."""
    from scheduling.models import Enrollment

    counts = {"weeks": 0, "contact": 0}
    for site in Site.objects.filter(is_active=True):
        today = (today_by_site or {}).get(site.pk) or site_today(site)
        last_week = week_of(today - timedelta(days=7))
        patient_ids = (
            Enrollment.objects.active_on(today)
            .filter(track__site=site, episode__discharge_date__isnull=True)
            .values_list("episode__patient_id", flat=True)
            .distinct()
        )
        for patient in Patient.objects.active().filter(pk__in=list(patient_ids)):
            with transaction.atomic():
                if followup_check_week(patient=patient, site=site, week=last_week):
                    counts["weeks"] += 1
                if followup_check_contact(patient=patient, site=site, today=today):
                    counts["contact"] += 1
    return counts


@transaction.atomic
def contact_attempt_record(
    *,
    patient: Patient,
    by: User,
    attempted_at: datetime,
    channel: str,
    outcome: str,
    note: str,
    attendance: Attendance | None = None,
) -> ContactAttempt:
    """Document outreach (same-day after a no-show) as a contact note."""
    if not has_capability(by, patient.site_id, "clinical.write"):
        raise ValidationError("Only counselors and clinical supervisors of the patient's site document outreach.")
    errors = {}
    if channel not in ContactChannel.values:
        errors["channel"] = "Choose how you reached out."
    if outcome not in ContactOutcome.values:
        errors["outcome"] = "Choose the outcome."
    if not (note or "").strip():
        errors["note"] = "Write what happened."
    if attempted_at and attempted_at > timezone.now() + timedelta(minutes=5):
        errors["attempted_at"] = "Outreach is documented after it happens, not ahead of time."
    if attendance is not None and attendance.patient_id != patient.pk:
        errors["attendance"] = "That missed session belongs to another patient."
    if errors:
        raise ValidationError(errors)
    attempt = ContactAttempt(
        patient=patient,
        attendance=attendance,
        attempted_at=attempted_at,
        channel=channel,
        outcome=outcome,
        note=note.strip(),
        recorded_by=by,
    )
    attempt.full_clean()
    attempt.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site_id,
        patient=patient,
        obj=attempt,
        changes={"before": {}, "after": {"channel": channel, "outcome": outcome, "attempted_at": attempted_at}},
    )
    return attempt


@transaction.atomic
def followup_policy_set(*, site: Site, by: User, **values) -> FollowUpPolicy:
    if not has_capability(by, site, "clinical.write") or not has_capability(by, site, "note.cosign"):
        raise ValidationError("Only a clinical supervisor of this site changes the follow-up policy.")
    policy = FollowUpPolicy.objects.select_for_update().filter(site=site).first() or FollowUpPolicy(site=site)
    fields = [
        "consecutive_no_shows_for_review",
        "weekly_attendance_percent",
        "consecutive_absences_for_discharge_review",
        "days_without_contact",
        "outreach_attempts_for_discharge_review",
    ]
    before = {f: getattr(policy, f) for f in fields}
    for f in fields:
        if f in values:
            setattr(policy, f, values[f])
    policy.updated_by = by
    policy.full_clean()
    policy.save()
    record(
        Action.UPDATE,
        actor=by,
        site=site,
        obj=policy,
        changes={"before": before, "after": {f: getattr(policy, f) for f in fields}},
    )
    return policy


# --- Notes: shared ----------------------------------------------------------------------------------


class NoteConflict(ValidationError):
    """The draft changed since the editor was opened; the stale edit was not saved."""

    def __init__(self, note):
        who = getattr(note, "_last_editor", "") or "someone else"
        super().__init__(
            f"This note was changed by {who} while you were editing (you had version {note._stale_version}, "
            f"it is now version {note.version}). Your changes were not saved: reload the note, then apply them again.",
            code="conflict",
        )


def _lock(note):
    note = (
        type(note)
        .objects.select_for_update(of=("self",))
        .select_related("session__site", "site", "author")
        .get(pk=note.pk)
    )
    return note


def _check_draft(note, version: int | None) -> None:
    if note.status != NoteStatus.DRAFT:
        raise SignedNoteLocked()
    if version is not None and int(version) != note.version:
        note._stale_version = version
        note._last_editor = _last_editor(note)
        raise NoteConflict(note)


def _last_editor(note) -> str:
    from audit.models import AuditEvent

    event = (
        AuditEvent.objects.filter(object_type=note._meta.label, object_id=str(note.public_id))
        .exclude(actor=None)
        .order_by("-id")
        .values_list("actor_label", flat=True)
        .first()
    )
    return event or ""


def _require_writer(by: User, note_or_site) -> None:
    site_id = getattr(note_or_site, "site_id", None) or getattr(note_or_site, "pk", None)
    if not has_capability(by, site_id, "clinical.write"):
        raise ValidationError("Only counselors and clinical supervisors of this site write progress notes.")


def _objective_ids(obj) -> list[str]:
    return sorted(str(o.public_id) for o in obj.addressed_objectives.all())


def _check_objectives(objectives, episode_id: int) -> list:
    objectives = list(objectives)
    if any(o.plan.episode_id != episode_id for o in objectives):
        raise ValidationError({"objectives": "Link objectives of this patient's own treatment plan only."})
    return objectives


def _progress_snapshot(note: ProgressNote) -> dict:
    return {
        "format": note.format,
        "sections": dict(note.sections or {}),
        "objectives": _objective_ids(note),
        "status": note.status,
        "version": note.version,
    }


def _group_snapshot(note: GroupNote) -> dict:
    return {
        "status": note.status,
        "version": note.version,
        **note.shared_content(),
        "entries": {
            str(e.public_id): {**{f: getattr(e, f) for f in ENTRY_FIELDS}, "objectives": _objective_ids(e)}
            for e in note.entries.all()
        },
    }


def _snapshot(note) -> dict:
    return _progress_snapshot(note) if isinstance(note, ProgressNote) else _group_snapshot(note)


def _patient_ref(note):
    return note.patient if isinstance(note, ProgressNote) else None


# --- Individual progress notes --------------------------------------------------------------------


@transaction.atomic
def progress_note_create(
    *, session: TherapySession, patient: Patient, by: User, format: str = NoteFormat.SOAP, sections=None
) -> ProgressNote:
    """Start a draft note about ``patient``'s service in ``session``: the patient must have
    attended it (roll-call says present, late, left early or telehealth)."""
    _require_writer(by, session)
    attendance = Attendance.objects.filter(session=session, patient=patient).select_related("episode").first()
    if attendance is None or not attendance.attended:
        raise ValidationError("Take the roll first: a progress note documents a session the patient attended.")
    note = ProgressNote(
        site=session.site,
        session=session,
        patient=patient,
        episode=attendance.episode,
        author=by,
        format=format,
        sections=validate_sections(format, sections or {}, complete=False),
    )
    note.full_clean()
    note.save()
    record(
        Action.CREATE,
        actor=by,
        site=note.site_id,
        patient=patient,
        obj=note,
        changes={"before": {}, "after": _progress_snapshot(note)},
    )
    return note


@transaction.atomic
def progress_note_update(
    *, note: ProgressNote, by: User, version: int, format: str, sections, objectives=None
) -> ProgressNote:
    """Save a draft edit made from ``version``. A stale version raises ``NoteConflict``; a
    signed note raises ``SignedNoteLocked``. Only the author edits a draft. ``objectives``
    (plan objectives of the note's episode; None leaves them) are the golden thread."""
    note = _lock(note)
    _check_draft(note, version)
    if note.author_id != by.pk:
        raise ValidationError("Only the author edits a draft note.")
    cleaned = validate_sections(format, sections, complete=False)
    before = _progress_snapshot(note)
    if objectives is not None:
        objectives = _check_objectives(objectives, note.episode_id)
        if sorted(str(o.public_id) for o in objectives) != before["objectives"]:
            note.addressed_objectives.set(objectives)
    if _progress_snapshot(note)["objectives"] == before["objectives"] and (note.format, note.sections) == (
        format,
        cleaned,
    ):
        return note
    note.format, note.sections = format, cleaned
    note.version += 1
    note.save(update_fields=["format", "sections", "version", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=note.site_id,
        patient=note.patient,
        obj=note,
        changes={"before": before, "after": _progress_snapshot(note)},
    )
    return note


# --- Group notes ----------------------------------------------------------------------------------


def _attendees_present(session: TherapySession) -> list[Attendance]:
    return list(
        Attendance.objects.filter(session=session, status__in=list(ATTENDED))
        .select_related("patient")
        .order_by("patient__legal_last_name", "patient__legal_first_name", "id")
    )


def _sync_entries(note: GroupNote) -> None:
    """Keep a draft's entries in step with the roll: one per attendee present, minutes from the roll."""
    present = {a.pk: a for a in _attendees_present(note.session)}
    entries = {e.attendance_id: e for e in note.entries.all()}
    for attendance_id, entry in entries.items():
        if attendance_id not in present:
            # The roll now says absent: a draft part for them would be about a session they missed.
            GroupNoteEntry.objects.filter(pk=entry.pk).delete_draft()
        elif entry.minutes_attended != present[attendance_id].minutes_attended:
            entry.minutes_attended = present[attendance_id].minutes_attended
            entry.save(update_fields=["minutes_attended", "updated_at"])
    for attendance_id, attendance in present.items():
        if attendance_id not in entries:
            GroupNoteEntry.objects.create(
                group_note=note,
                attendance=attendance,
                patient=attendance.patient,
                minutes_attended=attendance.minutes_attended,
            )


@transaction.atomic
def group_note_start(*, session: TherapySession, by: User) -> GroupNote:
    """The session's group note: the existing one, or a new draft prefilled from the session
    (topic, times, facilitators) with a part for every attendee present."""
    _require_writer(by, session)
    existing = GroupNote.objects.filter(session=session).first()
    if existing is not None:
        if existing.status == NoteStatus.DRAFT:
            _sync_entries(existing)
        return existing
    if not Attendance.objects.filter(session=session).exists():
        raise ValidationError("Take the roll first: the group note has a part for each attendee present.")
    note = GroupNote(
        site=session.site,
        session=session,
        author=by,
        topic=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
    )
    note.full_clean()
    note.save()
    note.facilitators.set(session.facilitators.all())
    _sync_entries(note)
    record(Action.CREATE, actor=by, site=note.site_id, obj=note, changes={"before": {}, "after": _group_snapshot(note)})
    return note


SHARED_FIELDS = ["topic", "curriculum_module", "starts_at", "ends_at", "interventions"]


@transaction.atomic
def group_note_update(
    *,
    note: GroupNote,
    by: User,
    version: int,
    shared: Mapping,
    entries: Mapping[str, Mapping[str, str]],
    facilitators: Sequence[User] | None = None,
) -> GroupNote:
    """Save a draft edit of the shared part and the individual parts (keyed by entry public id),
    made from ``version``: a stale version raises ``NoteConflict``, a signed note ``SignedNoteLocked``.
    ``facilitators`` (None leaves them) replaces the group's facilitators: active staff of the site."""
    note = _lock(note)
    _check_draft(note, version)
    if note.author_id != by.pk and not note.facilitators.filter(pk=by.pk).exists():
        raise ValidationError("Only the author or a facilitator of the session edits this draft.")
    _require_writer(by, note)
    if facilitators is not None:
        facilitators = _check_facilitators(note, facilitators)
    before = _group_snapshot(note)
    for name in SHARED_FIELDS:
        if name in shared:
            value = shared[name]
            setattr(note, name, value.strip() if isinstance(value, str) else value)
    note.full_clean()
    if note.ends_at <= note.starts_at:
        raise ValidationError({"ends_at": "The end time must be after the start time."})
    mine = {str(e.public_id): e for e in note.entries.all()}
    unknown = set(entries) - set(mine)
    if unknown:
        raise ValidationError("An individual part does not belong to this note.")
    for key, values in entries.items():
        entry = mine[key]
        if values.get("objectives") is not None:
            chosen = _check_objectives(values["objectives"], entry.attendance.episode_id)
            if sorted(str(o.public_id) for o in chosen) != _objective_ids(entry):
                entry.addressed_objectives.set(chosen)
        changed = [f for f in ENTRY_FIELDS if f in values and (values[f] or "").strip() != getattr(entry, f)]
        for f in changed:
            setattr(entry, f, (values[f] or "").strip())
        if changed:
            entry.save(update_fields=[*changed, "updated_at"])
    if facilitators is not None:
        note.facilitators.set(facilitators)
    after = _group_snapshot(note)
    if after == before:
        return note
    note.version += 1
    note.save(update_fields=[*SHARED_FIELDS, "version", "updated_at"])
    after["version"] = note.version
    record(Action.UPDATE, actor=by, site=note.site_id, obj=note, changes={"before": before, "after": after})
    return note


# --- Signing rules: facilitators, no other patient's name in a chart copy, the golden thread -------

# Joining words of multi-part names ("De la Cruz"): never looked for on their own.
_NAME_PARTICLES = frozenset({"al", "bin", "da", "das", "de", "del", "della", "der", "di", "do", "dos", "du", "el"})
_NAME_PARTICLES |= frozenset({"ibn", "la", "le", "st", "van", "von", "y"})


def patient_names(patient: Patient) -> set[str]:
    """The names a note could call ``patient`` by, lower-cased: legal first and last name and
    preferred name, each whole, and the longer parts of a multi-part name ("Mary Ann", "Smith-Jones")."""
    names: set[str] = set()
    for value in (patient.legal_first_name, patient.legal_last_name, patient.preferred_name):
        value = " ".join((value or "").split()).lower()
        if len(value) < 2:
            continue
        names.add(value)
        parts = [p for p in re.split(r"[\s\-]+", value) if p]
        if len(parts) > 1:
            names |= {p for p in parts if len(p) >= 3 and p not in _NAME_PARTICLES}
    return names


def names_pattern(names: Iterable[str]) -> re.Pattern | None:
    """A case-insensitive, whole-word pattern matching any of ``names`` (None when there are none).
    Whole word: "Al" is not found in "also"; "Avery's" is found."""
    alternatives = [r"\s+".join(re.escape(word) for word in name.split()) for name in names if name.strip()]
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _roll_names(session: TherapySession) -> dict[int, set[str]]:
    """Patient id → names of everyone on the session's roll (present or not)."""
    patients = Patient.objects.filter(attendance__session=session).only(
        "id", "legal_first_name", "legal_last_name", "preferred_name"
    )
    return {p.pk: patient_names(p) for p in patients}


def _others_pattern(roll_names: Mapping[int, set[str]], patient_id: int | None) -> re.Pattern | None:
    """Names of everyone on the roll but ``patient_id`` (None: everyone). A name this patient also
    goes by (two people called Alex) is theirs too, so it is not counted against them."""
    own = roll_names.get(patient_id, set()) if patient_id is not None else set()
    others = {name for pid, names in roll_names.items() if pid != patient_id for name in names} - own
    return names_pattern(others)


SHARED_TEXT_FIELDS = {"topic": "topic", "curriculum_module": "curriculum module", "interventions": "interventions used"}
SHARED_NAME_MESSAGE = (
    "A group member's name appears in the {label}. The shared part is copied into every attendee's chart: "
    "describe the group without naming anyone."
)
# Per-part issue codes; each reader words them (the editor names the part, the API names no one).
REQUIRED, OTHER_NAME, NO_OBJECTIVE = "required", "other_name", "no_objective"
GOLDEN_THREAD_MESSAGE = (
    "Link at least one treatment-plan objective this session addressed: the patient's signed plan "
    "has open objectives (the golden thread)."
)


def plan_objectives_open(episode_ids: Iterable[int]) -> dict[int, list]:
    """Open objectives of each episode's treatment plan in effect (signed, or awaiting its
    supervisor's signature): the ones the note editor offers, and of which a note links one."""
    return objectives_for_episodes(list(episode_ids))


@dataclass
class GroupNoteIssues:
    """What stops a group note from being signed: ``shared`` (key → message, naming no patient:
    topic, curriculum_module, interventions, facilitators, entries) and ``parts`` (each attendee
    part → {field or "objectives": issue code})."""

    shared: dict[str, str]
    parts: list[tuple[GroupNoteEntry, dict[str, str]]]

    def __bool__(self) -> bool:
        return bool(self.shared) or any(codes for _, codes in self.parts)


def group_note_issues(note: GroupNote) -> GroupNoteIssues:
    """Every rule a group note must meet to be signed (DOMAIN.md §7): topic, interventions and at
    least one facilitator in the shared part; a filled-in part for each attendee present (in step
    with the roll); no group member's name in the shared part, and no other group member's name
    in an attendee's part (each is copied into a chart); each part linked to at least one open
    objective when that attendee's treatment plan has some."""
    shared: dict[str, str] = {}
    if not note.topic.strip():
        shared["topic"] = "The topic is required before signing."
    if not note.interventions.strip():
        shared["interventions"] = "Describe the interventions used before signing."
    if not note.facilitators.exists():
        shared["facilitators"] = "Name at least one facilitator of the group before signing."
    roll_names = _roll_names(note.session)
    everyone = _others_pattern(roll_names, None)
    for field, label in SHARED_TEXT_FIELDS.items():
        if everyone is not None and everyone.search(getattr(note, field) or ""):
            shared[field] = SHARED_NAME_MESSAGE.format(label=label)
    present = {a.pk for a in _attendees_present(note.session)}
    entries = list(
        note.entries.select_related("patient", "attendance")
        .prefetch_related("addressed_objectives")
        .order_by("patient__legal_last_name", "patient__legal_first_name", "id")
    )
    covered = {e.attendance_id for e in entries}
    if present - covered or covered - present:
        shared["entries"] = (
            "The roll changed since the note was opened: reopen the editor to update the attendee parts."
        )
    if not entries:
        shared["entries"] = "Nobody attended: a group note needs at least one attendee present."
    open_objectives = plan_objectives_open({e.attendance.episode_id for e in entries})
    parts = []
    for e in entries:
        codes = {f: REQUIRED for f in ENTRY_FIELDS if not getattr(e, f).strip()}
        others = _others_pattern(roll_names, e.patient_id)
        if others is not None:
            codes.update({f: OTHER_NAME for f in ENTRY_FIELDS if others.search(getattr(e, f) or "")})
        if open_objectives.get(e.attendance.episode_id) and not e.addressed_objectives.all():
            codes["objectives"] = NO_OBJECTIVE
        parts.append((e, codes))
    return GroupNoteIssues(shared=shared, parts=parts)


def _entry_label(field: str) -> str:
    return capfirst(GroupNoteEntry._meta.get_field(field).verbose_name)


def group_note_problems(note: GroupNote) -> dict[str, str]:
    """What stops this group note from being signed (empty when it can be), worded for its
    author: each attendee part is named by its patient (the author sees the roster), never by
    the name found in it."""
    issues = group_note_issues(note)
    problems = dict(issues.shared)
    for e, codes in issues.parts:
        who = e.patient.display_name
        missing = [f for f, code in codes.items() if code == REQUIRED]
        if missing:
            labels = ", ".join(_entry_label(f) for f in missing)
            problems[f"entry:{e.public_id}"] = f"{who}: {labels} required before signing."
        named = [f for f, code in codes.items() if code == OTHER_NAME]
        if named:
            labels = ", ".join(_entry_label(f) for f in named)
            problems[f"entry:{e.public_id}:names"] = (
                f"{who}'s part: another group member's name appears in {labels}. This part is copied into "
                f"{who}'s chart: refer to other members without naming them (for example, “a peer”)."
            )
        if codes.get("objectives") == NO_OBJECTIVE:
            problems[f"entry:{e.public_id}:objectives"] = (
                f"{who}'s part: link at least one treatment-plan objective this session addressed "
                "(their signed plan has open objectives)."
            )
    return problems


def progress_note_problems(note: ProgressNote) -> dict[str, str]:
    """What, besides its sections, stops a progress note from being signed: the golden thread
    (DOMAIN.md §7). When the patient's treatment plan in effect has open objectives, the note
    links at least one; with no signed plan or no open objective, no link is asked for."""
    if plan_objectives_open([note.episode_id]).get(note.episode_id) and not note.addressed_objectives.exists():
        return {"objectives": GOLDEN_THREAD_MESSAGE}
    return {}


def _check_facilitators(note: GroupNote, facilitators: Sequence[User]) -> list[User]:
    facilitators = list(dict.fromkeys(facilitators))
    ids = {u.pk for u in facilitators}
    members = set(facilitator_choices(note.site).filter(pk__in=ids).values_list("pk", flat=True))
    if ids - members:
        raise ValidationError({"facilitators": "Every facilitator must be an active staff member of this site."})
    return facilitators


# --- Signing, co-signing, addenda ---------------------------------------------------------------------


@transaction.atomic
def note_sign(*, note, by: User, version: int | None = None):
    """Sign a draft (individual or group): only its author, every required part filled in, the
    golden thread kept (``progress_note_problems``; a group note's rules are ``group_note_issues``:
    facilitators, no other patient's name in what is copied into a chart, objectives linked).

    Locks the note for good: stores signer, credential, time, the late-entry label (signed
    more than NOTE_LATE_ENTRY_HOURS after the session ended), whether a co-signature is due,
    and the SHA-256 of the canonical content. Audited as SIGN.
    """
    note = _lock(note)
    _check_draft(note, version)
    if note.author_id != by.pk:
        raise ValidationError("Only the author signs a note; a supervisor co-signs it afterwards.")
    _require_writer(by, note)
    if isinstance(note, ProgressNote):
        problems = progress_note_problems(note)
        try:
            note.sections = validate_sections(note.format, note.sections, complete=True)
        except ValidationError as exc:
            raise ValidationError({**exc.message_dict, **problems}) from None
        if problems:
            raise ValidationError(problems)
    else:
        problems = group_note_problems(note)
        if problems:
            raise ValidationError(list(problems.values()))
    before = _snapshot(note)
    now = timezone.now()
    note.status = NoteStatus.SIGNED
    note.signed_by = by
    note.signer_name = str(by)
    note.signer_credential = by.credentials
    note.signed_at = now
    note.late_entry = now - note.session.ends_at > note.late_entry_limit()
    note.requires_cosign = CosignRequirement.applies(by, note.site_id)
    note.content_hash = note.compute_hash()
    fields = [
        "status",
        "signed_by",
        "signer_name",
        "signer_credential",
        "signed_at",
        "late_entry",
        "requires_cosign",
        "content_hash",
        "updated_at",
    ]
    if isinstance(note, ProgressNote):
        fields.append("sections")
    note.save(update_fields=fields)
    record(
        Action.SIGN,
        actor=by,
        site=note.site_id,
        patient=_patient_ref(note),
        obj=note,
        changes={
            "before": before,
            "after": {
                "status": note.status,
                "content_hash": note.content_hash,
                "late_entry": note.late_entry,
                "requires_cosign": note.requires_cosign,
            },
        },
    )
    return note


@transaction.atomic
def note_cosign(*, note, by: User, comment: str = "") -> NoteCosignature:
    """A supervisor (``note.cosign`` at the note's site) co-signs a signed note awaiting it.
    The co-signature is a row of its own; the note row is not touched."""
    note = type(note).objects.select_related("site").get(pk=note.pk)
    if not has_capability(by, note.site_id, "note.cosign"):
        raise ValidationError("Only a clinical supervisor of this site co-signs notes.")
    if not note.is_signed or not note.requires_cosign:
        raise ValidationError("This note is not awaiting a co-signature.")
    if note.author_id == by.pk:
        raise ValidationError("A note cannot be co-signed by its own author.")
    if NoteCosignature.objects.filter(**{_note_field(note): note}).exists():
        raise ValidationError("This note was already co-signed.")
    cosignature = NoteCosignature(
        **{_note_field(note): note},
        cosigned_by=by,
        cosigner_name=str(by),
        cosigner_credential=by.credentials,
        cosigned_at=timezone.now(),
        note_hash=note.content_hash,
        comment=(comment or "").strip(),
    )
    cosignature.save()
    record(
        Action.SIGN,
        actor=by,
        site=note.site_id,
        patient=_patient_ref(note),
        obj=note,
        reason="co-signature",
        changes={"before": {"cosigned": False}, "after": {"cosigned": True, "note_hash": note.content_hash}},
    )
    return cosignature


def _note_field(note) -> str:
    return "progress_note" if isinstance(note, ProgressNote) else "group_note"


@transaction.atomic
def note_add_addendum(*, note, by: User, reason: str, text: str, entry: GroupNoteEntry | None = None) -> NoteAddendum:
    """Add a dated, signed addendum to a signed note; the original stays exactly as signed.
    On a group note, ``entry`` makes it about one attendee's part (shown only in their chart)."""
    note = type(note).objects.select_related("site").get(pk=note.pk)
    _require_writer(by, note)
    if not note.is_signed:
        raise ValidationError("A draft is edited, not amended: addenda are for signed notes.")
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = "Give the reason for the addendum."
    if not (text or "").strip():
        errors["text"] = "Write the addendum."
    if entry is not None and (isinstance(note, ProgressNote) or entry.group_note_id != note.pk):
        errors["entry"] = "That part does not belong to this note."
    if isinstance(note, GroupNote) and not errors:
        # The addendum reaches chart copies: all of them (shared part) or its attendee's.
        others = _others_pattern(_roll_names(note.session), entry.patient_id if entry is not None else None)
        charts = "this attendee's chart" if entry is not None else "every attendee's chart"
        for field, label, value in (("reason", "reason", reason), ("text", "addendum", text)):
            if others is not None and others.search(value or ""):
                errors[field] = (
                    f"A group member's name appears in the {label}. It is copied into {charts}: "
                    "refer to other members without naming them."
                )
    if errors:
        raise ValidationError(errors)
    addendum = NoteAddendum(
        **{_note_field(note): note},
        entry=entry,
        author=by,
        author_name=str(by),
        author_credential=by.credentials,
        reason=reason.strip(),
        text=text.strip(),
        signed_at=timezone.now(),
    )
    addendum.content_hash = content_hash(addendum.content())
    addendum.save()
    record(
        Action.SIGN,
        actor=by,
        site=note.site_id,
        patient=_patient_ref(note) or (entry.patient if entry else None),
        obj=addendum,
        reason="addendum",
        changes={
            "before": {},
            "after": {"note": str(note.public_id), "reason": addendum.reason, "content_hash": addendum.content_hash},
        },
    )
    return addendum


@transaction.atomic
def cosign_requirement_set(*, user: User, site: Site, required: bool, by: User, reason: str = "") -> CosignRequirement:
    """Mark (or unmark) a staff member whose notes at ``site`` need a supervisor's co-signature."""
    if not has_capability(by, site, "note.cosign"):
        raise ValidationError("Only a clinical supervisor of this site decides who needs co-signature.")
    req = CosignRequirement.objects.select_for_update().filter(user=user, site=site).first()
    before = {"required": bool(req and req.is_active)}
    if req is None:
        req = CosignRequirement(user=user, site=site, is_active=required, reason=reason, set_by=by)
        req.full_clean()
        req.save()
    else:
        req.is_active, req.reason, req.set_by = required, reason or req.reason, by
        req.save(update_fields=["is_active", "reason", "set_by", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=site,
        obj=req,
        changes={"before": before, "after": {"required": required, "user": str(user.public_id)}},
    )
    return req
