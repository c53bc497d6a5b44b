"""Assessments over the API: responses (list, read, record), a scoring endpoint that saves
nothing, placements (list, read) and the IOP-RS-1 recommendation (saves nothing either).

Scoring and recommending go through ``assessments.instruments.score`` and
``assessments.placement.recommend`` exactly as the pages do; recording goes through
``assessments.services.assessment_record`` (which raises safety alerts).
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.permissions import get_patient_for_user
from users.api.base import ERRORS_READ, ERRORS_WRITE, AuditedListApi, audit_view
from users.permissions import any_capability, site_ids_for

from .. import placement, services
from ..instruments import INSTRUMENTS, score
from ..models import (
    INSTRUMENT_CHOICES,
    AssessmentResponse,
    Placement,
    PlacementStatus,
    ResponseContext,
    ResponseStatus,
)
from ..permissions import get_placement_for_user, get_response_for_user, placements_visible_to, responses_visible_to
from .serializers import AnswerField, PlacementOutput, ResponseOutput, ScoreOutput

TAG = ["assessments"]


def _require_any(user, *capabilities: str) -> None:
    if not any_capability(user, capabilities):
        raise PermissionDenied


class ResponseFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__public_id")
    instrument = django_filters.ChoiceFilter(choices=INSTRUMENT_CHOICES)
    context = django_filters.ChoiceFilter(choices=ResponseContext.choices)
    status = django_filters.ChoiceFilter(choices=ResponseStatus.choices)


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="assessments_list", responses={200: ResponseOutput(many=True), **ERRORS_READ}
    )
)
class ResponseListApi(AuditedListApi):
    """Assessment responses at your sites (intake staff: the screening instruments only)."""

    queryset = AssessmentResponse.objects.none()
    serializer_class = ResponseOutput
    filterset_class = ResponseFilter
    ordering_fields = ["administered_at", "total"]
    ordering = ["-administered_at", "-id"]
    audit_object_type = "assessments.AssessmentResponse"

    @staticmethod
    def patient_of(response):
        return response.patient.public_id

    def scoped_queryset(self):
        _require_any(self.request.user, "clinical.view", "assessment.administer")
        return responses_visible_to(self.request.user).select_related("patient", "episode")


class ResponseDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="assessments_retrieve", responses={200: ResponseOutput, **ERRORS_READ})
    def get(self, request, response_id):
        response = get_response_for_user(request.user, response_id)
        audit_view(request, patient=response.patient, obj=response, site=response.site_id)
        return Response(ResponseOutput(response).data)


class ResponseCreateApi(APIView):
    """Record an administered instrument (scored on save; a safety flag raises an alert)."""

    class Input(serializers.Serializer):
        patient = serializers.UUIDField()
        instrument = serializers.ChoiceField(choices=INSTRUMENT_CHOICES)
        answers = serializers.ListField(child=AnswerField(), max_length=100)
        context = serializers.ChoiceField(choices=ResponseContext.choices, default=ResponseContext.AD_HOC)
        administered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(
        tags=TAG, operation_id="assessments_create", request=Input, responses={201: ResponseOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        patient = get_patient_for_user(request.user, fields.pop("patient"))
        if not services.can_administer(request.user, patient.site_id, fields["instrument"]):
            raise PermissionDenied
        response = services.assessment_record(
            patient=patient,
            instrument_code=fields["instrument"],
            answers=fields["answers"],
            context=fields["context"],
            administered_at=fields["administered_at"],
            by=request.user,
        )
        return Response(ResponseOutput(response).data, status=status.HTTP_201_CREATED)


class ScoreApi(APIView):
    """Score one answer set with the instrument library and return the result. Nothing is
    saved and no patient is involved (a calculator for integrations)."""

    class Input(serializers.Serializer):
        instrument = serializers.ChoiceField(choices=sorted(INSTRUMENTS))
        answers = serializers.ListField(child=AnswerField(), max_length=100)
        sex = serializers.ChoiceField(choices=["male", "female"], required=False, allow_null=True, default=None)

    @extend_schema(
        tags=TAG, operation_id="assessments_score", request=Input, responses={200: ScoreOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        _require_any(request.user, "clinical.write", "assessment.administer")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        result = score(
            data.validated_data["instrument"], data.validated_data["answers"], sex=data.validated_data["sex"]
        )
        return Response(result.to_dict())


class PlacementFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__public_id")
    status = django_filters.ChoiceFilter(choices=PlacementStatus.choices)


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="placements_list", responses={200: PlacementOutput(many=True), **ERRORS_READ}
    )
)
class PlacementListApi(AuditedListApi):
    queryset = Placement.objects.none()
    serializer_class = PlacementOutput
    filterset_class = PlacementFilter
    ordering_fields = ["created_at", "signed_at"]
    ordering = ["-created_at", "-id"]
    audit_object_type = "assessments.Placement"

    @staticmethod
    def patient_of(p):
        return p.patient.public_id

    def scoped_queryset(self):
        if not site_ids_for(self.request.user, "clinical.view"):
            raise PermissionDenied
        return placements_visible_to(self.request.user).select_related("patient", "episode")


class PlacementDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="placements_retrieve", responses={200: PlacementOutput, **ERRORS_READ})
    def get(self, request, placement_id):
        p = get_placement_for_user(request.user, placement_id)
        audit_view(request, patient=p.patient, obj=p, site=p.site_id)
        return Response(PlacementOutput(p).data)


class PlacementRecommendApi(APIView):
    """Apply IOP-RS-1 to six dimensional ratings (0–4) and return the recommended level with the
    rules that fired. Decision support only: nothing is saved."""

    class Input(serializers.Serializer):
        ratings = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=4))
        imminent_danger = serializers.BooleanField(default=False)

    @extend_schema(
        tags=TAG,
        operation_id="placements_recommend",
        request=Input,
        responses={
            200: inline_serializer(
                "Recommendation",
                {
                    "rule_set": serializers.CharField(),
                    "ratings": serializers.DictField(child=serializers.IntegerField()),
                    "imminent_danger": serializers.BooleanField(),
                    "withdrawal_step": serializers.CharField(allow_null=True),
                    "withdrawal_step_4th": serializers.CharField(allow_null=True),
                    "treatment_level": serializers.CharField(),
                    "treatment_level_4th": serializers.CharField(),
                    "iop_fit": serializers.CharField(),
                    "rules_fired": serializers.ListField(child=serializers.CharField()),
                    "explanations": serializers.ListField(child=serializers.CharField()),
                    "flags": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **ERRORS_WRITE,
        },
    )
    def post(self, request):
        _require_any(request.user, "clinical.write")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        result = placement.recommend(data.validated_data["ratings"], data.validated_data["imminent_danger"])
        return Response(result.to_dict())
