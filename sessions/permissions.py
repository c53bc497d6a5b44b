"""Who may take roll and who may read and write progress notes.

Sessions and notes of a site the user is not a member of answer 404. At a member site:
- roll-call: the session's facilitators, and holders of ``clinical.view`` (read) or
  ``clinical.write`` (record); anyone else 403;
- notes: ``clinical.view`` to read, ``clinical.write`` to write. Intake coordinators never read
  progress notes (403), even for a session they helped run;
- co-signing needs ``note.cosign``;
- a group note's part about one attendee (and an addendum about that part) is shown only to
  someone who may see that patient (``patients_visible_to``), whatever they may see of the note.

A break-glass grant lets its holder read that one patient's progress notes (and the chart copy of
their group notes, through the patient pages), never write them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from patients.models import Patient
from patients.permissions import emergency_patient_ids, patient_may, patients_visible_to, visible_q
from scheduling.models import TherapySession
from users.permissions import get_for_user, has_capability, site_ids_for

from .models import Attendance, GroupNote, GroupNoteEntry, NoteAddendum, ProgressNote


def _member_sites(user) -> set[int]:
    return site_ids_for(user)


def is_facilitator(user, session: TherapySession) -> bool:
    return session.facilitators.filter(pk=user.pk).exists()


def can_read_roll(user, session: TherapySession) -> bool:
    return has_capability(user, session.site_id, "clinical.view") or is_facilitator(user, session)


def can_take_roll(user, session: TherapySession) -> bool:
    return has_capability(user, session.site_id, "clinical.write") or is_facilitator(user, session)


def get_session_for_rollcall(user, public_id, *, write: bool = False) -> TherapySession:
    """The session for its roll-call page: 404 outside the user's sites, 403 without the right."""
    session = get_for_user(
        TherapySession.objects.filter(site_id__in=_member_sites(user)).select_related("site", "track", "room"),
        user=user,
        public_id=public_id,
    )
    allowed = can_take_roll(user, session) if write else can_read_roll(user, session)
    if not allowed:
        raise PermissionDenied
    return session


def progress_notes_visible_to(user) -> QuerySet[ProgressNote]:
    return ProgressNote.objects.filter(visible_q(user, "clinical.view"))


def group_notes_visible_to(user) -> QuerySet[GroupNote]:
    return GroupNote.objects.filter(site_id__in=site_ids_for(user, "clinical.view"))


def group_note_entries_visible_to(user) -> QuerySet[GroupNoteEntry]:
    """Attendee parts of the group notes the user may read, about patients the user may see."""
    return GroupNoteEntry.objects.filter(
        group_note__site_id__in=site_ids_for(user, "clinical.view"), patient__in=patients_visible_to(user)
    )


def group_note_addenda_visible_to(user) -> QuerySet[NoteAddendum]:
    """Addenda of group notes: about the shared part, or about a part the user may see."""
    return NoteAddendum.objects.filter(
        Q(entry__isnull=True) | Q(entry__in=group_note_entries_visible_to(user)),
        group_note__site_id__in=site_ids_for(user, "clinical.view"),
    )


def _get_note(model, user, public_id, *, write: bool, emergency: set[int] | None = None):
    """A note of a member site (or of a patient in ``emergency``), or 404; then 403 without
    clinical.view (clinical.write to write, which a break-glass grant never gives)."""
    scope = Q(site_id__in=_member_sites(user))
    if emergency:
        scope |= Q(patient_id__in=emergency)
    note = get_for_user(
        model.objects.filter(scope).select_related("site", "session__site", "author"),
        user=user,
        public_id=public_id,
    )
    if has_capability(user, note.site_id, "clinical.write" if write else "clinical.view"):
        return note
    if not write and emergency and note.patient_id in emergency:
        return note
    raise PermissionDenied


def get_progress_note_for_user(user, public_id, *, write: bool = False) -> ProgressNote:
    return _get_note(ProgressNote, user, public_id, write=write, emergency=emergency_patient_ids(user))


def get_group_note_for_user(user, public_id, *, write: bool = False) -> GroupNote:
    return _get_note(GroupNote, user, public_id, write=write)


def get_attendance_for_user(user, public_id) -> Attendance:
    attendance = get_for_user(
        Attendance.objects.filter(session__site_id__in=_member_sites(user)).select_related("patient", "session"),
        user=user,
        public_id=public_id,
    )
    if not has_capability(user, attendance.session.site_id, "clinical.view"):
        raise PermissionDenied
    return attendance


def require_clinical(user, site, write: bool = False) -> None:
    if not has_capability(user, site, "clinical.write" if write else "clinical.view"):
        raise PermissionDenied


def require_clinical_for_patient(user, patient: Patient) -> None:
    """403 unless the user may read this patient's clinical record (at the patient's site, or
    under a break-glass grant)."""
    if not patient_may(user, patient, "clinical.view"):
        raise PermissionDenied
