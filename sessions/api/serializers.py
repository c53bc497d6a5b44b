"""Read-only output shapes for attendance, progress notes, group notes, addenda, co-signatures
and the co-sign queue."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Attendance, GroupNote, GroupNoteEntry, NoteAddendum, NoteCosignature, ProgressNote

SIGNATURE_FIELDS = [
    "signer_name",
    "signer_credential",
    "signed_at",
    "content_hash",
    "late_entry",
    "requires_cosign",
]


class AttendanceOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    session = serializers.UUIDField(source="session.public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    display_name = serializers.CharField(source="patient.display_name", read_only=True)

    class Meta:
        model = Attendance
        fields = [
            "id",
            "session",
            "patient",
            "display_name",
            "status",
            "minutes_attended",
            "late_cancel",
            "recorded_at",
        ]
        read_only_fields = fields


class AddendumOutput(OutputSerializer):
    """A signed addendum; ``entry`` names the attendee part it is about (group notes), or null."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    entry = serializers.UUIDField(source="entry.public_id", read_only=True, allow_null=True)
    author = serializers.UUIDField(source="author.public_id", read_only=True)

    class Meta:
        model = NoteAddendum
        fields = [
            "id",
            "entry",
            "author",
            "author_name",
            "author_credential",
            "reason",
            "text",
            "signed_at",
            "content_hash",
        ]
        read_only_fields = fields


class CosignatureOutput(OutputSerializer):
    cosigned_by = serializers.UUIDField(source="cosigned_by.public_id", read_only=True)

    class Meta:
        model = NoteCosignature
        fields = ["cosigned_by", "cosigner_name", "cosigner_credential", "cosigned_at", "note_hash", "comment"]
        read_only_fields = fields


class _CosignatureMixin(serializers.Serializer):
    cosignature = serializers.SerializerMethodField()

    @extend_schema_field(CosignatureOutput(allow_null=True))
    def get_cosignature(self, note):
        cosignature = getattr(note, "cosignature", None) if note.is_signed else None
        return CosignatureOutput(cosignature).data if cosignature is not None else None


class ProgressNoteOutput(_CosignatureMixin, OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    session = serializers.UUIDField(source="session.public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    author = serializers.UUIDField(source="author.public_id", read_only=True)
    sections = serializers.DictField(child=serializers.CharField(allow_blank=True), read_only=True)
    objectives = serializers.SerializerMethodField(help_text="Treatment-plan objectives this note addressed.")
    addenda = AddendumOutput(many=True, read_only=True)

    class Meta:
        model = ProgressNote
        fields = [
            "id",
            "session",
            "patient",
            "author",
            "status",
            "version",
            "format",
            "sections",
            "objectives",
            *SIGNATURE_FIELDS,
            "cosignature",
            "addenda",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_objectives(self, note):
        return sorted(str(o.public_id) for o in note.addressed_objectives.all())


class GroupNoteEntryOutput(OutputSerializer):
    """One attendee's part of a group note."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    display_name = serializers.CharField(source="patient.display_name", read_only=True)
    attendance = serializers.UUIDField(source="attendance.public_id", read_only=True)
    objectives = serializers.SerializerMethodField(help_text="Treatment-plan objectives this part addressed.")

    class Meta:
        model = GroupNoteEntry
        fields = [
            "id",
            "patient",
            "display_name",
            "attendance",
            "minutes_attended",
            "participation",
            "response",
            "progress",
            "risk_observations",
            "objectives",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_objectives(self, entry):
        return sorted(str(o.public_id) for o in entry.addressed_objectives.all())


class GroupNoteOutput(_CosignatureMixin, OutputSerializer):
    """The shared part, the attendee parts the caller may see, addenda and co-signature.

    Rows come from ``sessions.api.views_group.load_group_notes`` (the caller's visible parts
    prefetched as ``visible_entries`` and ``visible_addenda``).
    """

    id = serializers.UUIDField(source="public_id", read_only=True)
    session = serializers.UUIDField(source="session.public_id", read_only=True)
    author = serializers.UUIDField(source="author.public_id", read_only=True)
    facilitators = serializers.SerializerMethodField()
    entries = GroupNoteEntryOutput(source="visible_entries", many=True, read_only=True)
    addenda = AddendumOutput(source="visible_addenda", many=True, read_only=True)

    class Meta:
        model = GroupNote
        fields = [
            "id",
            "session",
            "author",
            "status",
            "version",
            "topic",
            "curriculum_module",
            "facilitators",
            "starts_at",
            "ends_at",
            "interventions",
            "entries",
            *SIGNATURE_FIELDS,
            "cosignature",
            "addenda",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_facilitators(self, note):
        return sorted(str(u.public_id) for u in note.facilitators.all())


class CosignQueueItem(serializers.Serializer):
    """A signed note awaiting a co-signature. Group notes carry no patient (open the note)."""

    kind = serializers.ChoiceField(choices=["progress", "group"])
    id = serializers.UUIDField()
    site = serializers.UUIDField()
    session = serializers.UUIDField()
    session_starts_at = serializers.DateTimeField()
    patient = serializers.UUIDField(allow_null=True)
    display_name = serializers.CharField(allow_blank=True)
    topic = serializers.CharField(allow_blank=True)
    author = serializers.UUIDField()
    signer_name = serializers.CharField()
    signer_credential = serializers.CharField(allow_blank=True)
    signed_at = serializers.DateTimeField()
    late_entry = serializers.BooleanField()
