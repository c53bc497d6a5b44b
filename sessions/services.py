"""Writes of session delivery: roll-call, follow-up after missed sessions, contact notes,
progress and group notes, signing, addenda and co-signatures. Every write is audited with
before/after inside its transaction; signing is audited as ``Action.SIGN``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from .selectors import week_of

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
    values did not change is left alone. A new no-show starts the follow-up (an alert for the
    primary counselor, and the consecutive-absence checks). Raises ``RosterErrors`` with
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
    saved, new_no_shows = [], []
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
        if status == AttendanceStatus.NO_SHOW and before.get("status") != AttendanceStatus.NO_SHOW:
            new_no_shows.append(attendance)
        saved.append(attendance)
    for attendance in new_no_shows:
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
    "DISCHARGE_REVIEW_NO_CONTACT": "No attended session for too long: administrative-discharge review proposed",
}
# An unexcused absence: not there, and not excused beforehand (a cancellation by the program is
# the program's doing and neither counts nor breaks a run).
UNEXCUSED = frozenset({AttendanceStatus.NO_SHOW, AttendanceStatus.CANCELLED_PATIENT})
WEEK_OBJECT = "clinical_sessions.PatientWeek"
CONTACT_OBJECT = "clinical_sessions.PatientContact"


def _raise(**kwargs):
    # Imported here: notifications is a floor below and must not be needed to import this module's models.
    from notifications.models import AlertKind
    from notifications.services import alert_raise

    return alert_raise(kind=AlertKind.NO_SHOW, **kwargs)


def _counselor(attendance: Attendance) -> User | None:
    return attendance.episode.primary_counselor or attendance.patient.primary_counselor


def _recent_run(patient: Patient, upto: Attendance, limit: int) -> list[Attendance]:
    """The patient's latest ``limit`` attendance rows up to ``upto``'s session, newest first
    (program cancellations left out)."""
    return list(
        Attendance.objects.filter(patient=patient, session__starts_at__lte=upto.session.starts_at)
        .exclude(status=AttendanceStatus.CANCELLED_PROGRAM)
        .select_related("session")
        .order_by("-session__starts_at", "-id")[:limit]
    )


def followup_after_absence(*, attendance: Attendance, by: User | None) -> list:
    """After a no-show: an outreach task for the primary counselor; a clinician review after
    ``consecutive_no_shows_for_review`` no-shows in a row; an administrative-discharge *review*
    (a proposal for a clinician, never a discharge) after ``consecutive_absences_for_discharge_review``
    unexcused absences in a row. Idempotent: each alert is raised once per attendance row."""
    site = attendance.session.site
    policy = FollowUpPolicy.for_site(site)
    patient = attendance.patient
    counselor = _counselor(attendance)
    raised = [
        _raise(
            site=site,
            patient=patient,
            title_code="NO_SHOW",
            obj=attendance,
            recipients=[counselor] if counselor and counselor.is_active else None,
            by=by,
        )
    ]
    from notifications.models import Severity

    limit = max(policy.consecutive_no_shows_for_review, policy.consecutive_absences_for_discharge_review)
    run = _recent_run(patient, attendance, limit)
    no_shows = 0
    for a in run:
        if a.status != AttendanceStatus.NO_SHOW:
            break
        no_shows += 1
    unexcused = 0
    for a in run:
        if a.status not in UNEXCUSED:
            break
        unexcused += 1
    if no_shows >= policy.consecutive_no_shows_for_review:
        raised.append(
            _raise(
                site=site,
                patient=patient,
                title_code="NO_SHOWS_CONSECUTIVE",
                obj=attendance,
                severity=Severity.HIGH,
                by=by,
            )
        )
    if unexcused >= policy.consecutive_absences_for_discharge_review:
        raised.append(
            _raise(
                site=site,
                patient=patient,
                title_code="DISCHARGE_REVIEW_ABSENCES",
                obj=attendance,
                severity=Severity.HIGH,
                by=by,
            )
        )
    return raised


def _week_bounds(site: Site, week: tuple[int, int]) -> tuple[datetime, datetime]:
    monday = date.fromisocalendar(week[0], week[1], 1)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=site.zone)
    return start, datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=site.zone)


def followup_check_week(*, patient: Patient, site: Site, week: tuple[int, int], by: User | None = None):
    """A clinician review when the patient attended under the policy's share of the minutes they
    were scheduled for in ``week`` (their roll-call rows; program cancellations excluded)."""
    policy = FollowUpPolicy.for_site(site)
    start, end = _week_bounds(site, week)
    rows = list(
        Attendance.objects.filter(
            patient=patient, session__site=site, session__starts_at__gte=start, session__starts_at__lt=end
        )
        .exclude(status=AttendanceStatus.CANCELLED_PROGRAM)
        .select_related("session")
    )
    scheduled = sum(session_minutes(a.session) for a in rows)
    attended = sum(a.minutes_attended for a in rows if a.status in ATTENDED)
    if not scheduled or attended * 100 >= policy.weekly_attendance_percent * scheduled:
        return None
    from notifications.models import Severity

    return _raise(
        site=site,
        patient=patient,
        title_code="ATTENDANCE_UNDER_WEEKLY",
        object_type=WEEK_OBJECT,
        object_id=f"{patient.public_id}:{week[0]}-W{week[1]:02d}",
        severity=Severity.HIGH,
        by=by,
    )


def followup_check_contact(*, patient: Patient, site: Site, today: date | None = None, by: User | None = None):
    """Propose an administrative-discharge review when the patient, in an open episode, has not
    attended a session for ``days_without_contact`` days (counted from admission when never).
    Raised once per last-contact date: a new attended session resets it."""
    episode = patient.episodes.open().first()
    if episode is None:
        return None
    policy = FollowUpPolicy.for_site(site)
    today = today or site_today(site)
    last = (
        Attendance.objects.filter(patient=patient, status__in=list(ATTENDED))
        .select_related("session__site")
        .order_by("-session__starts_at")
        .first()
    )
    last_day = last.session.local_end().date() if last else episode.admission_date
    if (today - last_day).days < policy.days_without_contact:
        return None
    from notifications.models import Severity

    return _raise(
        site=site,
        patient=patient,
        title_code="DISCHARGE_REVIEW_NO_CONTACT",
        object_type=CONTACT_OBJECT,
        object_id=f"{patient.public_id}:{last_day.isoformat()}",
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
    made from ``version``: a stale version raises ``NoteConflict``, a signed note ``SignedNoteLocked``."""
    note = _lock(note)
    _check_draft(note, version)
    if note.author_id != by.pk and not note.facilitators.filter(pk=by.pk).exists():
        raise ValidationError("Only the author or a facilitator of the session edits this draft.")
    _require_writer(by, note)
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


