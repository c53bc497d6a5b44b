"""Assessments over the API: responses (list, read, record), a scoring endpoint that saves
nothing, the IOP-RS-1 recommendation (saves nothing either), and placements: list, read,
create a draft (ratings → stored recommendation), change a draft's ratings, decide the actual
level (an override needs a reason and a note), sign, co-sign.

Scoring and recommending go through ``assessments.instruments.score`` and
``assessments.placement.recommend`` exactly as the pages do; recording goes through
``assessments.services.assessment_record`` (which raises safety alerts); placements through
``placement_create``, ``placement_update``, ``placement_decide``, ``placement_sign`` and
``placement_cosign``, which audit every write. A signed placement (or one awaiting its
co-sign) never changes again: every change to it answers 409.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.permissions import get_patient_for_user
from users.api.base import (
    CONFLICT,
    ERRORS_READ,
    ERRORS_WRITE,
    IF_MATCH,
    REAUTHENTICATION,
    AuditedListApi,
    Conflict,
    ErrorSerializer,
    audit_view,
    check_if_match,
    etag_for,
    with_etag,
)
from users.api.permissions import SIGN_OR_EXPORT
from users.permissions import any_capability, has_capability, site_ids_for

from .. import placement, services
from ..instruments import INSTRUMENTS, score
from ..models import (
    ACTUAL_LEVEL_CHOICES,
    INSTRUMENT_CHOICES,
    NOTE_FIELDS,
    RATING_FIELDS,
    AssessmentResponse,
    Placement,
    PlacementStatus,
    PlacementType,
    ResponseContext,
    ResponseStatus,
    RulerType,
)
from ..permissions import (
    get_patient_for_clinical,
    get_placement_for_user,
    get_response_for_user,
    placements_visible_to,
    responses_visible_to,
)
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
        ruler_type = serializers.ChoiceField(
            choices=RulerType.choices,
            required=False,
            allow_blank=True,
            default="",
            help_text="Readiness ruler only (required there): what the patient rated.",
        )

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
            ruler_type=fields["ruler_type"],
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
        return placements_visible_to(self.request.user).select_related(
            "patient", "episode", "created_by", "signed_by", "cosigned_by"
        )


class PlacementDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="placements_retrieve", responses={200: PlacementOutput, **ERRORS_READ})
    def get(self, request, placement_id):
        p = get_placement_for_user(request.user, placement_id)
        audit_view(request, patient=p.patient, obj=p, site=p.site_id)
        return with_etag(Response(PlacementOutput(p).data), _etag(p))


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


# --- placement writes ---------------------------------------------------------------------------------

LOCKED = "This placement is signed and cannot be changed. Record a new placement instead."
PRECONDITIONS = {
    412: OpenApiResponse(ErrorSerializer, description="The placement changed since your GET (stale ETag)."),
    428: OpenApiResponse(ErrorSerializer, description="If-Match is required."),
}


def _etag(placement: Placement) -> str:
    return etag_for(f"p{int(placement.updated_at.timestamp() * 1_000_000)}")


def _check_version(request, placement: Placement, *, required: bool) -> Placement:
    """Compare If-Match with the placement under its row lock (call inside a transaction), so
    two editors cannot both pass with the same ETag."""
    locked = Placement.objects.select_for_update(of=("self",)).get(pk=placement.pk)
    check_if_match(request, _etag(locked), required=required)
    return locked


def _rating():
    return serializers.IntegerField(min_value=0, max_value=4, required=False, allow_null=True)


def _dimension_note():
    return serializers.CharField(required=False, allow_blank=True, max_length=5000)


class PlacementRatingsInput(serializers.Serializer):
    """The dimensional ratings (0–4, null while not rated) with a note per dimension, and the
    ``imminent_danger`` flag. Every change recomputes the stored recommendation."""

    placement_type = serializers.ChoiceField(choices=PlacementType.choices, required=False)
    imminent_danger = serializers.BooleanField(required=False)
    d1_rating, d2_rating, d3_rating, d4_rating, d5_rating, d6_rating = (_rating() for _ in RATING_FIELDS)
    d1_note, d2_note, d3_note, d4_note, d5_note, d6_note = (_dimension_note() for _ in NOTE_FIELDS)


def _placement_response(placement, code=status.HTTP_200_OK) -> Response:
    fresh = Placement.objects.select_related("patient", "episode", "created_by", "signed_by", "cosigned_by").get(
        pk=placement.pk
    )
    return with_etag(Response(PlacementOutput(fresh).data, status=code), _etag(fresh))


def _draft_for_write(request, placement_id) -> Placement:
    placement = get_placement_for_user(request.user, placement_id, write=True)
    if not placement.is_draft:
        raise Conflict(LOCKED)
    return placement


class PlacementCreateApi(APIView):
    """Open a draft placement for a patient with the ratings known so far; the IOP-RS-1
    recommendation is computed and stored as soon as all six are rated. ``imminent_danger``
    left out takes the decision-support value (the latest C-SSRS screen at high risk)."""

    class Input(PlacementRatingsInput):
        patient = serializers.UUIDField()
        placement_type = serializers.ChoiceField(choices=PlacementType.choices)
        episode = serializers.UUIDField(
            required=False, allow_null=True, default=None, help_text="Defaults to the patient's open episode."
        )

    @extend_schema(
        tags=TAG, operation_id="placements_create", request=Input, responses={201: PlacementOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        patient = get_patient_for_clinical(request.user, fields.pop("patient"), capability="clinical.write")
        episode_id = fields.pop("episode")
        episode = None
        if episode_id is not None:
            episode = patient.episodes.filter(public_id=episode_id).first()
            if episode is None:
                raise serializers.ValidationError({"episode": ["No such episode of this patient."]})
        if "imminent_danger" not in fields:
            fields["imminent_danger"] = services.placement_suggestions(patient)["imminent_danger"]
        placement_obj = services.placement_create(patient=patient, by=request.user, episode=episode, **fields)
        return _placement_response(placement_obj, status.HTTP_201_CREATED)


class PlacementUpdateApi(APIView):
    """Change a draft's type, ratings, dimension notes or danger flag; the recommendation is
    recomputed. Requires ``If-Match`` (the ETag of the version edited). A signed placement
    answers 409."""

    @extend_schema(
        tags=TAG,
        operation_id="placements_update",
        parameters=[IF_MATCH],
        request=PlacementRatingsInput,
        responses={200: PlacementOutput, **ERRORS_WRITE, **CONFLICT, **PRECONDITIONS},
    )
    def patch(self, request, placement_id):
        placement_obj = _draft_for_write(request, placement_id)
        data = PlacementRatingsInput(data=request.data, partial=True)
        with transaction.atomic():
            placement_obj = _check_version(request, placement_obj, required=True)
            data.is_valid(raise_exception=True)
            if data.validated_data:
                placement_obj = services.placement_update(
                    placement=placement_obj, by=request.user, **data.validated_data
                )
        return _placement_response(placement_obj)


class _OverrideReasonField(serializers.ChoiceField):
    """An IOP-RS-1 reason code; an earlier spelling (GEOGRAPHY_TRANSPORT) maps to the current one."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = placement.LEGACY_OVERRIDE_REASONS.get(data, data)
        return super().to_internal_value(data)


