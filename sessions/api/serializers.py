"""Read-only output shapes for attendance and progress notes."""

from __future__ import annotations

from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Attendance, ProgressNote


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


class ProgressNoteOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    session = serializers.UUIDField(source="session.public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    author = serializers.UUIDField(source="author.public_id", read_only=True)
    sections = serializers.DictField(child=serializers.CharField(allow_blank=True), read_only=True)

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
            "signer_name",
            "signer_credential",
            "signed_at",
            "content_hash",
            "late_entry",
            "requires_cosign",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
