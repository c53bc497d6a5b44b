"""Session delivery: attendance, follow-up policy and contact notes, progress notes (individual
and group, with per-attendee parts), signatures, co-signatures and addenda.

Writes go through ``sessions.services``. A signed note never changes again: the services refuse
it, the model refuses to save it, and on PostgreSQL a trigger (migration 0002) refuses any
UPDATE or DELETE of a signed note's rows. Co-signatures and addenda are rows of their own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from users.models import Site, TimeStampedModel


class NeverDeleted(Exception):
    """Clinical documentation is superseded or amended, never removed."""


class SignedNoteLocked(ValidationError):
    """A signed note (or its parts) cannot change; corrections are addenda."""

    def __init__(self, message: str = "This note is signed and locked. Add an addendum to correct or add to it."):
        super().__init__(message, code="signed")


# --- Attendance ---------------------------------------------------------------------------------


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", "Present"
    LATE = "late", "Late arrival"
    LEFT_EARLY = "left_early", "Left early"
    TELEHEALTH = "telehealth", "Present by telehealth"
    NO_SHOW = "no_show", "No-show"
    EXCUSED = "excused", "Excused absence"
    CANCELLED_PATIENT = "cancelled_patient", "Cancelled by patient"
    CANCELLED_PROGRAM = "cancelled_program", "Cancelled by program"


# Statuses in which the patient received the service (their minutes count toward IOP hours).
ATTENDED = frozenset(
    {AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY, AttendanceStatus.TELEHEALTH}
)
ATTENDED_VALUES = sorted(s.value for s in ATTENDED)
# Attended, but only part of the session: the minutes must be given.
PARTIAL = frozenset({AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY})
# Absences and cancellations: 0 minutes, always.
ABSENT = frozenset(set(AttendanceStatus.values) - ATTENDED)


class AttendanceQuerySet(models.QuerySet["Attendance"]):
    def attended(self) -> AttendanceQuerySet:
        return self.filter(status__in=ATTENDED)

    def delete(self):
        raise NeverDeleted("Attendance is corrected by recording the roll-call again, never removed.")


class Attendance(TimeStampedModel):
    """One patient's attendance at one session, recorded at roll-call."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey("scheduling.TherapySession", on_delete=models.PROTECT, related_name="attendance")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="attendance")
    episode = models.ForeignKey("patients.Episode", on_delete=models.PROTECT, related_name="attendance")
    status = models.CharField(max_length=20, choices=AttendanceStatus.choices)
    late_cancel = models.BooleanField(
        "Late cancellation", default=False, help_text="Cancelled by the patient with less notice than the policy asks."
    )
    minutes_attended = models.PositiveSmallIntegerField(default=0)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        ordering = ["session__starts_at", "id"]
        indexes = [models.Index(fields=["patient", "session"], name="attendance_patient_session_idx")]
        constraints = [
            models.UniqueConstraint(fields=["session", "patient"], name="attendance_session_patient_unique"),
            models.CheckConstraint(
                condition=Q(late_cancel=False) | Q(status=AttendanceStatus.CANCELLED_PATIENT),
                name="attendance_late_cancel_only_when_patient_cancelled",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ATTENDED_VALUES) | Q(minutes_attended=0),
                name="attendance_absence_has_no_minutes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} ({self.minutes_attended} min)"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Attendance is corrected by recording the roll-call again, never removed.")

    @property
    def attended(self) -> bool:
        return self.status in ATTENDED


# --- No-show follow-up --------------------------------------------------------------------------


class FollowUpPolicy(TimeStampedModel):
    """A site's missed-session follow-up thresholds (DOMAIN.md §6: practice norms, configurable)."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, related_name="followup_policy")
    consecutive_no_shows_for_review = models.PositiveSmallIntegerField(
        default=2, help_text="This many no-shows in a row raise a clinician review."
    )
    weekly_attendance_percent = models.PositiveSmallIntegerField(
        default=75, help_text="Attending under this share of a week's scheduled minutes raises a clinician review."
    )
    consecutive_absences_for_discharge_review = models.PositiveSmallIntegerField(
        default=3, help_text="This many unexcused absences in a row propose an administrative-discharge review."
    )
    days_without_contact = models.PositiveSmallIntegerField(
        default=14,
        help_text=(
            "This many days without contact (an attended session, or outreach that reached the patient) "
            "propose an administrative-discharge review, once outreach has been tried."
        ),
    )
    outreach_attempts_for_discharge_review = models.PositiveSmallIntegerField(
        default=1,
        help_text=(
            "Outreach attempts documented since the last contact before the no-contact "
            "administrative-discharge review is proposed (until then, outreach is asked for)."
        ),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "follow-up policies"
        constraints = [
            models.CheckConstraint(condition=Q(consecutive_no_shows_for_review__gte=1), name="policy_no_shows_min"),
            models.CheckConstraint(
                condition=Q(weekly_attendance_percent__gte=1, weekly_attendance_percent__lte=100),
                name="policy_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(consecutive_absences_for_discharge_review__gte=1), name="policy_absences_min"
            ),
            models.CheckConstraint(condition=Q(days_without_contact__gte=1), name="policy_days_min"),
            models.CheckConstraint(
                condition=Q(outreach_attempts_for_discharge_review__gte=1), name="policy_outreach_attempts_min"
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up policy of {self.site}"

    @classmethod
    def for_site(cls, site: Site | int) -> FollowUpPolicy:
        """The site's policy, or the defaults (unsaved) when the site has not set one."""
        site_id = getattr(site, "pk", site)
        return cls.objects.filter(site_id=site_id).first() or cls(site_id=site_id)


class ContactChannel(models.TextChoices):
    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message (no treatment details)"
    EMAIL = "email", "Email (no treatment details)"
    IN_PERSON = "in_person", "In person"
    OTHER = "other", "Other"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached the patient"
    LEFT_MESSAGE = "left_message", "Left a neutral message"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Number or address not valid"
    DECLINED = "declined", "Patient declined to talk"


class ContactAttemptQuerySet(models.QuerySet["ContactAttempt"]):
    def delete(self):
        raise NeverDeleted("Contact notes are part of the record.")


class ContactAttempt(TimeStampedModel):
    """Outreach after a missed session, documented as a contact note."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="contact_attempts")
    attendance = models.ForeignKey(
        Attendance, null=True, blank=True, on_delete=models.PROTECT, related_name="contact_attempts"
    )
    attempted_at = models.DateTimeField("When")
    channel = models.CharField(max_length=12, choices=ContactChannel.choices)
    outcome = models.CharField(max_length=14, choices=ContactOutcome.choices)
    note = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = ContactAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_outcome_display()}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Contact notes are part of the record.")


# --- Notes: shared machinery ----------------------------------------------------------------------


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


def canonical_json(content: dict) -> str:
    """The one serialisation a content hash is computed over: sorted keys, no whitespace."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def objective_content(obj) -> dict:
    """The linked plan objectives, for a hash; absent when none (hashes signed before the
    golden thread existed stay valid)."""
    ids = sorted(str(o.public_id) for o in obj.addressed_objectives.all())
    return {"addressed_objectives": ids} if ids else {}


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


class NoteQuerySet(models.QuerySet):
    def signed(self):
        return self.filter(status=NoteStatus.SIGNED)

    def drafts(self):
        return self.filter(status=NoteStatus.DRAFT)

    def awaiting_cosign(self):
        return self.filter(status=NoteStatus.SIGNED, requires_cosign=True, cosignature__isnull=True)

    def delete(self):
        raise NeverDeleted("Notes are never removed; a signed note is corrected by addendum.")


class SignableNote(TimeStampedModel):
    """Fields every note shares: the draft's version counter and the signature."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    # Optimistic locking: every saved edit bumps it; an edit made from an older version is refused.
    version = models.PositiveIntegerField(default=1)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Snapshots at signing: a later change of name or credential does not rewrite the signature.
    signer_name = models.CharField(max_length=150, blank=True)
    signer_credential = models.CharField(max_length=60, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    late_entry = models.BooleanField(default=False)
    requires_cosign = models.BooleanField(default=False)

    objects = NoteQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Notes are never removed; a signed note is corrected by addendum.")

    def save(self, *args, **kwargs):
        # The last line of defence below the services (the PostgreSQL trigger is the one below it).
        if self.pk is not None and type(self).objects.filter(pk=self.pk, status=NoteStatus.SIGNED).exists():
            raise SignedNoteLocked()
        super().save(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED

    def compute_hash(self) -> str:
        # Each note type defines content(): the canonical dict its signature covers.
        return content_hash(self.content())

    def hash_verifies(self) -> bool:
        return bool(self.content_hash) and self.compute_hash() == self.content_hash

    def signature_content(self) -> dict:
        return {
            "signed_by": str(self.signed_by.public_id) if self.signed_by_id else None,
            "signer_name": self.signer_name,
            "signer_credential": self.signer_credential,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "late_entry": self.late_entry,
        }

    @staticmethod
    def late_entry_limit() -> timedelta:
        return timedelta(hours=settings.NOTE_LATE_ENTRY_HOURS)


# --- Individual progress notes --------------------------------------------------------------------


class NoteFormat(models.TextChoices):
    SOAP = "soap", "SOAP"
    DAP = "dap", "DAP"
    BIRP = "birp", "BIRP"
    GIRP = "girp", "GIRP"
    PIRP = "pirp", "PIRP"
    SIRP = "sirp", "SIRP"


# Section keys and labels of each format, in the order they are written (DOMAIN.md §7).
FORMAT_SECTIONS: dict[str, list[tuple[str, str]]] = {
    NoteFormat.SOAP: [
        ("subjective", "Subjective"),
        ("objective", "Objective"),
        ("assessment", "Assessment"),
        ("plan", "Plan"),
    ],
    NoteFormat.DAP: [("data", "Data"), ("assessment", "Assessment"), ("plan", "Plan")],
    NoteFormat.BIRP: [
        ("behavior", "Behavior"),
        ("intervention", "Intervention"),
        ("response", "Response"),
        ("plan", "Plan"),
    ],
    NoteFormat.GIRP: [("goal", "Goal"), ("intervention", "Intervention"), ("response", "Response"), ("plan", "Plan")],
    NoteFormat.PIRP: [
        ("problem", "Problem"),
        ("intervention", "Intervention"),
        ("response", "Response"),
        ("plan", "Plan"),
    ],
    NoteFormat.SIRP: [
        ("situation", "Situation"),
        ("intervention", "Intervention"),
        ("response", "Response"),
        ("plan", "Plan"),
    ],
}


def validate_sections(note_format: str, sections, *, complete: bool) -> dict[str, str]:
    """Check ``sections`` against the format: only its section names, text values; with
    ``complete=True`` every section must be filled in (signing). Returns the cleaned dict."""
    names = [key for key, _ in FORMAT_SECTIONS.get(note_format, [])]
    if not names:
        raise ValidationError({"format": f"Unknown note format {note_format!r}."})
    if not isinstance(sections, dict):
        raise ValidationError({"sections": "Sections must be a mapping of section name to text."})
    unknown = sorted(set(sections) - set(names))
    if unknown:
        raise ValidationError({"sections": f"Not a section of this format: {', '.join(unknown)}."})
    if any(not isinstance(v, str) for v in sections.values()):
        raise ValidationError({"sections": "Each section is text."})
    cleaned = {name: (sections.get(name) or "").strip() for name in names}
    if complete:
        labels = dict(FORMAT_SECTIONS[note_format])
        missing = {name: f"{labels[name]} is required before signing." for name in names if not cleaned[name]}
        if missing:
            raise ValidationError(missing)
    return cleaned


class ProgressNote(SignableNote):
    """An individual progress note about one patient's service in one session."""

    session = models.ForeignKey("scheduling.TherapySession", on_delete=models.PROTECT, related_name="progress_notes")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="progress_notes")
    episode = models.ForeignKey("patients.Episode", on_delete=models.PROTECT, related_name="progress_notes")
    format = models.CharField(max_length=6, choices=NoteFormat.choices, default=NoteFormat.SOAP)
    sections = models.JSONField(default=dict, blank=True)
    # The golden thread: the treatment-plan objectives this session addressed (DOMAIN.md §7).
    addressed_objectives = models.ManyToManyField("plans.Objective", blank=True, related_name="progress_notes")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "status"], name="progressnote_patient_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_by__isnull=False, signed_at__isnull=False) & ~Q(content_hash="")),
                name="progressnote_signature_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} note ({self.get_status_display().lower()})"

    def section_rows(self) -> list[tuple[str, str, str]]:
        return [(key, label, (self.sections or {}).get(key, "")) for key, label in FORMAT_SECTIONS[self.format]]

    def content(self) -> dict:
        return {
            "type": "progress_note",
            "public_id": str(self.public_id),
            "patient": str(self.patient.public_id),
            "episode": str(self.episode.public_id),
            "session": str(self.session.public_id),
            "author": str(self.author.public_id),
            "format": self.format,
            "sections": {k: v for k, v in sorted((self.sections or {}).items())},
            **objective_content(self),
            "requires_cosign": self.requires_cosign,
            **self.signature_content(),
        }


