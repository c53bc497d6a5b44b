"""Patients, episodes, consents and disclosures over the API (one small view per operation).

Each view fetches through ``patients.permissions`` (404 for a patient the caller cannot see,
403 when they may see but not change), validates with its ``Input`` serializer, calls the
service, and answers with an output serializer. Writes are audited by the services; every
read that shows patient information writes one audit event here.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from users.api.base import ERRORS_READ, ERRORS_WRITE, AuditedListApi, audit_listing, audit_view
from users.models import User
from users.permissions import get_site_for_user, require_capability, site_ids_for

from .. import services
from ..models import (
    LEVEL_CHOICES,
    Consent,
    ConsentKind,
    DischargeType,
    Disclosure,
    DisclosureChannel,
    Episode,
    InfoCategory,
    LocEdition,
    Patient,
    Purpose,
    RevocationMethod,
    SignedBy,
)
from ..permissions import get_patient_for_user, patients_visible_to
from .serializers import ConsentOutput, DisclosureOutput, EpisodeOutput, PatientOutput, PatientSummaryOutput

TAG = ["patients"]


def _require_patient_view(user) -> None:
    # A list about no particular record: 403 (not 404) for a role that never sees patients.
    if not site_ids_for(user, "patient.view"):
        raise PermissionDenied


def _staff_member(public_id, field: str) -> User | None:
    if public_id is None:
        return None
    user = User.objects.filter(public_id=public_id, is_active=True).first()
    if user is None:
        raise serializers.ValidationError({field: ["No active staff member has this id."]})
    return user


# --- patients ---------------------------------------------------------------------------------


class PatientFilter(django_filters.FilterSet):
    """Non-identifying filters only: names and birth dates go to POST /patients/search/."""

    site = django_filters.UUIDFilter(field_name="site__public_id")
    primary_counselor = django_filters.UUIDFilter(field_name="primary_counselor__public_id")
    has_open_episode = django_filters.BooleanFilter(method="filter_open_episode")

    class Meta:
        model = Patient
        fields = ["site", "primary_counselor", "has_open_episode"]

    def filter_open_episode(self, queryset, name, value):
        open_q = Q(episodes__discharge_date__isnull=True, episodes__isnull=False)
        return (queryset.filter(open_q) if value else queryset.exclude(open_q)).distinct()


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="patients_list", responses={200: PatientSummaryOutput(many=True), **ERRORS_READ}
    )
)
class PatientListApi(AuditedListApi):
    """Patients at your sites. Filters by site, counselor and open episode; search by name,
    MRN or birth date with POST /patients/search/ (PHI never travels in a URL)."""

    queryset = Patient.objects.none()
    serializer_class = PatientSummaryOutput
    filterset_class = PatientFilter
    ordering_fields = ["legal_last_name", "created_at", "date_of_birth"]
    ordering = ["legal_last_name", "legal_first_name", "id"]
    audit_object_type = "patients.Patient"

    @staticmethod
    def patient_of(patient):
        return patient.public_id

    def scoped_queryset(self):
        _require_patient_view(self.request.user)
        return patients_visible_to(self.request.user).select_related("site")


class PatientSearchApi(GenericAPIView):
    """Find patients by name or MRN and/or birth date. Audited as a search (the kinds of
    criteria and the patients shown, never the words searched for)."""

    serializer_class = PatientSummaryOutput

    class Input(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=120)
        date_of_birth = serializers.DateField(required=False, allow_null=True)

        def validate(self, attrs):
            if not (attrs.get("q") or "").strip() and not attrs.get("date_of_birth"):
                raise serializers.ValidationError({"q": ["Give a name or MRN, or a birth date."]})
            return attrs

    @extend_schema(
        tags=TAG,
        operation_id="patients_search",
        request=Input,
        responses={200: PatientSummaryOutput(many=True), **ERRORS_WRITE},
    )
    def post(self, request):
        _require_patient_view(request.user)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        criteria = []
        patients = patients_visible_to(request.user).select_related("site")
        words = (data.validated_data.get("q") or "").split()
        if words:
            criteria.append("name_or_mrn")
            name_match = Q()
            for word in words:
                name_match &= (
                    Q(legal_first_name__icontains=word)
                    | Q(legal_last_name__icontains=word)
                    | Q(preferred_name__icontains=word)
                )
            patients = patients.filter(name_match | Q(mrn=services.normalize_mrn(data.validated_data["q"])))
        if data.validated_data.get("date_of_birth"):
            criteria.append("date_of_birth")
            patients = patients.filter(date_of_birth=data.validated_data["date_of_birth"])
        patients = patients.order_by("legal_last_name", "legal_first_name", "id")
        page = self.paginate_queryset(patients)
        audit_listing(
            request,
            object_type="patients.Patient",
            patient_ids=[p.public_id for p in page],
            action=Action.SEARCH,
            extra={"criteria": criteria},
        )
        return self.get_paginated_response(PatientSummaryOutput(page, many=True).data)


class PatientInput(serializers.ModelSerializer):
    primary_counselor = serializers.UUIDField(required=False, allow_null=True)

    class Meta:
        model = Patient
        fields = [f for f in services.PATIENT_FIELDS]


class PatientCreateApi(APIView):
    """Register a patient at one of your sites (``patient.register`` there). A possible
    duplicate (same birth date, similar name) is refused with 400 unless ``allow_duplicate``."""

    class Input(PatientInput):
        site = serializers.UUIDField()
        allow_duplicate = serializers.BooleanField(default=False)

        class Meta(PatientInput.Meta):
            fields = [*PatientInput.Meta.fields, "site", "allow_duplicate"]

    @extend_schema(
        tags=TAG, operation_id="patients_create", request=Input, responses={201: PatientOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        site = get_site_for_user(request.user, fields.pop("site"))
        require_capability(request.user, site, "patient.register")
        allow_duplicate = fields.pop("allow_duplicate", False)
        if "primary_counselor" in fields:
            fields["primary_counselor"] = _staff_member(fields["primary_counselor"], "primary_counselor")
        patient = services.patient_register(site=site, by=request.user, allow_duplicate=allow_duplicate, **fields)
        return Response(PatientOutput(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="patients_retrieve", responses={200: PatientOutput, **ERRORS_READ})
    def get(self, request, patient_id):
        patient = get_patient_for_user(request.user, patient_id)
        audit_view(request, patient=patient, obj=patient)
        return Response(PatientOutput(patient).data)


class PatientUpdateApi(APIView):
    """Change demographics or contact preferences (only the fields sent)."""

    @extend_schema(
        tags=TAG,
        operation_id="patients_update",
        request=PatientInput(partial=True),
        responses={200: PatientOutput, **ERRORS_WRITE},
    )
    def patch(self, request, patient_id):
        patient = get_patient_for_user(request.user, patient_id, write=True)
        data = PatientInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "primary_counselor" in fields:
            fields["primary_counselor"] = _staff_member(fields["primary_counselor"], "primary_counselor")
        patient = services.patient_update(patient=patient, by=request.user, **fields)
        return Response(PatientOutput(patient).data)


# --- episodes ---------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(tags=TAG, operation_id="episodes_list", responses={200: EpisodeOutput(many=True), **ERRORS_READ})
)
class EpisodeListApi(AuditedListApi):
    """A patient's episodes of care, newest first."""

    queryset = Episode.objects.none()
    serializer_class = EpisodeOutput
    filterset_fields = ["level_of_care"]
    ordering_fields = ["admission_date", "discharge_date"]
    ordering = ["-admission_date", "-id"]

    def scoped_queryset(self):
        self.patient = get_patient_for_user(self.request.user, self.kwargs["patient_id"])
        return self.patient.episodes.select_related("patient", "site", "primary_counselor")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_view(request, patient=self.patient, object_type="patients.Episode")
        return response


