"""Output shapes for assessment responses and placements; the answer value field."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import NOTE_FIELDS, RATING_FIELDS, AssessmentResponse, Placement


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
            "ruler_type",
            "imminent_danger",
            "administered_at",
            "status",
        ]
        read_only_fields = fields


class PlacementOutput(OutputSerializer):
    """A placement: ratings, the stored recommendation (IOP-RS-1 output, frozen at signing),
    the decision with any override, and the signature and co-signature."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    episode = serializers.UUIDField(source="episode.public_id", read_only=True, allow_null=True)
    recommendation = serializers.DictField(read_only=True)
    suggestions = serializers.DictField(
        read_only=True, help_text="Decision support from the latest CIWA-Ar, COWS and C-SSRS when it was opened."
    )
    created_by = serializers.UUIDField(source="created_by.public_id", read_only=True)
    signed_by = serializers.UUIDField(source="signed_by.public_id", read_only=True, allow_null=True)
    cosigned_by = serializers.UUIDField(source="cosigned_by.public_id", read_only=True, allow_null=True)
    is_override = serializers.BooleanField(read_only=True)

    class Meta:
        model = Placement
        fields = [
            "id",
            "patient",
            "episode",
            "placement_type",
            *RATING_FIELDS,
            *NOTE_FIELDS,
            "imminent_danger",
            "suggestions",
            "recommendation",
            "rule_set",
            "recommended_level",
            "actual_level",
            "is_override",
            "override_reason",
            "override_note",
            "recovery_residence",
            "housing_plan",
            "status",
            "created_by",
            "signed_by",
            "signed_at",
            "cosign_required",
            "cosigned_by",
            "cosigned_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