def group_note_problems(note: GroupNote) -> dict[str, str]:
    """What stops this group note from being signed (empty when it can be)."""
    problems: dict[str, str] = {}
    if not note.topic.strip():
        problems["topic"] = "The topic is required before signing."
    if not note.interventions.strip():
        problems["interventions"] = "Describe the interventions used before signing."
    present = {a.pk for a in _attendees_present(note.session)}
    entries = list(note.entries.select_related("patient"))
    covered = {e.attendance_id for e in entries}
    if present - covered or covered - present:
        problems["entries"] = (
            "The roll changed since the note was opened: reopen the editor to update the attendee parts."
        )
    for e in entries:
        missing = [f for f in ENTRY_FIELDS if not getattr(e, f).strip()]
        if missing:
            labels = ", ".join(capfirst(GroupNoteEntry._meta.get_field(f).verbose_name) for f in missing)
            problems[f"entry:{e.public_id}"] = f"{e.patient.display_name}: {labels} required before signing."
    if not entries:
        problems["entries"] = "Nobody attended: a group note needs at least one attendee present."
    return problems


# --- Signing, co-signing, addenda ---------------------------------------------------------------------


@transaction.atomic
def note_sign(*, note, by: User, version: int | None = None):
    """Sign a draft (individual or group): only its author, every required part filled in.

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
        note.sections = validate_sections(note.format, note.sections, complete=True)
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
