"""Authorizations and utilization reviews over the API, and the billing catalogue they refer to.

Authorizations are part of the patient's record, with the same access as their pages
(``billing.permissions``): whoever sees the patient reads them (an authorization of a patient
the user may not see is 404); recording or correcting one, or adding a review, needs
``billing.manage`` at the patient's site (403 otherwise). Units used are counted from billable
days, never sent. An authorization's ETag changes with every saved change; PUT/PATCH need it in
If-Match (428 without, 412 stale). Every response with patient information is audited once.

Payers and service codes are program settings edited in Django admin; the API lists them (no
patient information) so a client can name them by id.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import LEVEL_CHOICES, Episode
from patients.permissions import emergency_patient_ids
from users.api.base import (
    ERRORS_READ,
    ERRORS_WRITE,
    IF_MATCH,
    AuditedListApi,
    ErrorSerializer,
    audit_view,
    check_if_match,
    etag_for,
    with_etag,
)
from users.permissions import get_for_user, site_ids_for

from .. import services
from ..models import Authorization, Payer, ReviewKind, ReviewOutcome, ServiceCode
from ..permissions import authorizations_visible_to, can_manage_billing
from ..selectors import with_units_used
from .serializers import AuthorizationDetailOutput, AuthorizationOutput, PayerOutput, ServiceCodeOutput

TAG = ["billing"]
PRECONDITIONS = {
    412: OpenApiResponse(ErrorSerializer, description="The authorization changed since your GET (stale ETag)."),
    428: OpenApiResponse(ErrorSerializer, description="If-Match is required."),
}


def get_authorization_api(user, public_id, *, write: bool = False) -> Authorization:
    """404 for an authorization of a patient the user may not see; with ``write=True``, 403
    without ``billing.manage`` at the patient's site (a break-glass grant never gives it)."""
    return get_for_user(
        authorizations_visible_to(user).select_related("episode__patient", "site"),
        user=user,
        write=write,
        can_change=lambda u, a: can_manage_billing(u, a.episode.patient),
        public_id=public_id,
    )


def _etag(auth: Authorization) -> str:
    return etag_for(int(auth.updated_at.timestamp() * 1_000_000))


def _detail(auth: Authorization) -> Authorization:
    """The authorization with what the detail shows: payer, code, reviews and units used."""
    full = (
        Authorization.objects.select_related("episode__patient", "payer", "service_code")
        .prefetch_related("reviews__recorded_by")
        .get(pk=auth.pk)
    )
    return with_units_used([full])[0]


def _detail_response(auth: Authorization, *, created: bool = False) -> Response:
    auth = _detail(auth)
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return with_etag(Response(AuthorizationDetailOutput(auth).data, status=code), _etag(auth))


def _by_public_id(model, value, field: str):
    """The catalogue entry named by ``value`` (None stays None), or a 400 naming ``field``."""
    if value is None:
        return None
    found = model.objects.filter(public_id=value).first()
    if found is None:
        raise serializers.ValidationError({field: [f"No such {model._meta.verbose_name}."]})
    return found


class AuthorizationFields(serializers.Serializer):
    """The fields a billing clerk types (units used are counted, never sent)."""

    payer = serializers.UUIDField(help_text="A payer's id (GET /api/v1/payers/).")
    service_code = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The per-diem code authorized (GET /api/v1/service-codes/); null: the payer's per-diem code.",
    )
    authorized_level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    units_authorized = serializers.IntegerField(min_value=0, max_value=10_000)
    reference_number = serializers.CharField(max_length=60)
    care_manager_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    care_manager_phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    care_manager_email = serializers.EmailField(required=False, allow_blank=True, default="", max_length=254)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


def _service_fields(data: dict) -> dict:
    """Validated input → the service's keyword arguments (catalogue ids → rows)."""
    fields = dict(data)
    if "payer" in fields:
        fields["payer"] = _by_public_id(Payer, fields["payer"], "payer")
    if "service_code" in fields:
        fields["service_code"] = _by_public_id(ServiceCode, fields["service_code"], "service_code")
    return fields


# --- the catalogue ------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(tags=TAG, operation_id="payers_list", responses={200: PayerOutput(many=True), **ERRORS_READ})
)
class PayerListApi(generics.ListAPIView):
    """Payers (active and inactive; inactive ones take no new authorizations)."""

    queryset = Payer.objects.order_by("name", "pk")
    serializer_class = PayerOutput


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="service_codes_list", responses={200: ServiceCodeOutput(many=True), **ERRORS_READ}
    )
)
class ServiceCodeListApi(generics.ListAPIView):
    """The service catalogue: code, modifier, claim type, revenue and condition codes, unit type."""

    queryset = ServiceCode.objects.order_by("code", "modifier", "claim_type", "pk")
    serializer_class = ServiceCodeOutput


# --- authorizations -----------------------------------------------------------------------------------


class AuthorizationFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="episode__patient__public_id")
    episode = django_filters.UUIDFilter(field_name="episode__public_id")


