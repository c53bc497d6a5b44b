"""Read-only output shapes of authorizations, their utilization reviews and the catalogue."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Authorization, Payer, ServiceCode, UtilizationReview


class PayerOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Payer
        fields = ["id", "name", "kind", "is_active"]
        read_only_fields = fields


class ServiceCodeOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = ServiceCode
        fields = [
            "id",
            "code",
            "modifier",
            "claim_type",
            "revenue_code",
            "condition_code",
            "unit_type",
            "unit_minutes",
            "minimum_minutes",
            "description",
            "is_active",
        ]
        read_only_fields = fields


class ReviewOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    recorded_by_name = serializers.CharField(source="recorded_by.signature_name", read_only=True)

    class Meta:
        model = UtilizationReview
        fields = [
            "id",
            "review_date",
            "kind",
            "outcome",
            "next_review_date",
            "reviewer",
            "notes",
            "recorded_by_name",
            "created_at",
        ]
        read_only_fields = fields


class AuthorizationOutput(OutputSerializer):
    """DOMAIN.md §10: payer, the UR/billing level of care (next to the clinical one), dates,
    units authorized and used (counted from billable days, never typed), reference, care manager
    and the next utilization review due (the date the latest review set)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="episode.patient.public_id", read_only=True)
    episode = serializers.UUIDField(source="episode.public_id", read_only=True)
    clinical_level = serializers.CharField(source="episode.level_of_care", read_only=True)
    payer = serializers.UUIDField(source="payer.public_id", read_only=True)
    payer_name = serializers.CharField(source="payer.name", read_only=True)
    service_code = serializers.UUIDField(source="service_code.public_id", read_only=True, allow_null=True)
    service_code_label = serializers.SerializerMethodField()
    units_used = serializers.IntegerField(read_only=True)
    units_remaining = serializers.IntegerField(read_only=True, help_text="Negative when over the units authorized.")
    next_review_date = serializers.DateField(
        read_only=True, allow_null=True, help_text="The date the latest review set for the next one."
    )

    class Meta:
        model = Authorization
        fields = [
            "id",
            "patient",
            "episode",
            "payer",
            "payer_name",
            "service_code",
            "service_code_label",
            "authorized_level",
            "clinical_level",
            "start_date",
            "end_date",
            "units_authorized",
            "units_used",
            "units_remaining",
            "reference_number",
            "care_manager_name",
            "care_manager_phone",
            "care_manager_email",
            "notes",
            "next_review_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_service_code_label(self, auth: Authorization) -> str:
        return str(auth.service_code) if auth.service_code_id else ""


class AuthorizationDetailOutput(AuthorizationOutput):
    reviews = ReviewOutput(many=True, read_only=True)

    class Meta(AuthorizationOutput.Meta):
        fields = [*AuthorizationOutput.Meta.fields, "reviews"]
        read_only_fields = fields
