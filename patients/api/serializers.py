"""Read-only output shapes for patients, episodes, consents and disclosures."""

from __future__ import annotations

from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Consent, Disclosure, Episode, Patient
from ..services import PATIENT_FIELDS


class PatientOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    site = serializers.UUIDField(source="site.public_id", read_only=True)
    primary_counselor = serializers.UUIDField(source="primary_counselor.public_id", read_only=True, allow_null=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "site",
            "display_name",
            *PATIENT_FIELDS,
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PatientSummaryOutput(OutputSerializer):
    """What a list or search shows: enough to pick the right person."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    site = serializers.UUIDField(source="site.public_id", read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Patient
        fields = ["id", "mrn", "site", "display_name", "legal_first_name", "legal_last_name", "date_of_birth"]
        read_only_fields = fields


class EpisodeOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    site = serializers.UUIDField(source="site.public_id", read_only=True)
    primary_counselor = serializers.UUIDField(source="primary_counselor.public_id", read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Episode
        fields = [
            "id",
            "patient",
            "site",
            "admission_date",
            "level_of_care",
            "level_of_care_edition",
            "primary_counselor",
            "discharge_date",
            "discharge_type",
            "discharge_summary",
            "is_open",
        ]
        read_only_fields = fields


class ConsentOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    status = serializers.SerializerMethodField()
    categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    purposes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Consent
        fields = [
            "id",
            "patient",
            "kind",
            "status",
            "disclosing_party",
            "categories",
            "recipients",
            "purposes",
            "purpose_detail",
            "expires_on",
            "expiry_event",
            "expiry_event_detail",
            "revocation_statement",
            "redisclosure_statement",
            "refusal_statement",
            "fundraising_statement",
            "fundraising_opt_out",
            "signed_by",
            "representative_relationship",
            "signer_name",
            "signed_at",
            "revoked_on",
            "revocation_method",
        ]
        read_only_fields = fields

    def get_status(self, consent) -> str:
        return consent.status


class DisclosureOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    # None when the disclosure rests on a no-consent exception (``legal_basis``).
    consent = serializers.UUIDField(source="consent.public_id", read_only=True, allow_null=True)
    categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    notice_version = serializers.IntegerField(source="notice.version", read_only=True)
    notice_statement = serializers.CharField(source="notice.short_statement", read_only=True)
    disclosed_by = serializers.CharField(source="disclosed_by.email", read_only=True)

    class Meta:
        model = Disclosure
        fields = [
            "id",
            "patient",
            "consent",
            "legal_basis",
            "recipient",
            "recipient_facility",
            "emergency_nature",
            "court_order_reference",
            "court_order_date",
            "purpose",
            "categories",
            "channel",
            "notes",
            "notice_version",
            "notice_statement",
            "disclosed_by",
            "disclosed_at",
        ]
        read_only_fields = fields
