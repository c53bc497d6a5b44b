from __future__ import annotations

from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Alert


class AlertOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    site = serializers.UUIDField(source="site.public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True, allow_null=True)
    title = serializers.CharField(read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    acknowledged_by = serializers.UUIDField(source="acknowledged_by.public_id", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "site",
            "patient",
            "kind",
            "severity",
            "title_code",
            "title",
            "object_type",
            "object_id",
            "is_open",
            "acknowledged_by",
            "acknowledged_at",
            "action_taken",
            "action_note",
            "created_at",
        ]
        read_only_fields = fields