@extend_schema_view(
    get=extend_schema(
        tags=TAG,
        operation_id="authorizations_list",
        responses={200: AuthorizationOutput(many=True), **ERRORS_READ},
    )
)
class AuthorizationListApi(AuditedListApi):
    """Authorizations of the patients the user sees, newest first, with units used and left and
    the next review due."""

    queryset = Authorization.objects.none()
    serializer_class = AuthorizationOutput
    filterset_class = AuthorizationFilter
    ordering_fields = ["start_date", "end_date"]
    ordering = ["-start_date", "-id"]
    audit_object_type = "billing.Authorization"

    @staticmethod
    def patient_of(auth):
        return auth.episode.patient.public_id

    def scoped_queryset(self):
        user = self.request.user
        if not site_ids_for(user, "patient.view") and not emergency_patient_ids(user):
            raise PermissionDenied
        return (
            authorizations_visible_to(user)
            .select_related("episode__patient", "payer", "service_code")
            .prefetch_related("reviews")
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_units_used(page) if page is not None else None  # one query for the page


class AuthorizationDetailApi(APIView):
    @extend_schema(
        tags=TAG,
        operation_id="authorizations_retrieve",
        responses={200: AuthorizationDetailOutput, **ERRORS_READ},
    )
    def get(self, request, authorization_id):
        auth = get_authorization_api(request.user, authorization_id)
        audit_view(request, patient=auth.episode.patient, obj=auth, site=auth.site_id)
        return _detail_response(auth)


class AuthorizationCreateApi(APIView):
    """Record a payer's authorization for an episode (``billing.manage`` at its site)."""

    class Input(AuthorizationFields):
        episode = serializers.UUIDField()

    @extend_schema(
        tags=TAG,
        operation_id="authorizations_create",
        request=Input,
        responses={201: AuthorizationDetailOutput, **ERRORS_WRITE},
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        episode = (
            Episode.objects.filter(
                public_id=fields.pop("episode"),
                site_id__in=site_ids_for(request.user, "patient.view"),
                patient__deleted_at__isnull=True,
            )
            .select_related("patient", "site")
            .first()
        )
        if episode is None:
            raise serializers.ValidationError({"episode": ["No such episode at your sites."]})
        if not can_manage_billing(request.user, episode.patient):
            raise PermissionDenied
        auth = services.authorization_create(episode=episode, by=request.user, **_service_fields(fields))
        return _detail_response(auth, created=True)


class AuthorizationUpdateApi(APIView):
    """Correct or extend an authorization (a new end date or units after a concurrent review).
    Requires ``If-Match`` (the ETag of the version edited)."""

    class Input(AuthorizationFields):
        pass

    def _update(self, request, authorization_id, *, partial: bool):
        auth = get_authorization_api(request.user, authorization_id, write=True)
        data = self.Input(data=request.data, partial=partial)
        with transaction.atomic():
            # Compare under the row lock, so two editors cannot both pass with the same ETag.
            locked = Authorization.objects.select_for_update().get(pk=auth.pk)
            check_if_match(request, _etag(locked), required=True)
            data.is_valid(raise_exception=True)
            fields = {k: v for k, v in data.validated_data.items() if not partial or k in data.initial_data}
            services.authorization_update(authorization=locked, by=request.user, **_service_fields(fields))
        return _detail_response(auth)

    @extend_schema(
        tags=TAG,
        operation_id="authorizations_replace",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: AuthorizationDetailOutput, **ERRORS_WRITE, **PRECONDITIONS},
    )
    def put(self, request, authorization_id):
        return self._update(request, authorization_id, partial=False)

    @extend_schema(
        tags=TAG,
        operation_id="authorizations_update",
        parameters=[IF_MATCH],
        request=Input,
        responses={200: AuthorizationDetailOutput, **ERRORS_WRITE, **PRECONDITIONS},
    )
    def patch(self, request, authorization_id):
        return self._update(request, authorization_id, partial=True)


class ReviewCreateApi(APIView):
    """Add a utilization review to the authorization's history (reviews are never changed)."""

    class Input(serializers.Serializer):
        review_date = serializers.DateField()
        kind = serializers.ChoiceField(choices=ReviewKind.choices)
        outcome = serializers.ChoiceField(choices=ReviewOutcome.choices)
        next_review_date = serializers.DateField(required=False, allow_null=True, default=None)
        reviewer = serializers.CharField(max_length=150, help_text="The payer's reviewer (name and credentials).")
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    @extend_schema(
        tags=TAG,
        operation_id="authorization_reviews_create",
        request=Input,
        responses={201: AuthorizationDetailOutput, **ERRORS_WRITE},
    )
    def post(self, request, authorization_id):
        auth = get_authorization_api(request.user, authorization_id, write=True)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.utilization_review_record(authorization=auth, by=request.user, **data.validated_data)
        return _detail_response(auth, created=True)
