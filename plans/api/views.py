"""Treatment plans over the API: list, read (with ETag), start a draft, edit it (If-Match), sign.

Plans are clinical records: ``clinical.view`` at the plan's site to read (intake staff 403,
other sites 404), ``clinical.write`` to write. A plan's ETag changes with every saved edit
(version number and last change time); PUT/PATCH need it in If-Match (428 without, 412 stale).
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import Episode
from patients.permissions import emergency_patient_ids, visible_q
from users.api.base import (
    ERRORS_READ,
    ERRORS_WRITE,
    IF_MATCH,
    REAUTHENTICATION,
    AuditedListApi,
    ErrorSerializer,
    audit_view,
    check_if_match,
    etag_for,
    with_etag,
)
from users.api.permissions import SIGN_OR_EXPORT
from users.permissions import get_for_user, has_capability, site_ids_for

from .. import services
from ..models import PlanStatus, TreatmentPlan
from .serializers import TreatmentPlanDetailOutput, TreatmentPlanOutput

TAG = ["plans"]
PRECONDITIONS = {
    412: OpenApiResponse(ErrorSerializer, description="The plan changed since your GET (stale ETag)."),
    428: OpenApiResponse(ErrorSerializer, description="If-Match is required."),
}


def treatment_plans_visible_to(user):
    return TreatmentPlan.objects.filter(
        visible_q(user, "clinical.view", patient_field="episode__patient_id"),
        episode__patient__deleted_at__isnull=True,
    )


def get_plan_for_user(user, public_id, *, write: bool = False) -> TreatmentPlan:
    """404 outside the user's sites (and their break-glass patients); 403 without clinical.view
    (clinical.write to write, which a break-glass grant never gives) there."""
    emergency = emergency_patient_ids(user)
    scope = Q(site_id__in=site_ids_for(user))
    if emergency:
        scope |= Q(episode__patient_id__in=emergency)
    plan = get_for_user(
        TreatmentPlan.objects.filter(scope, episode__patient__deleted_at__isnull=True).select_related(
            "episode__patient", "site"
        ),
        user=user,
        public_id=public_id,
    )
    if has_capability(user, plan.site_id, "clinical.write" if write else "clinical.view"):
        return plan
    if not write and plan.episode.patient_id in emergency:
        return plan
    raise PermissionDenied


def _etag(plan: TreatmentPlan) -> str:
    return etag_for(f"{plan.version}.{int(plan.updated_at.timestamp() * 1_000_000)}")


def _detail(plan: TreatmentPlan) -> TreatmentPlan:
    return (
        TreatmentPlan.objects.select_related("episode__patient")
        .prefetch_related("problems__goals__objectives__interventions__responsible")
        .get(pk=plan.pk)
    )


class PlanFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="episode__patient__public_id")
    episode = django_filters.UUIDFilter(field_name="episode__public_id")
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="plans_list", responses={200: TreatmentPlanOutput(many=True), **ERRORS_READ}
    )
)
class TreatmentPlanListApi(AuditedListApi):
    queryset = TreatmentPlan.objects.none()
    serializer_class = TreatmentPlanOutput
    filterset_class = PlanFilter
    ordering_fields = ["plan_date", "version", "signed_at"]
    ordering = ["-plan_date", "-version"]
    audit_object_type = "plans.TreatmentPlan"

    @staticmethod
    def patient_of(plan):
        return plan.episode.patient.public_id

    def scoped_queryset(self):
        if not site_ids_for(self.request.user, "clinical.view"):
            raise PermissionDenied
        return treatment_plans_visible_to(self.request.user).select_related("episode__patient")


class TreatmentPlanDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="plans_retrieve", responses={200: TreatmentPlanDetailOutput, **ERRORS_READ})
    def get(self, request, plan_id):
        plan = get_plan_for_user(request.user, plan_id)
        audit_view(request, patient=plan.episode.patient, obj=plan, site=plan.site_id)
        return with_etag(Response(TreatmentPlanDetailOutput(_detail(plan)).data), _etag(plan))


class TreatmentPlanCreateApi(APIView):
    """Start the next version of an open episode's plan as a draft (a review copies the last
    signed version)."""

    class Input(serializers.Serializer):
        episode = serializers.UUIDField()
        reason_detail = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(
        tags=TAG, operation_id="plans_create", request=Input, responses={201: TreatmentPlanDetailOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        episode = (
            Episode.objects.filter(
                public_id=data.validated_data["episode"],
                site_id__in=site_ids_for(request.user),
                patient__deleted_at__isnull=True,
            )
            .select_related("patient", "site")
            .first()
        )
        if episode is None:
            raise serializers.ValidationError({"episode": ["No such episode at your sites."]})
        if not has_capability(request.user, episode.site_id, "clinical.write"):
            raise PermissionDenied
        plan = services.treatment_plan_start(
            episode=episode, by=request.user, reason_detail=data.validated_data["reason_detail"]
        )
        return with_etag(
            Response(TreatmentPlanDetailOutput(_detail(plan)).data, status=status.HTTP_201_CREATED), _etag(plan)
        )


class TreatmentPlanUpdateApi(APIView):
    """Edit a draft's plan-level text. Requires ``If-Match`` (the ETag of the version edited)."""

    class Input(serializers.Serializer):
        strengths = serializers.CharField(allow_blank=True, max_length=10000)
        needs = serializers.CharField(allow_blank=True, max_length=10000)
        abilities = serializers.CharField(allow_blank=True, max_length=10000)
        preferences = serializers.CharField(allow_blank=True, max_length=10000)
        discharge_criteria = serializers.CharField(allow_blank=True, max_length=10000)

    def _update(self, request, plan_id, *, partial: bool):
        plan = get_plan_for_user(request.user, plan_id, write=True)
        data = self.Input(data=request.data, partial=partial)
        with transaction.atomic():
            # Compare under the row lock, so two editors cannot both pass with the same ETag.
            locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
            check_if_match(request, _etag(locked), required=True)
            data.is_valid(raise_exception=True)
            plan = services.treatment_plan_update(plan=locked, by=request.user, **data.validated_data)
        plan.refresh_from_db()
        return with_etag(Response(TreatmentPlanDetailOutput(_detail(plan)).data), _etag(plan))

    @extend_schema(
        tags=TAG,
        operation_id="plans_replace",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: TreatmentPlanDetailOutput, **ERRORS_WRITE, **PRECONDITIONS},
    )
    def put(self, request, plan_id):
        return self._update(request, plan_id, partial=False)

    @extend_schema(
        tags=TAG,
        operation_id="plans_update",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: TreatmentPlanDetailOutput, **ERRORS_WRITE, **PRECONDITIONS},
    )
    def patch(self, request, plan_id):
        return self._update(request, plan_id, partial=True)


class TreatmentPlanSignApi(APIView):
    """The clinician signs with the patient's typed signature (or why they declined).
    ``If-Match`` is checked when sent."""

    permission_classes = SIGN_OR_EXPORT

    class Input(serializers.Serializer):
        patient_signed_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
        patient_declined_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(
        tags=TAG,
        operation_id="plans_sign",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: TreatmentPlanDetailOutput, **ERRORS_WRITE, **REAUTHENTICATION, 412: PRECONDITIONS[412]},
    )
    def post(self, request, plan_id):
        plan = get_plan_for_user(request.user, plan_id, write=True)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
            check_if_match(request, _etag(locked), required=False)
            plan = services.treatment_plan_sign(plan=locked, by=request.user, **data.validated_data)
        plan.refresh_from_db()
        return with_etag(Response(TreatmentPlanDetailOutput(_detail(plan)).data), _etag(plan))
