"""Read-only output shapes for tracks, sessions and enrollments."""

from __future__ import annotations

from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Enrollment, TherapySession, Track


class TrackOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    site = serializers.UUIDField(source="site.public_id", read_only=True)
    meeting_days = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    topics = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Track
        fields = [
            "id",
            "site",
            "name",
            "level_of_care",
            "age_group",
            "meeting_days",
            "capacity",
            "start_date",
            "end_date",
            "topics",
            "is_active",
        ]
        read_only_fields = fields


class SessionOutput(OutputSerializer):
    """A session as the calendar shows it: no patient information."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    site = serializers.UUIDField(source="site.public_id", read_only=True)
    track = serializers.UUIDField(source="track.public_id", read_only=True, allow_null=True)
    room = serializers.CharField(source="room.name", read_only=True, allow_null=True)
    title = serializers.CharField(read_only=True)
    facilitators = serializers.SerializerMethodField()

    class Meta:
        model = TherapySession
        fields = [
            "id",
            "site",
            "track",
            "kind",
            "title",
            "topic",
            "starts_at",
            "ends_at",
            "room",
            "facilitators",
            "status",
            "cancel_reason",
            "note",
        ]
        read_only_fields = fields

    def get_facilitators(self, session) -> list[str]:
        return [str(u.public_id) for u in session.facilitators.all()]


class RosterEntryOutput(serializers.Serializer):
    patient = serializers.UUIDField(source="episode.patient.public_id")
    display_name = serializers.CharField(source="episode.patient.display_name")
    episode = serializers.UUIDField(source="episode.public_id")
    source = serializers.CharField()


class SessionDetailOutput(SessionOutput):
    roster_count = serializers.IntegerField(read_only=True)
    roster = RosterEntryOutput(many=True, read_only=True, allow_null=True)

    class Meta(SessionOutput.Meta):
        fields = [*SessionOutput.Meta.fields, "roster_count", "roster"]
        read_only_fields = fields


class EnrollmentOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    track = serializers.UUIDField(source="track.public_id", read_only=True)
    episode = serializers.UUIDField(source="episode.public_id", read_only=True)
    patient = serializers.UUIDField(source="episode.patient.public_id", read_only=True)
    display_name = serializers.CharField(source="episode.patient.display_name", read_only=True)

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "track",
            "episode",
            "patient",
            "display_name",
            "start_date",
            "end_date",
            "is_taper",
            "note",
            "end_reason",
        ]
        read_only_fields = fields