class EpisodeAdmitApi(APIView):
    class Input(serializers.Serializer):
        admission_date = serializers.DateField()
        level_of_care = serializers.ChoiceField(choices=LEVEL_CHOICES, default="2.1")
        level_of_care_edition = serializers.ChoiceField(choices=LocEdition.choices, default=LocEdition.THIRD)
        primary_counselor = serializers.UUIDField(required=False, allow_null=True)

    @extend_schema(
        tags=TAG, operation_id="episodes_admit", request=Input, responses={201: EpisodeOutput, **ERRORS_WRITE}
    )
    def post(self, request, patient_id):
        patient = get_patient_for_user(request.user, patient_id, write=True, capability="episode.admit")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["primary_counselor"] = _staff_member(fields.get("primary_counselor"), "primary_counselor")
        episode = services.episode_admit(patient=patient, by=request.user, **fields)
        return Response(EpisodeOutput(episode).data, status=status.HTTP_201_CREATED)


class EpisodeDischargeApi(APIView):
    class Input(serializers.Serializer):
        discharge_date = serializers.DateField()
        discharge_type = serializers.ChoiceField(choices=DischargeType.choices)
        summary = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=TAG, operation_id="episodes_discharge", request=Input, responses={200: EpisodeOutput, **ERRORS_WRITE}
    )
    def post(self, request, patient_id, episode_id):
        patient = get_patient_for_user(request.user, patient_id, write=True, capability="episode.discharge")
        episode = patient.episodes.filter(public_id=episode_id).first()
        if episode is None:
            from django.http import Http404

            raise Http404
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        episode = services.episode_discharge(episode=episode, by=request.user, **data.validated_data)
        return Response(EpisodeOutput(episode).data)