# --- Group notes ----------------------------------------------------------------------------------


class GroupNote(SignableNote):
    """The shared part of a group session's note; each attendee present has a ``GroupNoteEntry``."""

    session = models.OneToOneField("scheduling.TherapySession", on_delete=models.PROTECT, related_name="group_note")
    topic = models.CharField(max_length=160)
    curriculum_module = models.CharField(max_length=160, blank=True)
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    interventions = models.TextField("Interventions used", blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            # Drafts are few among many signed notes: the caseload's "unsigned" flag and the
            # unsigned-notes lists start from them.
            models.Index(fields=["session"], condition=Q(status="draft"), name="groupnote_draft_session_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="groupnote_end_after_start"),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_by__isnull=False, signed_at__isnull=False) & ~Q(content_hash="")),
                name="groupnote_signature_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Group note: {self.topic}"

    def shared_content(self) -> dict:
        return {
            "topic": self.topic,
            "curriculum_module": self.curriculum_module,
            "facilitators": sorted(str(u.public_id) for u in self.facilitators.all()),
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "interventions": self.interventions,
        }

    def content(self) -> dict:
        return {
            "type": "group_note",
            "public_id": str(self.public_id),
            "session": str(self.session.public_id),
            "author": str(self.author.public_id),
            **self.shared_content(),
            "entries": sorted((e.content() for e in self.entries.all()), key=lambda c: c["patient"]),
            "requires_cosign": self.requires_cosign,
            **self.signature_content(),
        }


ENTRY_FIELDS = ["participation", "response", "progress", "risk_observations"]


class GroupNoteEntryQuerySet(models.QuerySet["GroupNoteEntry"]):
    def delete(self):
        raise NeverDeleted("Group note entries are part of the note.")

    def delete_draft(self):
        """Remove parts of a *draft* (an attendee the roll no longer marks present)."""
        if self.filter(group_note__status=NoteStatus.SIGNED).exists():
            raise SignedNoteLocked()
        return super().delete()


class GroupNoteEntry(TimeStampedModel):
    """One attendee's individual part of a group note. It names one patient only."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group_note = models.ForeignKey(GroupNote, on_delete=models.PROTECT, related_name="entries")
    attendance = models.OneToOneField(Attendance, on_delete=models.PROTECT, related_name="group_note_entry")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="group_note_entries")
    participation = models.TextField(blank=True)
    response = models.TextField("Response to the session", blank=True)
    progress = models.TextField("Progress toward the patient's objectives", blank=True)
    risk_observations = models.TextField(blank=True)
    minutes_attended = models.PositiveSmallIntegerField(default=0)
    addressed_objectives = models.ManyToManyField("plans.Objective", blank=True, related_name="group_note_entries")

    objects = GroupNoteEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["group_note", "patient"], name="groupnoteentry_note_patient_unique")
        ]

    def __str__(self) -> str:
        return "Individual part of a group note"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Group note entries are part of the note.")

    def save(self, *args, **kwargs):
        if GroupNote.objects.filter(pk=self.group_note_id, status=NoteStatus.SIGNED).exists():
            raise SignedNoteLocked()
        super().save(*args, **kwargs)

    def text(self) -> str:
        return "\n".join(getattr(self, f) or "" for f in ENTRY_FIELDS)

    def content(self) -> dict:
        return {
            "patient": str(self.patient.public_id),
            "attendance": str(self.attendance.public_id),
            "minutes_attended": self.minutes_attended,
            **{f: getattr(self, f) for f in ENTRY_FIELDS},
            **objective_content(self),
        }


# --- Addenda and co-signatures ----------------------------------------------------------------------


_ONE_NOTE = Q(progress_note__isnull=False, group_note__isnull=True) | Q(
    progress_note__isnull=True, group_note__isnull=False
)


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise SignedNoteLocked("Signatures and addenda cannot be changed.")

    def delete(self):
        raise NeverDeleted("Signatures and addenda are part of the record.")


class NoteAddendum(models.Model):
    """A signed correction or addition to a signed note; the original stays as it was.

    On a group note an addendum is about the shared part (``entry`` empty) or about one
    attendee's part, so a chart copy shows only the addenda that concern its patient.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    progress_note = models.ForeignKey(
        ProgressNote, null=True, blank=True, on_delete=models.PROTECT, related_name="addenda"
    )
    group_note = models.ForeignKey(GroupNote, null=True, blank=True, on_delete=models.PROTECT, related_name="addenda")
    entry = models.ForeignKey(GroupNoteEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_name = models.CharField(max_length=150)
    author_credential = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=200)
    text = models.TextField()
    signed_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name_plural = "note addenda"
        constraints = [
            models.CheckConstraint(condition=_ONE_NOTE, name="addendum_one_note"),
            models.CheckConstraint(
                condition=Q(entry__isnull=True) | Q(group_note__isnull=False), name="addendum_entry_on_group"
            ),
        ]

    def __str__(self) -> str:
        return f"Addendum {self.signed_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise SignedNoteLocked("Addenda cannot be changed; add another addendum.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Addenda are part of the record.")

    def content(self) -> dict:
        note = self.progress_note or self.group_note
        return {
            "note": str(note.public_id),
            "note_hash": note.content_hash,
            "entry": str(self.entry.public_id) if self.entry_id else None,
            "author": str(self.author.public_id),
            "author_name": self.author_name,
            "author_credential": self.author_credential,
            "reason": self.reason,
            "text": self.text,
            "signed_at": self.signed_at.isoformat(),
        }

    def hash_verifies(self) -> bool:
        return content_hash(self.content()) == self.content_hash


class CosignRequirement(TimeStampedModel):
    """A supervisee (intern, trainee) whose notes at this site need a supervisor's co-signature."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cosign_requirements")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cosign_requirements")
    is_active = models.BooleanField(default=True)
    reason = models.CharField(max_length=120, blank=True, help_text="For example: intern, pre-licensure.")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="cosignrequirement_user_site_unique")]

    def __str__(self) -> str:
        return f"{self.user} needs co-signature at {self.site}"

    @classmethod
    def applies(cls, user, site: Site | int) -> bool:
        return cls.objects.filter(user=user, site_id=getattr(site, "pk", site), is_active=True).exists()


class NoteCosignature(models.Model):
    """A supervisor's co-signature: its own row, so the signed note row never changes."""

    progress_note = models.OneToOneField(
        ProgressNote, null=True, blank=True, on_delete=models.PROTECT, related_name="cosignature"
    )
    group_note = models.OneToOneField(
        GroupNote, null=True, blank=True, on_delete=models.PROTECT, related_name="cosignature"
    )
    cosigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cosigner_name = models.CharField(max_length=150)
    cosigner_credential = models.CharField(max_length=60, blank=True)
    cosigned_at = models.DateTimeField()
    # The note's hash at co-signing: what exactly the supervisor approved.
    note_hash = models.CharField(max_length=64)
    comment = models.TextField(blank=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-cosigned_at"]
        constraints = [models.CheckConstraint(condition=_ONE_NOTE, name="cosignature_one_note")]

    def __str__(self) -> str:
        return f"Co-signed by {self.cosigner_name} {self.cosigned_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise SignedNoteLocked("A co-signature cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Co-signatures are part of the record.")
