"""Output shapes for assessment responses and placements; the answer value field."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import AssessmentResponse, Placement


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "boolean"}], "nullable": True})
class AnswerField(serializers.Field):
    """One item's answer: an integer, true/false, or null for an item the instrument skips."""

    default_error_messages = {"invalid": "An answer is an integer, true/false, or null."}

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or data is None:
            return data
        if isinstance(data, int) and -(2**31) <= data < 2**31:
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class ScoreOutput(serializers.Serializer):
    code = serializers.CharField()
    total = serializers.FloatField(allow_null=True)
    subscales = serializers.DictField(child=serializers.FloatField())
    band = serializers.CharField(allow_blank=True)
    band_label = serializers.CharField(allow_blank=True)
    flags = serializers.ListField(child=serializers.CharField())
    band_set = serializers.CharField()
    item_scores = serializers.ListField(child=serializers.IntegerField())
    action = serializers.CharField(allow_blank=True)


class ResponseOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    episode = serializers.UUIDField(source="episode.public_id", read_only=True, allow_null=True)
    answers = serializers.ListField(child=AnswerField(), read_only=True)
    subscales = serializers.DictField(child=serializers.FloatField(), read_only=True)
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)
    item_scores = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = AssessmentResponse
        fields = [
            "id",
            "patient",
            "episode",
            "instrument",
            "context",
            "answers",
            "total",
            "subscales",
            "band",
            "band_label",
            "flags",
            "band_set",
            "item_scores",
            "action",
            "imminent_danger",
            "administered_at",
            "status",
        ]
        read_only_fields = fields


class PlacementOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    episode = serializers.UUIDField(source="episode.public_id", read_only=True, allow_null=True)
    recommendation = serializers.DictField(read_only=True)

    class Meta:
        model = Placement
        fields = [
            "id",
            "patient",
            "episode",
            "placement_type",
            "d1_rating",
            "d2_rating",
            "d3_rating",
            "d4_rating",
            "d5_rating",
            "d6_rating",
            "imminent_danger",
            "recommendation",
            "rule_set",
            "recommended_level",
            "actual_level",
            "override_reason",
            "override_note",
            "status",
            "signed_at",
            "cosigned_at",
        ]
        read_only_fields = fields