# --- consents ---------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(tags=TAG, operation_id="consents_list", responses={200: ConsentOutput(many=True), **ERRORS_READ})
)
class ConsentListApi(AuditedListApi):
    """A patient's Part 2 consents (active, expired and revoked)."""

    queryset = Consent.objects.none()
    serializer_class = ConsentOutput
    filterset_fields = ["kind"]
    ordering_fields = ["signed_at", "expires_on"]
    ordering = ["-signed_at", "-id"]

    def scoped_queryset(self):
        self.patient = get_patient_for_user(self.request.user, self.kwargs["patient_id"])
        # Each status reads the patient's discharges (end-of-treatment consents): one query for all.
        return self.patient.consents.select_related("patient__site").prefetch_related("patient__episodes")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_view(request, patient=self.patient, object_type="patients.Consent")
        return response


class ConsentDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="consents_retrieve", responses={200: ConsentOutput, **ERRORS_READ})
    def get(self, request, patient_id, consent_id):
        patient = get_patient_for_user(request.user, patient_id)
        consent = _consent_of(patient, consent_id)
        audit_view(request, patient=patient, obj=consent)
        return Response(ConsentOutput(consent).data)


def _consent_of(patient: Patient, consent_id):
    from django.http import Http404

    consent = patient.consents.select_related("patient__site").filter(public_id=consent_id).first()
    if consent is None:
        raise Http404
    return consent