class PlacementDecideApi(APIView):
    """Record the level actually decided. If it differs from the recommended level it is an
    override: ``override_reason`` and ``override_note`` are then required (400 naming them); so
    is plain Level 2.1 while the recommendation attaches a withdrawal step (IOP-RS-1 rule 2).
    ``recovery_residence`` records "2.1 services plus a recovery residence" (rule 7: Level 2.1,
    reason ``CLINICAL_JUDGMENT`` and a ``housing_plan``, only where D6 = 3 is the only reason for
    a higher level). Under ``PLACEMENT_COSIGN`` an override (or every placement) by a signer who
    is not a supervisor then awaits a supervisor's co-sign once signed."""

    class Input(serializers.Serializer):
        actual_level = serializers.ChoiceField(choices=ACTUAL_LEVEL_CHOICES)
        override_reason = _OverrideReasonField(
            choices=placement.OVERRIDE_REASONS, required=False, allow_blank=True, default=""
        )
        override_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
        recovery_residence = serializers.BooleanField(required=False, default=False)
        housing_plan = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    @extend_schema(
        tags=TAG,
        operation_id="placements_decide",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: PlacementOutput, **ERRORS_WRITE, **CONFLICT, 412: PRECONDITIONS[412]},
    )
    def post(self, request, placement_id):
        placement_obj = _draft_for_write(request, placement_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            placement_obj = _check_version(request, placement_obj, required=False)
            placement_obj = services.placement_decide(placement=placement_obj, by=request.user, **data.validated_data)
        return _placement_response(placement_obj)


class PlacementSignApi(APIView):
    """Sign a draft: all six ratings and the decided level are required (and a reason and note
    for an override). The recommendation is frozen with the signature. The placement is then
    signed, or awaits a supervisor's co-sign (``PLACEMENT_COSIGN``); either way it is immutable."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG,
        operation_id="placements_sign",
        parameters=[IF_MATCH],
        request=None,
        responses={200: PlacementOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT, 412: PRECONDITIONS[412]},
    )
    def post(self, request, placement_id):
        placement_obj = _draft_for_write(request, placement_id)
        with transaction.atomic():
            placement_obj = _check_version(request, placement_obj, required=False)
            placement_obj = services.placement_sign(placement=placement_obj, by=request.user)
        return _placement_response(placement_obj)


class PlacementCosignApi(APIView):
    """A clinical supervisor of the placement's site (not its signer) co-signs a placement
    awaiting it (409 for any other)."""

    permission_classes = SIGN_OR_EXPORT

    @extend_schema(
        tags=TAG,
        operation_id="placements_cosign",
        request=None,
        responses={200: PlacementOutput, **ERRORS_WRITE, **REAUTHENTICATION, **CONFLICT},
    )
    def post(self, request, placement_id):
        placement_obj = get_placement_for_user(request.user, placement_id)
        site = placement_obj.site_id
        if not (
            has_capability(request.user, site, "placement.override")
            or has_capability(request.user, site, "note.cosign")
        ):
            raise PermissionDenied("Only a clinical supervisor of this site co-signs placements.")
        if placement_obj.status != PlacementStatus.AWAITING_COSIGN:
            raise Conflict("This placement is not awaiting a co-sign.")
        if placement_obj.signed_by_id == request.user.pk:
            raise PermissionDenied("You signed this placement; another supervisor co-signs it.")
        placement_obj = services.placement_cosign(placement=placement_obj, by=request.user)
        return _placement_response(placement_obj)