class ConsentCreateApi(APIView):
    """Record a signed §2.31 consent; refused (400, by field) when a required element is missing."""

    class Input(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ConsentKind.choices)
        disclosing_party = serializers.CharField(max_length=200)
        categories = serializers.ListField(child=serializers.ChoiceField(choices=InfoCategory.choices), max_length=8)
        recipients = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
        purposes = serializers.ListField(
            child=serializers.ChoiceField(choices=Purpose.choices), required=False, default=list, max_length=8
        )
        purpose_detail = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
        expires_on = serializers.DateField(required=False, allow_null=True, default=None)
        # A choice (end_of_treatment, none, other); earlier free text is still accepted and mapped.
        expiry_event = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=200,
            help_text="end_of_treatment, none (TPO consents only) or other (describe it in expiry_event_detail).",
        )
        expiry_event_detail = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        revocation_acknowledged = serializers.BooleanField(default=False)
        redisclosure_acknowledged = serializers.BooleanField(default=False)
        refusal_acknowledged = serializers.BooleanField(default=False)
        signed_by = serializers.ChoiceField(choices=SignedBy.choices, default=SignedBy.PATIENT)
        representative_relationship = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=120
        )
        signer_name = serializers.CharField(max_length=150)
        signed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        fundraising_opt_out = serializers.BooleanField(
            required=False,
            allow_null=True,
            default=None,
            help_text="The patient opts out of fundraising communications (only where the program fundraises, "
            "PROGRAM_FUNDRAISES, on a consent for treatment, payment or operations).",
        )

    @extend_schema(
        tags=TAG, operation_id="consents_create", request=Input, responses={201: ConsentOutput, **ERRORS_WRITE}
    )
    def post(self, request, patient_id):
        patient = get_patient_for_user(request.user, patient_id, write=True, capability="consent.manage")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_record(patient=patient, by=request.user, **data.validated_data)
        return Response(ConsentOutput(consent).data, status=status.HTTP_201_CREATED)


class ConsentRevokeApi(APIView):
    """Record a written revocation: effective at once."""

    class Input(serializers.Serializer):
        revoked_on = serializers.DateField()
        method = serializers.ChoiceField(choices=RevocationMethod.choices)

    @extend_schema(
        tags=TAG, operation_id="consents_revoke", request=Input, responses={200: ConsentOutput, **ERRORS_WRITE}
    )
    def post(self, request, patient_id, consent_id):
        patient = get_patient_for_user(request.user, patient_id, write=True, capability="consent.manage")
        consent = _consent_of(patient, consent_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_revoke(consent=consent, by=request.user, **data.validated_data)
        return Response(ConsentOutput(consent).data)


# --- disclosures --------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="disclosures_list", responses={200: DisclosureOutput(many=True), **ERRORS_READ}
    )
)
class DisclosureListApi(AuditedListApi):
    """The patient's disclosure log (the accounting of disclosures is built from it)."""

    queryset = Disclosure.objects.none()
    serializer_class = DisclosureOutput
    filterset_fields = ["purpose", "channel"]
    ordering_fields = ["disclosed_at"]
    ordering = ["-disclosed_at", "-id"]

    def scoped_queryset(self):
        self.patient = get_patient_for_user(self.request.user, self.kwargs["patient_id"])
        return self.patient.disclosures.select_related("patient", "consent", "notice", "disclosed_by")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_view(request, patient=self.patient, object_type="patients.Disclosure")
        return response


class DisclosureInput(serializers.Serializer):
    recipient = serializers.CharField(max_length=200)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=InfoCategory.choices), max_length=8)
    consent = serializers.UUIDField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def consent_for_disclosure(patient: Patient, consent_id):
    """The named consent of this patient, or a 400 on ``consent`` (never another patient's)."""
    if consent_id is None:
        return None
    consent = patient.consents.filter(public_id=consent_id).first()
    if consent is None:
        raise serializers.ValidationError({"consent": ["This patient has no consent with this id."]})
    return consent


class DisclosureCreateApi(APIView):
    """Log a release of records under a consent. Refused with 400 and the reason (on the
    field concerned) when no active consent covers the recipient, purpose and categories."""

    class Input(DisclosureInput):
        channel = serializers.ChoiceField(choices=DisclosureChannel.choices)

    @extend_schema(
        tags=TAG, operation_id="disclosures_create", request=Input, responses={201: DisclosureOutput, **ERRORS_WRITE}
    )
    def post(self, request, patient_id):
        patient = get_patient_for_user(request.user, patient_id, write=True, capability="disclosure.make")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["consent"] = consent_for_disclosure(patient, fields.get("consent"))
        disclosure = services.disclosure_make(patient=patient, by=request.user, **fields)
        return Response(DisclosureOutput(disclosure).data, status=status.HTTP_201_CREATED)
